import Randomness
/// A synthetic sweep with planted structure, for `semprog bench analyze` and the tests: each (feature, prompt)
/// has a known number of stages (embeddings drawn around one random direction per stage) and a known degradation
/// onset (fluent random sentences before it, loops or gibberish from it on). Seeded, so it is reproducible.
public struct SyntheticSweep: Sendable {
    public var input: SweepAnalysisInput
    /// Planted stage count per feature (the same for all its prompts).
    public var plantedStageCounts: [Int]
    /// Planted onset position per feature (index into the magnitudes; `magnitudes.count` = no onset).
    public var plantedOnsets: [Int]

    /// - Parameters:
    ///   - noise: standard deviation of the per-component Gaussian noise added to a stage's direction before
    ///     normalising (per component; with dimension d the noise norm is about noise·√d, and two outputs of one
    ///     stage have cosine ≈ 1 / (1 + noise²·d): 0.87 for the default 0.02 at d = 384, 0.6 for 0.042).
    ///   - stageSimilarity: cosine ρ between the stage directions (0: independent random directions). Real sentence
    ///     embeddings of unrelated English outputs share a common component (all-MiniLM-L6-v2 cosines ≈ 0.2–0.4);
    ///     with ρ > 0 each stage direction is √ρ·s + √(1−ρ)·r for one shared direction s and a random r.
    public init(features: Int = 82, prompts: Int = 8, magnitudes: Int = 16, dimension: Int = 384,
                noise: Double = 0.02, stageSimilarity: Double = 0, seed: UInt64 = 7) {
        var rng = SplitMix64(seed: seed)
        func gaussian() -> Double {
            // Box–Muller
            let u1 = max(rng.nextUnit(), 1e-300), u2 = rng.nextUnit()
            return (-2 * Double.log(u1)).squareRoot() * Double.cos(2 * Double.pi * u2)
        }
        func unit(_ v: [Double]) -> [Float] {
            let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return v.map { Float($0 / n) }
        }
        func randomDirection() -> [Double] { (0..<dimension).map { _ in gaussian() } }
        func normalised(_ v: [Double]) -> [Double] {
            let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return v.map { $0 / n }
        }
        let shared = stageSimilarity > 0 ? normalised(randomDirection()) : []
        func stageDirection() -> [Double] {
            guard stageSimilarity > 0 else { return randomDirection() }
            let own = normalised(randomDirection())
            return zip(shared, own).map { stageSimilarity.squareRoot() * $0 + (1 - stageSimilarity).squareRoot() * $1 }
        }
        func around(_ center: [Double]) -> [Float] {
            let n = center.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return unit(center.map { $0 / n + noise * gaussian() })
        }
        let words = Self.vocabulary
        func sentence() -> String {
            var out: [String] = []
            for s in 0..<4 {
                let length = 6 + rng.nextIndex(below: 6)
                var sentence = (0..<length).map { _ in words[rng.nextIndex(below: words.count)] }
                if s == 0 { sentence[0] = sentence[0].prefix(1).uppercased() + sentence[0].dropFirst() }
                out.append(sentence.joined(separator: " ") + ".")
            }
            return out.joined(separator: " ")
        }
        func degenerate() -> String {
            switch rng.nextIndex(below: 3) {
            case 0: return Array(repeating: words[rng.nextIndex(below: words.count)], count: 30).joined(separator: " ")
            case 1:
                let phrase = (0..<3).map { _ in words[rng.nextIndex(below: words.count)] }.joined(separator: " ")
                return Array(repeating: phrase, count: 12).joined(separator: " ")
            default:
                let symbols = Array("#$%&*@^~|<>{}[]")
                return (0..<30).map { _ in String((0..<(2 + rng.nextIndex(below: 5))).map { _ in symbols[rng.nextIndex(below: symbols.count)] }) }
                    .joined(separator: " ")
            }
        }

        let magnitudeValues = (0..<magnitudes).map { Double($0 + 1) * 10 }
        var featureList: [FeatureInput] = []
        var promptList: [PromptBaseline] = []
        var generations: [GenerationInput] = []
        var stageCounts: [Int] = [], onsets: [Int] = []
        let promptDirections = (0..<prompts).map { _ in randomDirection() }
        for p in 0..<prompts {
            promptList.append(PromptBaseline(promptID: "prompt-\(p)", text: sentence(), embedding: around(promptDirections[p])))
        }
        for f in 0..<features {
            let maxActivation = 20 + 80 * rng.nextUnit()
            let densityQuantile = rng.nextUnit()
            let log10Density = -4 + 3 * densityQuantile
            let explanationDirection = randomDirection()
            featureList.append(FeatureInput(featureID: "feature-\(f)", maxActivation: maxActivation, log10Density: log10Density,
                                            explanation: "synthetic concept \(f)", explanationEmbedding: around(explanationDirection)))
            // Denser features break later: onset in the upper half of the sweep, or none.
            let onset = min(magnitudes, magnitudes / 2 + Int(densityQuantile * Double(magnitudes / 2)) + rng.nextIndex(below: 2))
            let stageCount = min(max(1, onset), 1 + rng.nextIndex(below: 5))
            stageCounts.append(stageCount); onsets.append(onset)
            // Stage boundaries: split 0..<onset into stageCount nearly equal runs.
            let stageDirections = (0..<stageCount).map { _ in stageDirection() }
            for p in 0..<prompts {
                for m in 0..<magnitudes {
                    let text: String, embedding: [Float]
                    if m < onset {
                        let stage = m * stageCount / max(onset, 1)
                        text = sentence()
                        embedding = around(stageDirections[stage])
                    } else {
                        text = degenerate()
                        embedding = unit(randomDirection())
                    }
                    generations.append(GenerationInput(featureID: "feature-\(f)", promptID: "prompt-\(p)",
                                                       magnitude: magnitudeValues[m], text: text, embedding: embedding,
                                                       descriptionEmbedding: around(stageDirections[0]), perplexity: nil))
                }
            }
        }
        input = SweepAnalysisInput(features: featureList, prompts: promptList, generations: generations)
        plantedStageCounts = stageCounts
        plantedOnsets = onsets
    }

    static let vocabulary: [String] = """
    the a an this that these those my your his her its our their one two three some many few every each other \
    time year people way day man woman child world life hand part place case week company system program question \
    work government number night point home water room mother area money story fact month lot right study book eye \
    job word business issue side kind head house service friend father power hour game line end member law car city \
    community name president team minute idea kid body information back parent face others level office door health \
    person art war history party result change morning reason research girl guy moment air teacher force education \
    is was are were be have has had do does did say said go went get got make made know knew think thought take took \
    see saw come came want look use find give tell ask seem feel try leave call keep let begin help talk turn start \
    show hear play run move like live believe hold bring happen write provide sit stand lose pay meet include continue \
    good new first last long great little own old right big high different small large next early young important \
    public bad same able quickly slowly often never always sometimes together again still already almost very really \
    and but or so because if when while although after before since until where about above across under over into \
    from with without through during between among toward upon near far here there now then today tomorrow yesterday \
    river mountain forest garden kitchen window letter music picture street market village ocean island bridge train
    """.split(whereSeparator: { $0.isWhitespace }).map(String.init)
}
