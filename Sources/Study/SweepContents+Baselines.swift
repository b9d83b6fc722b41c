import Store

extension SweepContents {
    /// The unsteered output of each prompt, by prompt id, after checking what every step that compares steered
    /// outputs with their baselines needs: the sweep has generations, and every prompt with generations has a
    /// baseline (`StudyError.noGenerations`, `StudyError.missingBaselines` naming the prompts).
    func checkedBaselineTexts() throws -> [Int64: String] {
        guard !generations.isEmpty else { throw StudyError.noGenerations(sweep: sweep.name) }
        let texts = Dictionary(baselines.map { ($0.promptId, $0.text) }, uniquingKeysWith: { a, _ in a })
        let missing = Array(Set(generations.map(\.promptId).filter { texts[$0] == nil })).sorted()
        guard missing.isEmpty else {
            throw StudyError.missingBaselines(sweep: sweep.name, prompts: missing.map { AnalysisPipeline.preview(prompts[$0] ?? "#\($0)") })
        }
        return texts
    }
}
