import Foundation
import TestSupport
@testable import Store

/// A fresh temporary directory per test, removed by the caller with `cleanup()`.
struct TemporaryDirectory {
    let url: URL
    init() throws {
        url = TestScratch.root.appendingPathComponent("semprog-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let p = path(name)
        try FileManager.default.createDirectory(at: URL(fileURLWithPath: p).deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: p))
        return p
    }
    func cleanup() { try? FileManager.default.removeItem(at: url) }
}

/// Row counts of every table, to prove that a failed import changed nothing.
func tableCounts(_ store: StoreDatabase) throws -> [String: Int] {
    try store.read { db in
        var counts: [String: Int] = [:]
        for table in ["models", "saes", "features", "explanations", "prompts", "sweeps", "baselines", "generations", "descriptions"] {
            counts[table] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)")!
        }
        return counts
    }
}

import GRDB

func sampleSettings(magnitudes: [Double] = [0, 2, 4], seed: UInt64 = 7) -> SweepSettings {
    SweepSettings(magnitudes: magnitudes, units: "max_activation", method: "add", positions: "all", maxTokens: 32,
                  temperature: 0.7, topK: 40, topP: 0.9, repetitionPenalty: 1.1, seed: seed, chat: true,
                  model: "SmolLM2", sae: "sae-l10")
}
