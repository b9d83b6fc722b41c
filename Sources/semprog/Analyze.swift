import ArgumentParser

extension Semprog {
    struct Analyze: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "analyze", abstract: "Analyse a sweep: degradation, stages, similarity, RQ1-RQ3 (not implemented yet)")
        func run() async throws { throw CLIError.notYetAvailable("'semprog analyze'") }
    }
}
