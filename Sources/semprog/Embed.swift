import ArgumentParser

extension Semprog {
    struct Embed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "embed", abstract: "Sentence embeddings with all-MiniLM-L6-v2 (not implemented yet)")
        func run() async throws { throw CLIError.notYetAvailable("'semprog embed'") }
    }
}
