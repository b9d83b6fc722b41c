import Testing
@testable import Report

/// The report's magnitude and robustness axes name their unit from `MagnitudeUnit`.
@Suite struct MagnitudeAxisTests {
    @Test func magnitudeAxisLabels() {
        // Reports store the unit's axis label; older report data stored CLI names.
        #expect(StudyFigures.unitLabel("× max activation") == "× max activation")
        #expect(StudyFigures.unitLabel("max-activation") == "× max activation")
        #expect(StudyFigures.unitLabel("absolute") == "activation")
        #expect(StudyFigures.unitLabel("factor") == "scale factor")
        #expect(StudyFigures.unitLabel("furlongs") == "furlongs")
    }

    @Test func robustnessAxisLabels() {
        #expect(StudyFigures.robustnessLabel(nil) == "robustness (last fluent magnitude, × max activation)")
        #expect(StudyFigures.robustnessLabel("× max activation") == "robustness (last fluent magnitude, × max activation)")
        #expect(StudyFigures.robustnessLabel("max_activation") == "robustness (last fluent magnitude, × max activation)")
        #expect(StudyFigures.robustnessLabel("scale factor") == "robustness (last fluent magnitude, scale factor)")
    }

    /// Every per-magnitude figure of a feature uses it on its x axis.
    @Test func featureFiguresUseTheUnit() throws {
        let data = ReportData.synthetic(featureCount: 2, seed: 3)
        let feature = try #require(data.features.first)
        #expect(StudyFigures.magnitudeLabel(data.run) == "magnitude (× max activation)")
        for figure in [StudyFigures.progression(feature, run: data.run), StudyFigures.similarity(feature, run: data.run),
                       StudyFigures.degradation(feature, run: data.run)] {
            #expect(figure.figure.panels.allSatisfy { $0.x.label == "magnitude (× max activation)" }, "\(figure.name)")
        }
        let rq3 = StudyFigures.sparsityRobustness(data)
        #expect(rq3.figure.panels.first?.y.label == "robustness (last fluent magnitude, × max activation)")
    }
}
