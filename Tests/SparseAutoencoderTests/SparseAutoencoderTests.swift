import Randomness
import Foundation
import TestSupport
import LanguageModel
import Testing
import Tensor
@testable import SparseAutoencoder

/// A tiny SAE with d_in = 2, d_sae = 3 and hand-picked weights.
///   W_enc = [[1, 0, 1], [0, 1, 1]]  b_enc = [0, −1, 0.5]  b_dec = [0.5, −0.5]
///   W_dec = [[1, 0], [0, 1], [0.6, 0.8]]
func tinySAE(_ architecture: SAEArchitecture, k: Int? = nil, threshold: [Float]? = nil,
             normalize: ActivationNormalization = .none) throws -> SparseAutoencoder {
    let cfg = SAEConfiguration(architecture: architecture, dIn: 2, dSae: 3, k: k, layer: 3, normalizeActivations: normalize)
    return try SparseAutoencoder(
        configuration: cfg, encoderWeights: Matrix(rows: 2, cols: 3, values: [1, 0, 1, 0, 1, 1]),
        encoderBias: [0, -1, 0.5], decoderWeights: Matrix(rows: 3, cols: 2, values: [1, 0, 0, 1, 0.6, 0.8]),
        decoderBias: [0.5, -0.5], threshold: threshold)
}

/// A seeded random SAE.
func randomSAE(_ architecture: SAEArchitecture, dIn: Int = 16, dSae: Int = 40, k: Int? = nil, seed: UInt64 = 1,
               normalize: ActivationNormalization = .none) throws -> SparseAutoencoder {
    var rng = SplitMix64(seed: seed)
    func g(_ n: Int, _ s: Double = 1) -> [Float] { (0..<n).map { _ in Float(rng.nextGaussian() * s) } }
    let cfg = SAEConfiguration(architecture: architecture, dIn: dIn, dSae: dSae, k: k, layer: 2, normalizeActivations: normalize)
    return try SparseAutoencoder(
        configuration: cfg, encoderWeights: Matrix(rows: dIn, cols: dSae, values: g(dIn * dSae, 0.3)),
        encoderBias: g(dSae, 0.1), decoderWeights: Matrix(rows: dSae, cols: dIn, values: g(dSae * dIn, 0.3)),
        decoderBias: g(dIn, 0.2), threshold: architecture == .jumprelu ? g(dSae, 0.2).map { abs($0) } : nil,
        gate: architecture == .gated ? .init(gateBias: g(dSae, 0.1), magnitudeLogScale: g(dSae, 0.3)) : nil)
}

func randomMatrix(_ rows: Int, _ cols: Int, seed: UInt64, scale: Double = 1) -> Matrix {
    var rng = SplitMix64(seed: seed)
    return Matrix(rows: rows, cols: cols, values: (0..<(rows * cols)).map { _ in Float(rng.nextGaussian() * scale) })
}

