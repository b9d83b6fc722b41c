import ArgumentParser

extension Semprog {
    struct SweepCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "sweep", abstract: "Run a steering sweep: features x prompts x magnitudes (not implemented yet)")
        func run() async throws { throw CLIError.notYetAvailable("'semprog sweep'") }
    }
}
