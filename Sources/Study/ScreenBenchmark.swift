import Foundation
import Sweep

/// What `semprog bench screen` measures: output-score screening throughput (features per second) of the first
/// `features` features of an SAE on a real model, with the thread count and the CPU; the scores are computed,
/// not stored. Not a test: the numbers depend on the machine.
public struct ScreenBenchmark {
    public var model: String
    public var sae: String
    public var hook: String?
    public var features: Int
    public var batchSize: Int
    public var threads: Int

    public init(model: String, sae: String, hook: String?, features: Int, batchSize: Int, threads: Int) {
        self.model = model; self.sae = sae; self.hook = hook; self.features = features; self.batchSize = batchSize
        self.threads = threads
    }

    public func run(console: StudyConsole = .standard) throws {
        let session = try SteeringSession.load(modelPath: model, saePath: sae, hook: hook)
        session.model.threads = threads
        let count = min(features, session.sae.configuration.dSae)
        var settings = FeatureScreenSettings()
        settings.batchSize = batchSize
        let start = Date()
        _ = try FeatureScreen.run(model: session.model, sae: session.sae, features: Array(0..<count), settings: settings)
        let seconds = Date().timeIntervalSince(start)
        console.output(String(format: "screen: %d features of %@ in %.2f s = %.1f features/s (batch %d, %d threads, %@)",
                              count, sae, seconds, Double(count) / seconds, batchSize, threads, Self.cpuName()))
    }

    /// The CPU model: the first `model name` line of /proc/cpuinfo (its text given for tests), "unknown CPU" without one.
    static func cpuName(cpuinfo: String? = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) -> String {
        guard let text = cpuinfo, let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
              let colon = line.firstIndex(of: ":") else { return "unknown CPU" }
        return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
}
