import Foundation
import ModelFormats
import SparseAutoencoder
import Store
import Sweep

/// What `semprog demo` runs: the whole study on SmolLM2 (or the plan's other model) with the demo SAE, each step resumable — train the SAE
/// (cached under the models folder), feature statistics and built-in explanations (cached beside the SAE), output
/// scores of every feature (screening), the choice of features (`DemoFeatureChoice`), then sweep → describe
/// (contrastive) → analyse → judge (offline proxy) → report. The steps that are subcommands run through
/// `runSubcommand`, exactly as if typed (the CLI passes its own parser).
public struct DemoRun {
    /// Where `make models` put the models.
    public struct Paths: Sendable {
        public var modelsDirectory: String
        public var languageModel: String
        public var corpus: String

        public init(modelsDirectory: String, languageModel: String, corpus: String) {
            self.modelsDirectory = modelsDirectory; self.languageModel = languageModel; self.corpus = corpus
        }
    }

    public var plan: DemoPlan
    /// Report folder.
    public var out: String
    /// Database (nil: OUT.sqlite beside the report folder).
    public var database: String?
    public var paths: Paths
    public var quiet: Bool
    /// Extra arguments of the sweep (`--chat-template FILE`).
    public var sweepArguments: [String]
    /// Runs a semprog subcommand given as its arguments (`["sweep", "--model", …]`).
    public var runSubcommand: ([String]) async throws -> Void

    public init(plan: DemoPlan, out: String, database: String?, paths: Paths, quiet: Bool, sweepArguments: [String],
                runSubcommand: @escaping ([String]) async throws -> Void) {
        self.plan = plan; self.out = out; self.database = database; self.paths = paths; self.quiet = quiet
        self.sweepArguments = sweepArguments; self.runSubcommand = runSubcommand
    }

    /// `database`, or OUT.sqlite (a trailing slash of OUT dropped).
    public var databasePath: String { database ?? (out.hasSuffix("/") ? String(out.dropLast()) : out) + ".sqlite" }

    /// Runs every step that is not done yet and prints the paths of the reports.
    public func run(console: StudyConsole = .standard) async throws {
        let database = databasePath, model = paths.languageModel, corpus = paths.corpus
        guard FileManager.default.fileExists(atPath: model) else {
            throw StudyError.invalidArgument("\(model) is missing: run 'make models' first")
        }
        let quietFlag = quiet ? ["--quiet"] : []
        try FileManager.default.createDirectory(at: URL(fileURLWithPath: database).deletingLastPathComponent(),
                                                withIntermediateDirectories: true)
        let started = Date()

        // 1. The demo SAE, trained once and cached.
        let saeDir = paths.modelsDirectory + "/" + plan.saeDirectoryName
        if !FileManager.default.fileExists(atPath: saeDir + "/sae_weights.safetensors") {
            console.diagnostic("demo: training the demo SAE (\(plan.trainArguments.joined(separator: " "))) → \(saeDir)")
            try await runSubcommand(["train-sae", "--model", model, "--corpus", corpus, "--out", saeDir] + plan.trainArguments + quietFlag)
        } else {
            console.diagnostic("demo: using the cached SAE in \(saeDir)")
        }

        // 2. Feature statistics and built-in explanations (skipped when the database has them).
        let store = try StoreDatabase(path: database)
        let saePath = URL(fileURLWithPath: saeDir).standardizedFileURL.path
        let saeHash = try SHA256Digest.hex(ofFile: saeDir + "/sae_weights.safetensors")
        if try store.featureStatistics(saePath: saePath, sha256: saeHash).isEmpty {
            let cache = try DemoStatisticsCache(saeDirectory: saeDir, saeSHA256: saeHash, model: model, corpus: corpus,
                                                explainArguments: plan.explainArguments)
            if let statistics = cache.load() {
                console.diagnostic("demo: feature statistics and explanations from the cache \(cache.statisticsPath)")
                let sae = try SparseAutoencoder.load(directory: saeDir)
                try FeatureExplanationRun.store(statistics, saePath: saeDir, configuration: sae.configuration, database: database)
            } else {
                console.diagnostic("demo: feature statistics and explanations over \(corpus)")
                try await runSubcommand(["explain", "--model", model, "--sae", saeDir, "--db", database, "--corpus", corpus]
                                        + plan.explainArguments + quietFlag)
                try cache.save()
            }
        }

        // 3. Output scores of every feature (screening), then features that steer, spanning densities.
        if try store.featureScores(saePath: saePath, sha256: saeHash).isEmpty {
            console.diagnostic("demo: screening every feature of the SAE (output score, Arad et al. 2025)")
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
            throw StudyError.invalidArgument("the demo SAE has too few live, explained features (\(chosen.count)); delete \(saeDir) and rerun")
        }
        console.diagnostic("demo: features \(chosen.map(String.init).joined(separator: ",")) (\(DemoFeatureChoice.rule))")

        // 4. Sweep; 5–8. describe, analyse, judge (offline proxy, labelled as a proxy in the report), report.
        let promptFile = try plan.writePrompts(beside: database)
        try await runSubcommand(["sweep", "--model", model, "--sae", saeDir, "--features", chosen.map(String.init).joined(separator: ","),
                                 "--prompts", promptFile, "--magnitudes", plan.magnitudes]
                                + (plan.usesChat ? ["--chat"] : []) + [
                                 "--max-tokens", String(plan.maxTokens), "--db", database, "--name", "demo"]
                                + sweepArguments + quietFlag)
        try await runSubcommand(["describe", "--db", database, "--sweep", "demo", "--describer", "contrastive"] + quietFlag)
        try await runSubcommand(["analyze", "--db", database, "--sweep", "demo", "--model", model] + plan.analyzeArguments)
        try await runSubcommand(["judge", "--db", database, "--sweep", "demo", "--judge", "offline"] + quietFlag)
        try await runSubcommand(["report", "--db", database, "--sweep", "demo", "--out", out,
                                 "--feature-selection", DemoFeatureChoice.rule])
        console.diagnostic(String(format: "demo: finished in %.0f s", Date().timeIntervalSince(started)))
        console.output("report: \(out)/report.html")
        console.output("report: \(out)/report.pdf")
        console.output("report: \(out)/explorer.html")
    }
}