func temporaryDirectory(_ name: String = #function) -> URL {
    let url = TestScratch.root.appendingPathComponent("sae-tests-\(getpid())-\(name.filter(\.isLetter))-\(UInt32.random(in: 0...UInt32.max))")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Suite struct EncodeDecodeTests {
    // x = [2, 1]: x − b_dec = [1.5, 1.5]; pre = [1.5, 0.5, 3.5].
    let x = Matrix(rows: 1, cols: 2, values: [2, 1])

    @Test func standardByHand() throws {
        let sae = try tinySAE(.standard)
        #expect(sae.preActivations(x).values == [1.5, 0.5, 3.5])
        let a = sae.encode(x)
        #expect(a.values == [1.5, 0.5, 3.5])
        // x̂ = a·W_dec + b_dec = [1.5 + 2.1 + 0.5, 0.5 + 2.8 − 0.5]
        let y = sae.decode(a)
        #expect(abs(y.values[0] - 4.1) < 1e-5 && abs(y.values[1] - 2.8) < 1e-5)
        // negative pre-activations are cut: x = [0, 0] → pre = [−0.5, −0.5, 0.5]
        #expect(sae.encode(Matrix(rows: 1, cols: 2, values: [0, 0])).values == [0, 0, 0.5])
    }

    @Test func jumpReLUThresholds() throws {
        // θ = [1.5, 0.4, 3.6]: feature 0 sits exactly at its threshold (not above → 0), 1 passes, 2 misses.
        let sae = try tinySAE(.jumprelu, threshold: [1.5, 0.4, 3.6])
        #expect(sae.encode(x).values == [0, 0.5, 0])
        let lower = try tinySAE(.jumprelu, threshold: [1.4999, 0.6, 3.4])
        #expect(lower.encode(x).values == [1.5, 0, 3.5])
    }

    @Test func topKSelection() throws {
        let sae1 = try tinySAE(.topk, k: 1)
        #expect(sae1.encode(x).values == [0, 0, 3.5])
        let sae2 = try tinySAE(.topk, k: 2)
        #expect(sae2.encode(x).values == [1.5, 0, 3.5])
        // TopK applies ReLU after selection: with k = 2 and pre = [−0.5, −0.5, 0.5] only one survives.
        #expect(sae2.encode(Matrix(rows: 1, cols: 2, values: [0, 0])).values == [0, 0, 0.5])
    }

    @Test(arguments: [1, 3, 7, 40])
    func topKKeepsTheLargest(k: Int) throws {
        let sae = try randomSAE(.topk, k: k, seed: UInt64(k))
        let xs = randomMatrix(25, 16, seed: 99)
        let pre = sae.preActivations(xs)
        let a = sae.encode(xs)
        for r in 0..<xs.rows {
            let row = pre.row(r)
            let sorted = row.sorted(by: >)
            let kth = sorted[k - 1]
            let nonzero = a.row(r).enumerated().filter { $0.element != 0 }
            #expect(nonzero.count == row.prefix(40).filter { $0 >= kth && $0 > 0 }.count)
            for (j, v) in nonzero { #expect(v == row[j] && v >= kth) }
        }
    }

    @Test func batchedEncodeMatchesRowByRow() throws {
        for arch in SAEArchitecture.allCases {
            let sae = try randomSAE(arch, k: arch == .topk ? 5 : nil, normalize: .layerNorm)
            let xs = randomMatrix(9, 16, seed: 5)
            let batch = sae.encode(xs)
            for r in 0..<9 {
                let single = sae.encode(Matrix(rows: 1, cols: 16, values: xs.row(r)))
                for j in 0..<40 { #expect(abs(single.values[j] - batch[r, j]) < 1e-4) }
            }
        }
    }

    @Test func normalisationMatchesSAELens() throws {
        // constant_norm_rescale: x̃ = x·√d/‖x‖, x̂ = decode(encode(x̃))·‖x‖/√d.
        let sae = try tinySAE(.standard, normalize: .constantNormRescale)
        let plain = try tinySAE(.standard)
        let big = Matrix(rows: 1, cols: 2, values: [30, 40])   // ‖x‖ = 50, x̃ = [0.6, 0.8]·√2
        let s: Float = 50 / Float(2).squareRoot()
        let scaled = Matrix(rows: 1, cols: 2, values: [30 / s, 40 / s])
        #expect(zip(sae.encode(big).values, plain.encode(scaled).values).allSatisfy { abs($0 - $1) < 1e-5 })
        let expected = plain.decode(plain.encode(scaled)).values.map { $0 * s }
        #expect(zip(sae.reconstruct(big).values, expected).allSatisfy { abs($0 - $1) < 1e-4 })
        // layer_norm: (x − μ)/(σ + 1e−5) with the unbiased σ; x = [3, 5]: μ = 4, σ = √2.
        let ln = try tinySAE(.standard, normalize: .layerNorm)
        let norm = ln.normalization(of: Matrix(rows: 1, cols: 2, values: [3, 5]))[0]
        #expect(abs(norm.shift - 4) < 1e-6 && abs(norm.scale - (Float(2).squareRoot() + 1e-5)) < 1e-6)
    }
}

@Suite struct EditTests {
    /// x′ − decode(a′) = x − decode(a): the SAE error is preserved (per row, every architecture/normalisation).
    @Test(arguments: SAEArchitecture.allCases)
    func editsPreserveTheReconstructionError(architecture: SAEArchitecture) throws {
        for normalize in [ActivationNormalization.none, .constantNormRescale, .layerNorm] {
            let sae = try randomSAE(architecture, k: architecture == .topk ? 6 : nil, normalize: normalize)
            let x = randomMatrix(7, 16, seed: 11, scale: 2)
            for edit in [SteeringEdit(feature: 3, method: .clamp, magnitude: 4),
                         SteeringEdit(feature: 5, method: .add, magnitude: -1.5),
                         SteeringEdit(feature: 0, method: .scale, magnitude: 3)] {
                var edited = x
                let (before, _) = try sae.apply(edit, to: &edited)
                let norms = sae.normalization(of: x)
                let direction = sae.decoderRow(edit.feature)
                for r in 0..<x.rows {
                    let delta = edit.target(current: before[r]) - before[r]
                    for j in 0..<16 {
                        // x′ = x + δ·s·W_dec[i]
                        let expected = x[r, j] + delta * norms[r].scale * direction[j]
                        #expect(abs(edited[r, j] - expected) < 1e-4 * max(1, abs(expected)))
                    }
                }
                // Error preservation in the SAE's own terms: N⁻¹(a′·W_dec + b_dec) + (x − x̂) = x′.
                let a = sae.encode(x)
                var aEdited = a
                for r in 0..<x.rows { aEdited[r, edit.feature] = edit.target(current: before[r]) }
                let xhat = sae.decode(a), xhatEdited = sae.decode(aEdited)
                for r in 0..<x.rows { for j in 0..<16 {
                    let lhs = edited[r, j] - (xhatEdited[r, j] * norms[r].scale + norms[r].shift)
                    let rhs = x[r, j] - (xhat[r, j] * norms[r].scale + norms[r].shift)
                    #expect(abs(lhs - rhs) < 1e-3, "\(architecture) \(normalize) \(edit.method)")
                } }
            }
        }
    }

    @Test func settingTheCurrentValueLeavesXUnchanged() throws {
        for arch in SAEArchitecture.allCases {
            let sae = try randomSAE(arch, k: arch == .topk ? 6 : nil, normalize: .layerNorm)
            let x = randomMatrix(5, 16, seed: 3)
            for edit in [SteeringEdit(feature: 2, method: .add, magnitude: 0),
                         SteeringEdit(feature: 2, method: .scale, magnitude: 1)] {
                var y = x
                let result = try sae.apply(edit, to: &y)
                #expect(y == x)
                #expect(result.before == result.after)
            }
            // clamp to the current activation, row by row
            for r in 0..<5 {
                var y = Matrix(rows: 1, cols: 16, values: x.row(r))
                let current = sae.encode(y)[0, 7]
                try sae.apply(SteeringEdit(feature: 7, method: .clamp, magnitude: current), to: &y)
                #expect(y.values == x.row(r))
            }
        }
    }

    @Test func clampReachesTheTargetForALinearEncoderWithTiedWeights() throws {
        // W_enc = W_decᵀ with orthonormal rows: re-encoding x′ gives exactly the clamped value.
        let cfg = SAEConfiguration(architecture: .standard, dIn: 2, dSae: 2, layer: 0)
        let sae = try SparseAutoencoder(configuration: cfg, encoderWeights: Matrix(rows: 2, cols: 2, values: [1, 0, 0, 1]),
                                        encoderBias: [0, 0], decoderWeights: Matrix(rows: 2, cols: 2, values: [1, 0, 0, 1]),
                                        decoderBias: [0, 0])
        var x = Matrix(rows: 1, cols: 2, values: [0.5, 2])
        let r = try sae.apply(SteeringEdit(feature: 0, method: .clamp, magnitude: 7), to: &x)
        #expect(r.before == [0.5] && r.after == [7])
        #expect(x.values == [7, 2])
    }

    @Test func magnitudeInMaxActivations() {
        #expect(SteeringEdit(feature: 1, method: .clamp, magnitudeInMaxActivations: 2.5, maxActivation: 4).magnitude == 10)
        #expect(SteeringEdit(feature: 1, method: .scale, magnitudeInMaxActivations: 2.5, maxActivation: 4).magnitude == 2.5)
    }

    @Test func featureOutOfRangeIsAnError() throws {
        let sae = try tinySAE(.standard)
        var x = Matrix(rows: 1, cols: 2, values: [1, 1])
        #expect(throws: SAEError.featureOutOfRange(feature: 3, dSae: 3)) {
            try sae.apply(SteeringEdit(feature: 3, method: .clamp, magnitude: 1), to: &x)
        }
        #expect(throws: SAEError.self) { try SteeringHook(sae: sae, edits: [nil, SteeringEdit(feature: -1, method: .add, magnitude: 1)]) }
    }

    @Test func steeringHookEditsOnlyItsSequencesAndPositions() throws {
        let sae = try randomSAE(.standard)
        let d = 16
        // Rows: seq 0 (baseline) prompt, seq 1 prompt, seq 1 generated, seq 2 generated.
        let sequence = [0, 1, 1, 2], isPrompt = [true, true, false, false]
        let x = randomMatrix(4, d, seed: 8)
        var buffer = x.values
        let clampEdit = SteeringEdit(feature: 4, method: .clamp, magnitude: 6, positions: .generated)
        let addEdit = SteeringEdit(feature: 9, method: .add, magnitude: 2, positions: .all)
        let hook = try SteeringHook(sae: sae, edits: [nil, clampEdit, addEdit])
        #expect(hook.layer == 2)
        buffer.withUnsafeMutableBufferPointer { p in
            hook.apply(ResidualRows(values: p.baseAddress!, count: 4, dModel: d, sequence: sequence,
                                    position: [0, 0, 1, 1], isPrompt: isPrompt))
        }
        let out = Matrix(rows: 4, cols: d, values: buffer)
        #expect(out.row(0) == x.row(0))            // baseline
        #expect(out.row(1) == x.row(1))            // prompt row of a generated-only edit
        var expected2 = Matrix(rows: 1, cols: d, values: x.row(2))
        let r2 = try sae.apply(clampEdit, to: &expected2)
        #expect(out.row(2) == expected2.values)
        var expected3 = Matrix(rows: 1, cols: d, values: x.row(3))
        let r3 = try sae.apply(addEdit, to: &expected3)
        #expect(out.row(3) == expected3.values)
        #expect(hook.activationBefore(sequence: 0) == nil)
        #expect(hook.activationBefore(sequence: 1) == r2.before[0])
        #expect(hook.activationAfter(sequence: 1) == r2.after[0])
        #expect(hook.activationAfter(sequence: 2) == r3.after[0])
        #expect(hook.editedPositions(sequence: 1) == 1)
    }
}
