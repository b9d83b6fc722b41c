import Testing
import Foundation
@testable import Store

@Suite struct FeatureStatisticsTests {
    @Test func upsertAndPreferredExplanation() throws {
        let store = try StoreDatabase.inMemory()
        let sae = try store.registerSAE(SAERecord(path: "sae", sha256: "abc", hook: "blocks.3.hook_resid_post", dIn: 8, dSAE: 4,
                                                  architecture: "topk"))
        try store.saveFeatureStatistics(saeId: sae, features: [
            FeatureRecord(saeId: sae, featureIndex: 1, maxActivation: 3.5, fractionNonzero: 0.01),
            FeatureRecord(saeId: sae, featureIndex: 2, maxActivation: 1.0, fractionNonzero: 0.2),
        ], explanations: [.init(featureIndex: 1, source: "semprog", text: "dogs")])
        // Rerun replaces statistics and this source's explanations, keeps one preferred.
        try store.saveFeatureStatistics(saeId: sae, features: [
            FeatureRecord(saeId: sae, featureIndex: 1, maxActivation: 4.0, fractionNonzero: 0.02),
        ], explanations: [.init(featureIndex: 1, source: "semprog", text: "dogs and cats")])
        let features = try store.featureStatistics(saePath: "sae", sha256: "abc")
        #expect(features[1]?.maxActivation == 4.0)
        #expect(features[2]?.fractionNonzero == 0.2)
        let preferred = try store.preferredExplanations(saeId: sae)
        #expect(preferred[1]?.text == "dogs and cats")
        #expect(try store.explanations(saeId: sae, featureIndex: 1).count == 1)
        #expect(try store.featureStatistics(saePath: "other", sha256: "abc").isEmpty)
    }
}
