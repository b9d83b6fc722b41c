import ArgumentParser
import Foundation
import ModelFormats
import SparseAutoencoder
import Store
import Study
import Sweep

extension Semprog {
    /// The embedded default study: SmolLM2-135M-Instruct, the demo SAE (trained and cached on first use),
    /// about a dozen features, six prompts, sixteen magnitudes → sweep → describe → analyse → judge → report.
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
        var quiet: Bool { quietOptions.quiet }
        @OptionGroup var chatOptions: ChatOptions

        func run() async throws {
            let plan = DemoPlan(quick: quick)
            let database = db ?? (out.hasSuffix("/") ? String(out.dropLast()) : out) + ".sqlite"
            let model = DefaultPaths.languageModel
            guard FileManager.default.fileExists(atPath: model) else {
                throw CLIError.invalidArgument("\(model) is missing: run 'make models' first")
            }
            let quietFlag = quiet ? ["--quiet"] : []
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: database).deletingLastPathComponent(),
                                                    withIntermediateDirectories: true)
            let started = Date()

            // 1. The demo SAE, trained once and cached.
            let saeDir = DefaultPaths.modelsDirectory + "/" + plan.saeDirectoryName
            if !FileManager.default.fileExists(atPath: saeDir + "/sae_weights.safetensors") {
                Terminal.error("demo: training the demo SAE (\(plan.trainArguments.joined(separator: " "))) → \(saeDir)")
                try await Self.runSubcommand(["train-sae", "--model", model, "--corpus", DefaultPaths.corpus, "--out", saeDir]
                                             + plan.trainArguments + quietFlag)
            } else {
                Terminal.error("demo: using the cached SAE in \(saeDir)")
            }

            // 2. Feature statistics and built-in explanations (skipped when the database has them).
            let store = try StoreDatabase(path: database)
            let saePath = URL(fileURLWithPath: saeDir).standardizedFileURL.path
            let saeHash = try SHA256Digest.hex(ofFile: saeDir + "/sae_weights.safetensors")
            if try store.featureStatistics(saePath: saePath, sha256: saeHash).isEmpty {
                let cache = try DemoStatisticsCache(saeDirectory: saeDir, saeSHA256: saeHash, model: model,
                                                    corpus: DefaultPaths.corpus, explainArguments: plan.explainArguments)
                if let statistics = cache.load() {
                    Terminal.error("demo: feature statistics and explanations from the cache \(cache.statisticsPath)")
                    let sae = try SparseAutoencoder.load(directory: saeDir)
                    try FeatureExplanationRun.store(statistics, saePath: saeDir, configuration: sae.configuration, database: database)
                } else {
                    Terminal.error("demo: feature statistics and explanations over \(DefaultPaths.corpus)")
                    try await Self.runSubcommand(["explain", "--model", model, "--sae", saeDir, "--db", database,
                                                  "--corpus", DefaultPaths.corpus] + plan.explainArguments + quietFlag)
                    try cache.save()
                }
            }

            // 3. Output scores of every feature (screening), then features that steer, spanning densities.
            if try store.featureScores(saePath: saePath, sha256: saeHash).isEmpty {
                Terminal.error("demo: screening every feature of the SAE (output score, Arad et al. 2025)")
                let session = try SteeringSession.load(modelPath: model, saePath: saeDir)
                let line = ProgressLine("screen", quiet: quiet)
                _ = try FeatureScreen.screenAndStore(session: session, databasePath: database, features: nil,
                                                     settings: FeatureScreenSettings()) { done, total in
                    line.update(done: done, total: total, unit: "features")
                }
                line.finish()
            }
            let stats = try store.featureStatistics(saePath: saePath, sha256: saeHash)
            let scores = try store.featureScores(saePath: saePath, sha256: saeHash).mapValues(\.outputScore)
            let saeId = try store.registerSAE(SAERecord(path: saePath, sha256: saeHash))
            let explanations = try store.preferredExplanations(saeId: saeId)
            let chosen = DemoFeatureChoice.choose(statistics: Array(stats.values), explanations: explanations,
                                                  outputScores: scores, count: plan.featureCount)
            guard chosen.count >= min(3, plan.featureCount) else {
                throw CLIError.invalidArgument("the demo SAE has too few live, explained features (\(chosen.count)); delete \(saeDir) and rerun")
            }
            Terminal.error("demo: features \(chosen.map(String.init).joined(separator: ",")) (\(DemoFeatureChoice.rule))")

            // 4. Sweep.
            let promptFile = try plan.writePrompts(beside: database)
            try await Self.runSubcommand(["sweep", "--model", model, "--sae", saeDir,
                                          "--features", chosen.map(String.init).joined(separator: ","),
                                          "--prompts", promptFile, "--magnitudes", plan.magnitudes, "--chat",
                                          "--max-tokens", String(plan.maxTokens), "--db", database, "--name", "demo"]
                                         + chatOptions.arguments + quietFlag)
            // 5–8. Describe, analyse, judge (offline proxy), report.
            try await Self.runSubcommand(["describe", "--db", database, "--sweep", "demo", "--describer", "contrastive"] + quietFlag)
            try await Self.runSubcommand(["analyze", "--db", database, "--sweep", "demo", "--model", model] + plan.analyzeArguments)
            // 7b. Steering scores by the offline proxy (labelled as a proxy in the report).
            try await Self.runSubcommand(["judge", "--db", database, "--sweep", "demo", "--judge", "offline"] + quietFlag)
            try await Self.runSubcommand(["report", "--db", database, "--sweep", "demo", "--out", out,
                                          "--feature-selection", DemoFeatureChoice.rule])
            Terminal.error(String(format: "demo: finished in %.0f s", Date().timeIntervalSince(started)))
            print("report: \(out)/report.html")
            print("report: \(out)/report.pdf")
            print("report: \(out)/explorer.html")
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
