import Testing
import Foundation
@testable import Sweep
import Store
import Units
import SparseAutoencoder

@Suite struct MagnitudeParsingTests {
    @Test func linspace() throws {
        let m = try Magnitudes.parse("0:3:4")
        #expect(m == [0, 1, 2, 3])
        #expect(try Magnitudes.parse("2.5") == [2.5])
        #expect(try Magnitudes.parse("4, 1,2") == [1, 2, 4])
    }

    @Test(arguments: ["", "1,,2", "a,b", "1:2", "0:1:0", "nan", "1,inf", "1,1"])
    func rejects(_ text: String) {
        #expect(throws: SweepError.self) { try Magnitudes.parse(text) }
    }
}

@Suite struct PromptFileTests {
    @Test func plainAndJSONL() throws {
        #expect(try PromptFile.parse("a\n\nb c\r\n", path: "p.txt") == ["a", "b c"])
        #expect(try PromptFile.parse("{\"prompt\": \"x\\ny\"}\n{\"prompt\": \"z\"}\n", path: "p.jsonl") == ["x\ny", "z"])
    }

    @Test func errorsNameFileAndLine() {
        #expect(throws: SweepError.emptyPromptFile(path: "e.txt")) { try PromptFile.parse("\n \n", path: "e.txt") }
        do {
            _ = try PromptFile.parse("{\"prompt\": \"x\"}\n{\"text\": 1}\n", path: "q.jsonl")
            Issue.record("expected an error")
        } catch {
            #expect(error.localizedDescription.contains("q.jsonl:2"))
        }
    }
}

@Suite struct SweepPlanTests {
    func settings(batch: Int = 5) -> SweepConfiguration {
        SweepConfiguration(modelPath: "m", modelSHA256: "a", saePath: "s", saeSHA256: "b", hookName: "blocks.3.hook_resid_post",
                      features: [7, 2, 9], prompts: ["p0", "p1"], magnitudes: [0, 1, 2, 4], units: .maxActivation,
                      method: "clamp", positions: "all", maxTokens: 8, temperature: 0.7, topK: 0, topP: 1,
                      repetitionPenalty: 1, frequencyPenalty: 0, seed: 42, chat: false, batchSize: batch)
    }

