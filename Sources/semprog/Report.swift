import ArgumentParser

extension Semprog {
    struct ReportCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "report", abstract: "Write the HTML and PDF report of an analysed sweep (not implemented yet)")
        func run() async throws { throw CLIError.notYetAvailable("'semprog report'") }
    }
}
