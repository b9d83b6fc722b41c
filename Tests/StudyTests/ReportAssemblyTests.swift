import Testing
@testable import Study
import Units

/// Report assembly's per-magnitude intervals: mean ± t₀.₉₇₅,ₙ₋₁ · s/√n.
@Suite struct ReportAssemblyTests {
    @Test func meanIntervalIsTheStudentTInterval() {
        // Independent values: mean 3, sample sd √2.5, t₀.₉₇₅ with 4 df = 2.7764451051977934 (scipy.stats.t.ppf).
        let (mean, low, high) = ReportAssembly.meanInterval([1, 2, 3, 4, 5])
        let half = 2.7764451051977934 * (2.5 / 5).squareRoot()
        #expect(abs(mean - 3) < 1e-12)
        #expect(abs(low! - (3 - half)) < 1e-9)
        #expect(abs(high! - (3 + half)) < 1e-9)

        // 40 values (df 39, where the old table fell back to 1.96): t₀.₉₇₅,₃₉ = 2.022690920036761.
        let values = (0..<40).map { Double($0 % 7) + 0.25 * Double($0 % 3) }
        let n = Double(values.count), m = values.reduce(0, +) / n
        let s = (values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / (n - 1)).squareRoot()
        let r = ReportAssembly.meanInterval(values)
        #expect(abs(r.high! - (m + 2.022690920036761 * s / n.squareRoot())) < 1e-9)
    }

    @Test func oneValueHasNoInterval() {
        let r = ReportAssembly.meanInterval([0.7])
        #expect(r.mean == 0.7 && r.low == nil && r.high == nil)
    }

    @Test func medianOfOddAndEvenCounts() {
        #expect(ReportAssembly.median([3, 1, 2]) == 2)
        #expect(ReportAssembly.median([4, 1, 3, 2]) == 2.5)
    }

    @Test func robustnessUnitLabel() {
        #expect(ReportAssembly.robustnessUnit("max_activation") == "× max activation")
        #expect(ReportAssembly.robustnessUnit(nil) == "× max activation")
        #expect(ReportAssembly.robustnessUnit("sweep magnitude units (absolute)") == "sweep magnitude units (absolute)")
    }
}

/// Summaries stored by earlier versions (RQ3 without `bootstrap_resamples`, no `rq3_features`) still decode.
@Suite struct AnalysisRunSummaryTests {
    @Test func olderSummaryStillDecodes() throws {
        let old = """
        {"sweep":"s","feature_count":3,"prompt_count":2,"generation_count":12,"degraded_share":0.25,"mean_stage_count":2,
         "stage_penalty":0.1,"stage_penalty_rule":null,"penalty_sensitivity":[],"mean_explanation_similarity":0.3,
         "similarity_basis":"description","mean_similarity_description":0.3,"mean_similarity_output":0.2,
         "mean_consistency":null,"mean_stage_agreement":null,
         "sparsity_vs_robustness":{"n":3,"rho":0.5,"p_value":0.67,"p_permutation":0.6,"permutation_is_exact":true,
           "ci_low":-1,"ci_high":1,"confidence_level":0.95,"kendall_tau":0.33,"kendall_p_value":0.6,"undefined_reason":null},
         "robustness_units":"max_activation","describer":"import","embedding_model":"m","embeddings_cached":0,
         "embeddings_computed":5,"perplexity":false,"skipped_features":[],"notes":[]}
        """
        let summary = try #require(AnalysisRunSummary.decode(old))
        #expect(summary.similarityBasis == "description")
        #expect(summary.sparsityVsRobustness.rho == 0.5 && summary.sparsityVsRobustness.bootstrapResamples == 0)
        #expect(summary.rq3Features == nil)
        #expect(AnalysisRunSummary.decode(summary.json) == summary)
        #expect(AnalysisRunSummary.decode("{}") == nil)
    }
}

/// Robustness is made comparable across features from the sweep's unit (`MagnitudeUnit`), not from strings.
@Suite struct RobustnessBasisTests {
    /// Scale sweeps: a factor is relative to the feature's own activation already. The string handling treated
    /// 'factor' as not relative and divided it by the max activation (a factor of 2 with max activation 40
    /// became robustness 0.05 "× max activation").
    @Test func scaleFactorsAreNotDividedByTheMaxActivation() {
        let basis = AnalysisPipeline.robustnessBasis(unit: .factor, sweepUnits: "factor", anyMaxActivation: true)
        #expect(!basis.dividesByMaxActivation)
        #expect(basis.units == "scale factor")
        #expect(ReportAssembly.robustnessUnit(basis.units) == "scale factor")
    }

    @Test func absoluteAndRelativeUnits() {
        let absolute = AnalysisPipeline.robustnessBasis(unit: .absolute, sweepUnits: "absolute", anyMaxActivation: true)
        #expect(absolute.dividesByMaxActivation && absolute.units == "max_activation")
        let unknown = AnalysisPipeline.robustnessBasis(unit: .absolute, sweepUnits: "imported", anyMaxActivation: false)
        #expect(!unknown.dividesByMaxActivation && unknown.units == "sweep magnitude units (imported)")
        let relative = AnalysisPipeline.robustnessBasis(unit: .maxActivation, sweepUnits: "max-activation", anyMaxActivation: true)
        #expect(!relative.dividesByMaxActivation && relative.units == "max_activation")
    }

    @Test func sweepUnitsParse() {
        #expect(AnalysisPipeline.magnitudeUnit(units: "max_activation") == .maxActivation)
        #expect(AnalysisPipeline.magnitudeUnit(units: "factor") == .factor)
        #expect(AnalysisPipeline.magnitudeUnit(units: "imported") == .absolute)
        #expect(AnalysisPipeline.magnitudeUnit(units: "something else") == .absolute)
    }
}