    @Test func coversEveryCellOnce() {
        let plan = SweepPlan(settings: settings())
        var seen = Set<PlannedCell>()
        var baselines: [Int] = []
        for b in plan.batches {
            #expect(b.size <= 5)
            switch b.kind {
            case let .baselines(p): baselines += p
            case let .steered(cells):
                #expect(Set(cells.map(\.promptIndex)).count == 1, "a steered batch holds one prompt")
                for c in cells { #expect(seen.insert(c).inserted) }
            }
        }
        #expect(seen.count == plan.cellCount)
        #expect(seen.count == 3 * 2 * 4)
        #expect(baselines == [0, 1])
        #expect(plan.batches.map(\.ordinal) == Array(0..<plan.batches.count))
    }

    @Test func shardsPartitionTheBatches() throws {
        let plan = SweepPlan(settings: settings(batch: 3))
        let shards = try (0..<3).map { try Shard(index: $0, count: 3) }
        for b in plan.batches { #expect(shards.filter { $0.contains(b) }.count == 1) }
        #expect(throws: SweepError.self) { try Shard(parsing: "3/3") }
        #expect(throws: SweepError.self) { try Shard(parsing: "x") }
        #expect(try Shard(parsing: "1/4") == Shard(index: 1, count: 4))
    }

    @Test func seedsDependOnTheCellOnly() {
        let a = SweepPlan(settings: settings(batch: 2)), b = SweepPlan(settings: settings(batch: 7))
        let cell = PlannedCell(feature: 9, promptIndex: 1, magnitudeIndex: 3)
        #expect(a.seed(for: cell) == b.seed(for: cell))
        let seeds = Set(a.batches.flatMap { batch -> [UInt64] in
            if case let .steered(cells) = batch.kind { return cells.map { a.seed(for: $0) } }
            return []
        })
        #expect(seeds.count == a.cellCount, "distinct cells get distinct seeds")
    }

    @Test func storeSettingsCarryEverySetting() {
        var other = settings()
        other.features = [7, 2]
        let a = settings().storeSettings, b = other.storeSettings
        #expect(a.firstDifference(from: b)?.setting == "extra.features")
        #expect(a.firstDifference(from: settings().storeSettings) == nil)
        #expect(a.canonicalJSON.contains("\"batch_size\":\"5\""))
    }

    @Test func featureLists() throws {
        #expect(try FeatureList.parse("3, 1-4,9") == [3, 1, 2, 4, 9])
        #expect(throws: SweepError.self) { try FeatureList.parse("x") }
        #expect(throws: SweepError.self) { try FeatureList.parse("5-2") }
    }
}

/// Magnitudes carry their unit into the edit (issue: `--method scale --magnitudes 2` amplified a feature with max
/// activation 40 eighty-fold, because the factor was multiplied by the max activation).
@Suite struct MagnitudeUnitTests {
    @Test func scaleFactorsAreNotMultipliedByTheMaxActivation() {
        let units = SweepConfiguration.Units.defaultUnits(for: .scale)
        #expect(units == .factor)
        let edit = SweepRunner.edit(feature: 3, magnitude: 2, units: units, method: .scale, positions: .all, maxActivation: 40)
        #expect(edit.magnitude == 2)
        #expect(edit.target(current: 5) == 10, "a′ = 2 · a")
    }

    @Test func clampMagnitudesInMaxActivationsAreConverted() {
        let units = SweepConfiguration.Units.defaultUnits(for: .clamp)
        #expect(units == .maxActivation)
        let edit = SweepRunner.edit(feature: 3, magnitude: 1.5, units: units, method: .clamp, positions: .all, maxActivation: 40)
        #expect(edit.magnitude == 60)
        let absolute = SweepRunner.edit(feature: 3, magnitude: 1.5, units: .absolute, method: .add, positions: .all, maxActivation: 40)
        #expect(absolute.magnitude == 1.5)
    }

    @Test func unitsMustFitTheMethod() {
        #expect(SweepConfiguration.Units.factor.applies(to: .scale))
        #expect(!SweepConfiguration.Units.maxActivation.applies(to: .scale))
        #expect(!SweepConfiguration.Units.absolute.applies(to: .scale))
        #expect(!SweepConfiguration.Units.factor.applies(to: .clamp))
        #expect(SweepConfiguration.Units.maxActivation.applies(to: .add))
        #expect(SweepError.unitsDoNotApply(units: "max-activation", method: "scale").localizedDescription.contains("--units"))
    }

    /// 1e39 is finite as a Double but ∞ as the Float32 the edit applies.
    @Test(arguments: ["0,1e39", "0:1e39:3", "-1e39,0"])
    func magnitudesBeyondFloat32AreRefused(_ text: String) {
        do {
            _ = try Magnitudes.parse(text)
            Issue.record("\(text) was accepted")
        } catch {
            #expect(error.localizedDescription.contains("--magnitudes"))
            #expect(error.localizedDescription.contains("Float32"))
        }
    }

    @Test func promptsLongerThanTheContextAreRefusedBeforeAnyWork() {
        #expect(throws: Never.self) { try SweepRunner.checkContext([[1, 2, 3]], prompts: ["abc"], maxTokens: 5, contextLength: 8) }
        do {
            try SweepRunner.checkContext([[1, 2], [1, 2, 3, 4, 5]], prompts: ["short", "long one"], maxTokens: 4, contextLength: 8)
            Issue.record("accepted")
        } catch {
            #expect(error.localizedDescription.contains("prompt 2"))
            #expect(error.localizedDescription.contains("--max-tokens 4"))
        }
    }

    @Test func promptFilesRefuseNUL() throws {
        do {
            _ = try PromptFile.parse("fine\nout\u{0}hidden\n", path: "p.txt")
            Issue.record("accepted a NUL")
        } catch {
            #expect(error.localizedDescription.contains("p.txt:2"))
            #expect(error.localizedDescription.contains("NUL"))
        }
        #expect(try PromptFile.parse("\u{FEFF}a\r\nb\r\n", path: "bom.txt") == ["a", "b"])
    }
}

/// The per-generation record of a magnitude: its unit, and the absolute target the edit applied.
@Suite struct AppliedMagnitudeTests {
    func configuration(units: SweepConfiguration.Units, method: String, magnitudes: [Double] = [0.5, 1]) -> SweepConfiguration {
        SweepConfiguration(modelPath: "m", modelSHA256: "a", saePath: "s", saeSHA256: "b", hookName: "h",
                           features: [3, 5], prompts: ["p"], magnitudes: magnitudes, units: units, method: method,
                           positions: "all", maxTokens: 4, temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1,
                           frequencyPenalty: 0, seed: 1, chat: false, batchSize: 2)
    }

    /// A max-activation sweep of a feature without a max activation is refused before anything runs, naming it.
    @Test func missingMaxActivationIsRefused() throws {
        let c = configuration(units: .maxActivation, method: "clamp")
        #expect(throws: SweepError.missingMaxActivation(feature: 5)) {
            try SweepRunner.checkMaxActivations(c, maxActivations: [3: 40])
        }
        #expect(throws: SweepError.missingMaxActivation(feature: 3)) {
            try SweepRunner.checkMaxActivations(c, maxActivations: [3: 0, 5: 2])
        }
        #expect(SweepError.missingMaxActivation(feature: 5).localizedDescription.contains("feature 5"))
        try SweepRunner.checkMaxActivations(c, maxActivations: [3: 40, 5: 2])
        // Absolute activations and factors need none.
        try SweepRunner.checkMaxActivations(configuration(units: .absolute, method: "clamp"), maxActivations: [:])
        try SweepRunner.checkMaxActivations(configuration(units: .factor, method: "scale"), maxActivations: [:])
    }

    /// The stored absolute target is the edit's activation (up to its Float32 rounding), nil for scale.
    @Test func absoluteTargetIsTheEditsActivation() {
        let c = configuration(units: .maxActivation, method: "add")
        #expect(c.magnitude(1) == Magnitude(1, .maxActivation))
        for (magnitude, method, maxActivation) in [(Magnitude(0.5, .maxActivation), EditMethod.add, Float(40)),
                                                   (Magnitude(0.1, .maxActivation), .clamp, 12.3),
                                                   (Magnitude(2.5, .absolute), .clamp, 7)] {
            let edit = SweepRunner.edit(feature: 3, magnitude: magnitude, method: method, positions: .all, maxActivation: maxActivation)
            let target = magnitude.absoluteTarget(method: method.rawValue, maxActivation: Double(maxActivation))
            // The edit multiplies in Float32: equal within one Float32 ulp of the product.
            #expect(abs(Double(edit.magnitude) - target!) <= Double(edit.magnitude.ulp), "\(magnitude)")
        }
        #expect(Magnitude(0.1, .absolute).absoluteTarget(method: "clamp", maxActivation: nil) == 0.1, "as written")
        let scale = SweepRunner.edit(feature: 3, magnitude: Magnitude(2, .factor), method: .scale, positions: .all, maxActivation: 40)
        #expect(scale.magnitude == 2)
        #expect(Magnitude(2, .factor).absoluteTarget(method: "scale", maxActivation: 40) == nil, "scale's target m · aᵢ depends on aᵢ")
    }
}
