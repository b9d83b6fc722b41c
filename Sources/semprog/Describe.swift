import ArgumentParser

extension Semprog {
    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "describe", abstract: "Describe how steered outputs differ from baselines (not implemented yet)")
        func run() async throws { throw CLIError.notYetAvailable("'semprog describe'") }
    }
}
