import ArgumentParser
import Study

extension Semprog {
    /// The embedded default study: SmolLM2-135M-Instruct, the demo SAE (trained and cached on first use),
    /// about a dozen features, six prompts, sixteen magnitudes → sweep → describe → analyse → judge → report
    /// (see `Study.DemoRun`).
    struct Demo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "demo",
            abstract: "Run the whole study on SmolLM2 (or --model) with the demo SAE and write a report.",
            discussion: """
            Steps (each resumable; an interrupted demo picks up where it stopped): train the demo SAE (cached \
            under models/), compute feature statistics and built-in explanations (cached beside the SAE), choose \
            features, sweep, \
            describe (contrastive), analyse, judge (offline proxy steering scores), report. --quick runs the same pipeline at tiny sizes (for tests).
            """)

        @Option(help: "Report folder (default: reports/demo, or reports/demo-NAME with --model).")
        var out: String?
        @Option(help: ArgumentHelp("Language model to study instead of SmolLM2: a .gguf file or a model directory.",
                                   discussion: "It gets its own SAE (models/demo-sae-NAME, on its middle block) and report folder; a model without a chat template (a base model such as Gemma 3 270M) is given plain-text openings instead of chat requests."))
        var model: String?
        @Flag(help: "Tiny sizes: a small SAE, 3 features, 2 prompts, 4 magnitudes, 8 tokens (for tests).")
        var quick = false
        @Option(help: "Database (default: OUT.sqlite beside the report folder).")
        var db: String?
        @OptionGroup var quietOptions: QuietOptions
        @OptionGroup var chatOptions: ChatOptions

        func run() async throws {
            try await Terminal.reportingErrors {
                let subject = try model.flatMap { try DemoPlan.Subject.inspect(modelPath: $0, defaultModel: DefaultPaths.languageModel) }
                let plan = DemoPlan(quick: quick, subject: subject)
                let paths = DemoRun.Paths(modelsDirectory: DefaultPaths.modelsDirectory,
                                          languageModel: subject == nil ? DefaultPaths.languageModel : model!,
                                          corpus: DefaultPaths.corpus)
                try await DemoRun(plan: plan, out: out ?? plan.defaultOut, database: db, paths: paths, quiet: quietOptions.quiet,
                                  sweepArguments: chatOptions.arguments, runSubcommand: Self.runSubcommand).run()
            }
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
