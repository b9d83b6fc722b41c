import ArgumentParser
import Study

extension Semprog {
    /// The embedded default study: SmolLM2-135M-Instruct, the demo SAE (trained and cached on first use),
    /// about a dozen features, six prompts, sixteen magnitudes → sweep → describe → analyse → judge → report
    /// (see `Study.DemoRun`).
    struct Demo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "demo",
            abstract: "Run the whole study on SmolLM2 with the demo SAE and write a report.",
            discussion: """
            Steps (each resumable; an interrupted demo picks up where it stopped): train the demo SAE (cached \
            under models/), compute feature statistics and built-in explanations (cached beside the SAE), choose \
            features, sweep, \
            describe (contrastive), analyse, judge (offline proxy steering scores), report. --quick runs the same pipeline at tiny sizes (for tests).
            """)

        @Option(help: "Report folder.")
        var out: String = "reports/demo"
        @Flag(help: "Tiny sizes: a small SAE, 3 features, 2 prompts, 4 magnitudes, 8 tokens (for tests).")
        var quick = false
        @Option(help: "Database (default: OUT.sqlite beside the report folder).")
        var db: String?
        @OptionGroup var quietOptions: QuietOptions
        @OptionGroup var chatOptions: ChatOptions

        func run() async throws {
            let paths = DemoRun.Paths(modelsDirectory: DefaultPaths.modelsDirectory, languageModel: DefaultPaths.languageModel,
                                      corpus: DefaultPaths.corpus)
            try await DemoRun(plan: DemoPlan(quick: quick), out: out, database: db, paths: paths, quiet: quietOptions.quiet,
                              sweepArguments: chatOptions.arguments, runSubcommand: Self.runSubcommand).run()
        }

        /// Runs another subcommand in-process, exactly as if it were typed.
        static func runSubcommand(_ arguments: [String]) async throws {
            var command = try Semprog.parseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        }
    }
}
