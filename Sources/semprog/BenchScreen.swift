import ArgumentParser
import Foundation
import LanguageModel
import Sweep

extension Semprog {
    /// `semprog bench screen`: output-score screening throughput (features per second) on a real model and SAE,
    /// printed with the thread count and the CPU. Scores are computed, not stored.
    struct BenchScreen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "screen", abstract: "Benchmark output-score screening (features/s).")

        @OptionGroup var models: ModelOptions
        @Option(help: "Features to score (the first N of the SAE).")
        var features: Int = 512
        @Option(name: .customLong("batch-size"), help: "Features per forward pass.")
        var batchSize: Int = FeatureScreenSettings().batchSize
        @OptionGroup var threadOptions: ThreadOptions
        var threads: Int { threadOptions.count }

        func validate() throws {
            guard features >= 1, batchSize >= 1, threads >= 1 else {
                throw ValidationError("--features, --batch-size and --threads must be ≥ 1")
            }
        }

        func run() async throws {
            let session = try SteeringSession.load(modelPath: models.modelPath, saePath: models.sae, hook: models.hook)
            session.model.threads = threads
            let count = min(features, session.sae.configuration.dSae)
            var settings = FeatureScreenSettings()
            settings.batchSize = batchSize
            let start = Date()
            _ = try FeatureScreen.run(model: session.model, sae: session.sae, features: Array(0..<count), settings: settings)
            let seconds = Date().timeIntervalSince(start)
            print(String(format: "screen: %d features of %@ in %.2f s = %.1f features/s (batch %d, %d threads, %@)",
                         count, models.sae, seconds, Double(count) / seconds, batchSize, threads, Self.cpuName()))
        }

        /// The CPU model from /proc/cpuinfo ("unknown CPU" elsewhere).
        static func cpuName() -> String {
            guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
                  let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
                  let colon = line.firstIndex(of: ":") else { return "unknown CPU" }
            return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
    }
}
