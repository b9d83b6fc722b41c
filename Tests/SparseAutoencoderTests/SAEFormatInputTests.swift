import Randomness
import Foundation
import ModelFormats
import Testing
import Tensor
@testable import SparseAutoencoder

/// A stored (uncompressed) `.npz` written by hand, as numpy's `savez` lays it out: one `NAME.npy` member per array.
func writeNPZ(_ arrays: [(name: String, shape: [Int], values: [Float])], to path: String) throws {
    func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = (c >> 1) ^ (c & 1 == 1 ? 0xEDB8_8320 : 0) }
        }
        return ~c
    }
    func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
    func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
    var out: [UInt8] = [], central: [UInt8] = []
    for a in arrays {
        let shape = a.shape.count == 1 ? "(\(a.shape[0]),)" : "(" + a.shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var member: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0] + le16(header.utf8.count) + Array(header.utf8)
        for v in a.values { member += le32(v.bitPattern) }
        let name = Array((a.name + ".npy").utf8)
        let crc = crc32(member), offset = UInt32(out.count)
        out += le32(0x0403_4B50) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(crc)
            + le32(UInt32(member.count)) + le32(UInt32(member.count)) + le16(name.count) + le16(0) + name + member
        central += le32(0x0201_4B50) + le16(20) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(crc)
            + le32(UInt32(member.count)) + le32(UInt32(member.count)) + le16(name.count) + le16(0) + le16(0)
            + le16(0) + le16(0) + le32(0) + le32(offset) + name
    }
    let directoryOffset = UInt32(out.count)
    out += central
    out += le32(0x0605_4B50) + le16(0) + le16(0) + le16(arrays.count) + le16(arrays.count) + le32(UInt32(central.count))
        + le32(directoryOffset) + le16(0)
    try Data(out).write(to: URL(fileURLWithPath: path))
}

/// Gemma Scope–style arrays with d_in = 4, d_sae = 3.
func gemmaArrays(seed: UInt64 = 7) -> [(name: String, shape: [Int], values: [Float])] {
    var rng = SplitMix64(seed: seed)
    func g(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.nextGaussian()) } }
    return [("w_enc", [4, 3], g(12)), ("w_dec", [3, 4], g(12)), ("b_enc", [3], g(3)), ("b_dec", [4], g(4)),
            ("threshold", [3], g(3).map { abs($0) * 0.1 })]
}

func folder(_ relative: String, name: String = #function) throws -> URL {
    let dir = temporaryDirectory(name).appendingPathComponent(relative)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

func loadMessage(_ dir: URL, hook: String? = nil, read: Bool = false) -> String {
    do {
        _ = read ? try SparseAutoencoder.read(directory: dir.path, hook: hook) : try SparseAutoencoder.load(directory: dir.path, hook: hook)
        return "loaded"
    } catch { return error.localizedDescription }
}

@Suite struct GemmaScopeInputTests {
    @Test func computesJumpReLUWithoutBDecSubtraction() throws {
        let dir = try folder("gemma-scope-9b-it-res/layer_3/width_16k/average_l0_10")
        let arrays = gemmaArrays()
        try writeNPZ(arrays, to: dir.appendingPathComponent("params.npz").path)
        let sae = try SparseAutoencoder.load(directory: dir.path)
        #expect(sae.configuration.hookName == "blocks.3.hook_resid_post" && sae.configuration.layer == 3)
        #expect(sae.configuration.modelName == "gemma-2-9b-it")
        // By hand: pre = x·W_enc + b_enc (no b_dec subtraction), a = pre·1[pre > θ].
        let x: [Float] = [0.5, -1, 2, 0.25]
        let a = sae.encode(Matrix(rows: 1, cols: 4, values: x))
        for j in 0..<3 {
            var pre = Double(arrays[2].values[j])
            for i in 0..<4 { pre += Double(x[i]) * Double(arrays[0].values[i * 3 + j]) }
            let expected = pre > Double(arrays[4].values[j]) && pre > 0 ? pre : 0
            #expect(abs(Double(a[0, j]) - expected) < 1e-5)
        }
    }

    @Test func mlpReleasesGiveHookMLPOutAndAreSteerable() throws {
        let dir = try folder("gemma-scope-2b-pt-mlp/layer_5/width_16k/average_l0_10")
        try writeNPZ(gemmaArrays(), to: dir.appendingPathComponent("params.npz").path)
        let sae = try SparseAutoencoder.load(directory: dir.path)
        #expect(sae.configuration.hookName == "blocks.5.hook_mlp_out" && sae.configuration.isSteerableHook)
        #expect(sae.configuration.modelHook?.site == .mlpOut && sae.configuration.modelHook?.layer == 5 && sae.configuration.layer == 5)
        try sae.check(modelWidth: 4, layerCount: 10)
        // Block 5 does not exist in a 5-block model.
        #expect(throws: SAEError.self) { try sae.check(modelWidth: 4, layerCount: 5) }
    }

    @Test func attentionReleasesAreReadButNotSteerable() throws {
        let dir = try folder("gemma-scope-2b-pt-att/layer_5/width_16k/average_l0_10")
        try writeNPZ(gemmaArrays(), to: dir.appendingPathComponent("params.npz").path)
        let sae = try SparseAutoencoder.read(directory: dir.path)
        #expect(sae.configuration.hookName == "blocks.5.attn.hook_z" && !sae.configuration.isSteerableHook)
        let message = loadMessage(dir)
        #expect(message.contains("params.npz") && message.contains("blocks.5.attn.hook_z"), "\(message)")
        #expect(throws: SAEError.self) { try sae.check(modelWidth: 4, layerCount: 10) }
    }

    @Test func blockZeroResidPreIsTheEmbeddings() throws {
        let dir = try folder("downloads/embedding-sae")
        try writeNPZ(gemmaArrays(), to: dir.appendingPathComponent("params.npz").path)
        let sae = try SparseAutoencoder.load(directory: dir.path, hook: "blocks.0.hook_resid_pre")
        #expect(sae.configuration.layer == -1 && sae.configuration.modelHook?.site == .residPost)
        try sae.check(modelWidth: 4, layerCount: 10)
    }

    @Test func theHookComesFromHookWhenFolderNamesSayNothing() throws {
        let dir = try folder("downloads/my-sae")
        try writeNPZ(gemmaArrays(), to: dir.appendingPathComponent("params.npz").path)
        let message = loadMessage(dir)
        #expect(message.contains("params.npz") && message.contains("--hook"), "\(message)")
        let sae = try SparseAutoencoder.load(directory: dir.path, hook: "blocks.2.hook_resid_post")
        #expect(sae.configuration.layer == 2 && sae.source?.hookField == "--hook")
        // --hook also overrides the folder names.
        let named = try folder("gemma-scope-2b-pt-res/layer_20/width_16k/average_l0_71")
        try writeNPZ(gemmaArrays(), to: named.appendingPathComponent("params.npz").path)
        #expect(try SparseAutoencoder.load(directory: named.path, hook: "blocks.7.hook_resid_pre").configuration.layer == 6)
        #expect(loadMessage(named, hook: "resid7").contains("--hook"))
    }

    @Test func badArraysAreNamed() throws {
        let base = gemmaArrays()
        let cases: [(String, [(name: String, shape: [Int], values: [Float])], [String])] = [
            ("nothreshold", base.filter { $0.name != "threshold" }, ["missing tensor 'threshold'"]),
            ("shape", base.map { $0.name == "b_dec" ? ($0.name, [3], Array($0.values.prefix(3))) : $0 }, ["'b_dec'", "[3]", "[4]"]),
            ("nan", base.map { $0.name == "w_dec" ? ($0.name, $0.shape, [.nan] + $0.values.dropFirst()) : $0 }, ["'w_dec'", "NaN"]),
            ("inf", base.map { $0.name == "b_enc" ? ($0.name, $0.shape, [.infinity] + $0.values.dropFirst()) : $0 }, ["'b_enc'", "infinity"]),
            ("extra", base + [("W_skip", [4, 4], [Float](repeating: 0, count: 16))], ["'W_skip'"]),
        ]
        for (label, arrays, needles) in cases {
            let dir = try folder("gemma-scope-2b-pt-res/layer_1/width_16k/\(label)", name: label)
            try writeNPZ(arrays, to: dir.appendingPathComponent("params.npz").path)
            let message = loadMessage(dir)
            #expect(message.contains("params.npz") && needles.allSatisfy(message.contains), "\(label): \(message)")
        }
    }

    func gemmaScope2(_ relative: String, config: String?, tensors: [SafetensorsWriter.Tensor]? = nil, name: String = #function) throws -> URL {
        let dir = try folder(relative, name: name)
        let t = (tensors ?? gemmaArrays().map { SafetensorsWriter.Tensor(name: $0.name, shape: $0.shape, values: $0.values) })
        try SafetensorsWriter.write(t, to: dir.appendingPathComponent("params.safetensors").path)
        if let config { try Data(config.utf8).write(to: dir.appendingPathComponent("config.json")) }
        return dir
    }

    @Test func gemmaScope2HooksFromConfigOrFolders() throws {
        let withConfig = try gemmaScope2("downloads/sae-9",
                                         config: #"{"architecture": "jump_relu", "hf_hook_point_in": "model.layers.9.output", "width": 3}"#)
        #expect(try SparseAutoencoder.load(directory: withConfig.path).configuration.hookName == "blocks.9.hook_resid_post")
        let disagreeing = try gemmaScope2("gemma-scope-2-1b-it/mlp_out/layer_4_width_16k_l0_small",
                                          config: #"{"architecture": "jump_relu", "hf_hook_point_in": "model.layers.9.output"}"#, name: "disagree")
        let message = loadMessage(disagreeing)
        #expect(message.contains("config.json") && message.contains("hf_hook_point_in") && message.contains("mlp_out/layer_4"), "\(message)")
        let noConfig = try gemmaScope2("gemma-scope-2-1b-it/resid_post/layer_4_width_16k_l0_small", config: nil, name: "noconfig")
        let sae = try SparseAutoencoder.load(directory: noConfig.path)
        #expect(sae.configuration.hookName == "blocks.4.hook_resid_post" && sae.source?.hookField == "folder names")
        #expect(sae.configuration.modelName == "google/gemma-3-1b-it" && sae.source?.release == "gemma-scope-2-1b-it")
        let mlp = try gemmaScope2("gemma-scope-2-1b-it/mlp_out/layer_4_width_16k_l0_small", config: nil, name: "mlp")
        #expect(try SparseAutoencoder.read(directory: mlp.path).configuration.hookName == "blocks.4.hook_mlp_out")
    }

    @Test func gemmaScope2BadInputIsNamed() throws {
        let cases: [(String, String?, [SafetensorsWriter.Tensor]?, [String])] = [
            ("arch", #"{"architecture": "topk", "hf_hook_point_in": "model.layers.1.output"}"#, nil, ["config.json", "architecture", "topk"]),
            ("hook", #"{"architecture": "jump_relu", "hf_hook_point_in": "model.norm.output"}"#, nil, ["config.json", "hf_hook_point_in", "model.norm.output"]),
            ("transcoder", #"{"architecture": "jump_relu", "hf_hook_point_in": "model.layers.1.pre_feedforward_layernorm.output", "hf_hook_point_out": "model.layers.1.post_feedforward_layernorm.output"}"#, nil, ["hf_hook_point_out"]),
            ("width", #"{"architecture": "jump_relu", "hf_hook_point_in": "model.layers.1.output", "width": 16384}"#, nil, ["params.safetensors", "'w_enc'", "16384"]),
            ("nothreshold", #"{"architecture": "jump_relu", "hf_hook_point_in": "model.layers.1.output"}"#,
             gemmaArrays().filter { $0.name != "threshold" }.map { .init(name: $0.name, shape: $0.shape, values: $0.values) }, ["params.safetensors", "'threshold'"]),
            ("badjson", #"{"architecture": 5}"#, nil, ["config.json", "architecture"]),
        ]
        for (label, config, tensors, needles) in cases {
            let dir = try gemmaScope2("gemma-scope-2-270m-pt/resid_post/layer_1_width_16k_l0_small_\(label)", config: config, tensors: tensors, name: label)
            let message = loadMessage(dir)
            #expect(needles.allSatisfy(message.contains), "\(label): \(message)")
        }
    }
}

@Suite struct SAELensSettingsTests {
    static let v6 = """
    {"architecture": "standard", "d_in": 2, "d_sae": 3, "dtype": "float32", "apply_b_dec_to_input": true,
     "normalize_activations": "none", "reshape_activations": "none",
     "metadata": {"sae_lens_version": "6.54.12", "hook_name": "blocks.4.hook_resid_post", "hook_head_index": null}}
    """

    func message(_ cfg: String, _ tensors: [SafetensorsWriter.Tensor] = tinyTensors(), name: String = #function) throws -> String {
        loadMessage(URL(fileURLWithPath: try writeSAEDirectory(cfg: cfg, tensors: tensors, name: name)))
    }

    @Test(arguments: [
        ("\"reshape_activations\": \"none\"", "\"reshape_activations\": \"hook_z\"", "reshape_activations"),
        ("\"hook_head_index\": null", "\"hook_head_index\": 3", "hook_head_index"),
        ("\"hook_head_index\": null", "\"hook_head_index\": null, \"model_from_pretrained_kwargs\": {\"center_writing_weights\": true}", "center_writing_weights"),
        ("\"hook_head_index\": null", "\"hook_head_index\": null, \"model_from_pretrained_kwargs\": {\"first_n_layers\": 4}", "first_n_layers"),
        ("\"architecture\": \"standard\"", "\"architecture\": \"transcoder\"", "transcoder"),
        ("\"architecture\": \"standard\"", "\"architecture\": \"standard\", \"rescale_acts_by_decoder_norm\": true", "rescale_acts_by_decoder_norm"),
        ("\"dtype\": \"float32\"", "\"dtype\": \"int8\"", "dtype"),
        ("\"normalize_activations\": \"none\"", "\"normalize_activations\": \"none\", \"norm_scaling_factor\": 2", "norm_scaling_factor"),
    ])
    func settingsSemprogCannotHonourAreRefusedByName(original: String, replacement: String, key: String) throws {
        let cfg = Self.v6.replacingOccurrences(of: original, with: replacement)
        #expect(cfg != Self.v6)
        let m = try message(cfg, name: "refuse\(key)")
        #expect(m.contains("cfg.json") && m.contains(key), "\(m)")
    }

    @Test func acceptedKwargsLoad() throws {
        let cfg = Self.v6.replacingOccurrences(of: "\"hook_head_index\": null", with: "\"hook_head_index\": null, \"model_from_pretrained_kwargs\": {\"center_writing_weights\": false, \"fold_ln\": true}")
        #expect(try message(cfg) == "loaded")
    }

    @Test func expectedAverageOnlyInFoldsItsScalingFactor() throws {
        // With s folded (W_enc·s, W_dec/s, b_dec/s) the SAE computes on s·x: pre = (s·x − b_dec)·W_enc + b_enc,
        // x̂ = (a·W_dec + b_dec)/s.
        let s: Float = 2.5
        let cfg = Self.v6.replacingOccurrences(of: "\"normalize_activations\": \"none\"",
                                               with: "\"normalize_activations\": \"expected_average_only_in\", \"norm_scaling_factor\": 2.5")
        let sae = try SparseAutoencoder.load(directory: try writeSAEDirectory(cfg: cfg, tensors: tinyTensors()))
        let plain = try SparseAutoencoder.load(directory: try writeSAEDirectory(cfg: Self.v6, tensors: tinyTensors(), name: "plain"))
        let x = Matrix(rows: 1, cols: 2, values: [0.7, -0.3])
        let scaled = Matrix(rows: 1, cols: 2, values: x.values.map { $0 * s })
        let a = sae.encode(x), expected = plain.encode(scaled)
        #expect(zip(a.values, expected.values).allSatisfy { abs($0 - $1) < 1e-5 } && expected.values.contains { $0 > 0 })
        let y = sae.reconstruct(x), yExpected = plain.reconstruct(scaled).values.map { $0 / s }
        #expect(zip(y.values, yExpected).allSatisfy { abs($0 - $1) < 1e-5 })
        // Without the factor, as SAE.load_from_disk: the identity.
        let identity = try SparseAutoencoder.load(directory: try writeSAEDirectory(
            cfg: Self.v6.replacingOccurrences(of: "\"none\", \"reshape", with: "\"expected_average_only_in\", \"reshape"), tensors: tinyTensors(), name: "identity"))
        #expect(identity.configuration.normalizeActivations == .expectedAverageOnlyIn)
        #expect(identity.encode(x) == plain.encode(x))
    }

    @Test func pre6BooleanNormalisationMeansExpectedAverage() throws {
        let cfg = legacyJumpReLU.replacingOccurrences(of: "\"normalize_activations\": \"layer_norm\"", with: "\"normalize_activations\": true")
        let sae = try SparseAutoencoder.load(directory: try writeSAEDirectory(cfg: cfg, tensors: tinyTensors(threshold: [0.1, 0.2, 0.3])))
        #expect(sae.configuration.normalizeActivations == .expectedAverageOnlyIn && sae.source?.format == .saeLensPre6)
    }

    @Test func batchTopKTrainingFormLoadsAsItsJumpReLUInferenceForm() throws {
        let cfg = Self.v6.replacingOccurrences(of: "\"standard\"", with: "\"batchtopk\"")
        let sae = try SparseAutoencoder.load(directory: try writeSAEDirectory(
            cfg: cfg, tensors: tinyTensors() + [.init(name: "topk_threshold", shape: [], values: [0.05])]))
        #expect(sae.configuration.architecture == .jumprelu && sae.configuration.declaredArchitecture == "batchtopk")
        #expect(sae.threshold == [0.05, 0.05, 0.05])
        let jump = try SparseAutoencoder.load(directory: try writeSAEDirectory(
            cfg: cfg.replacingOccurrences(of: "\"batchtopk\"", with: "\"jumprelu\""), tensors: tinyTensors(threshold: [0.05, 0.05, 0.05]), name: "jump"))
        let x = randomMatrix(4, 2, seed: 3)
        #expect(sae.encode(x) == jump.encode(x))
        let missing = try message(cfg.replacingOccurrences(of: "\"batchtopk\"", with: "\"matryoshka_batchtopk\""), name: "missing")
        #expect(missing.contains("'topk_threshold'"), "\(missing)")
    }

    @Test func gatedBadInputIsNamed() throws {
        let cfg = Self.v6.replacingOccurrences(of: "\"standard\"", with: "\"gated\"")
        var t = tinyTensors().filter { $0.name != "b_enc" }
        t += [.init(name: "b_mag", shape: [3], values: [0, 0.1, 0.2]), .init(name: "r_mag", shape: [3], values: [0, 0, 0])]
        let noGate = try message(cfg, t, name: "nogate")
        #expect(noGate.contains("sae_weights.safetensors") && noGate.contains("'b_gate'"), "\(noGate)")
        let withBEnc = try message(cfg, t + [.init(name: "b_gate", shape: [3], values: [0, 0, 0]), .init(name: "b_enc", shape: [3], values: [0, 0, 0])], name: "benc")
        #expect(withBEnc.contains("unexpected tensor 'b_enc'"), "\(withBEnc)")
        let nan = try message(cfg, t + [.init(name: "b_gate", shape: [3], values: [0, .nan, 0])], name: "nan")
        #expect(nan.contains("'b_gate'") && nan.contains("NaN"), "\(nan)")
    }

    @Test func gatedByHand() throws {
        // W_enc = [[1, 0, 1], [0, 1, 1]], b_dec = [0, 0]; x = [2, 1]: x·W_enc = [2, 1, 3].
        let cfg = Self.v6.replacingOccurrences(of: "\"standard\"", with: "\"gated\"")
        let t: [SafetensorsWriter.Tensor] = [
            .init(name: "W_enc", shape: [2, 3], values: [1, 0, 1, 0, 1, 1]), .init(name: "W_dec", shape: [3, 2], values: [1, 0, 0, 1, 1, 1]),
            .init(name: "b_dec", shape: [2], values: [0, 0]), .init(name: "b_gate", shape: [3], values: [-2.5, 0, -2]),
            .init(name: "b_mag", shape: [3], values: [0.5, 0, -10]), .init(name: "r_mag", shape: [3], values: [0, Float(log(2.0)), 0]),
        ]
        let sae = try SparseAutoencoder.load(directory: try writeSAEDirectory(cfg: cfg, tensors: t))
        // gate = [−0.5, 1, 1] → open for 1, 2; magnitude = [2.5, 2, −7] → ReLU [2.5, 2, 0]; a = [0, 2, 0].
        let a = sae.encode(Matrix(rows: 1, cols: 2, values: [2, 1]))
        #expect(abs(a[0, 0]) == 0 && abs(a[0, 1] - 2) < 1e-6 && a[0, 2] == 0)
        // The round trip through save keeps the gated parameters.
        let out = temporaryDirectory().appendingPathComponent("gated").path
        try sae.save(to: out, sparsity: nil)
        let back = try SparseAutoencoder.load(directory: out)
        #expect(back.gate == sae.gate && back.encoderBias == sae.encoderBias && back.encode(Matrix(rows: 1, cols: 2, values: [2, 1])) == a)
    }
}

@Suite struct SparsifyInputTests {
    static let cfg = #"{"activation": "topk", "expansion_factor": 32, "normalize_decoder": true, "num_latents": 5, "k": 2, "multi_topk": false, "skip_connection": false, "transcode": false, "d_in": 3}"#

    func sparsify(cfg: String = cfg, folder relative: String = "sae-llama/layers.7", tensors: [SafetensorsWriter.Tensor]? = nil, name: String = #function) throws -> (URL, [SafetensorsWriter.Tensor]) {
        var rng = SplitMix64(seed: 11)
        func g(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.nextGaussian()) } }
        let t = tensors ?? [.init(name: "encoder.weight", shape: [5, 3], values: g(15)), .init(name: "encoder.bias", shape: [5], values: g(5)),
                            .init(name: "W_dec", shape: [5, 3], values: g(15)), .init(name: "b_dec", shape: [3], values: g(3))]
        let dir = try folder(relative, name: name)
        try Data(cfg.utf8).write(to: dir.appendingPathComponent("cfg.json"))
        try SafetensorsWriter.write(t, to: dir.appendingPathComponent("sae.safetensors").path)
        return (dir, t)
    }

    @Test func computesWhatSparsifyComputes() throws {
        let (dir, t) = try sparsify()
        let sae = try SparseAutoencoder.load(directory: dir.path)
        #expect(sae.source?.format == .sparsify && sae.configuration.hookName == "blocks.7.hook_resid_post")
        #expect(sae.configuration.architecture == .topk && sae.configuration.k == 2 && sae.configuration.dSae == 5)
        let enc = t[0].values, bias = t[1].values, wDec = t[2].values, bDec = t[3].values
        let xs = randomMatrix(6, 3, seed: 5, scale: 2)
        let a = sae.encode(xs), y = sae.reconstruct(xs)
        for r in 0..<6 {
            // sparsify: pre = ReLU((x − b_dec)·encoder.weightᵀ + encoder.bias); keep the top k; x̂ = a·W_dec + b_dec.
            var pre = [Double](repeating: 0, count: 5)
            for i in 0..<5 {
                var v = Double(bias[i])
                for j in 0..<3 { v += (Double(xs[r, j]) - Double(bDec[j])) * Double(enc[i * 3 + j]) }
                pre[i] = max(v, 0)
            }
            let top = Set(pre.indices.sorted { pre[$0] > pre[$1] }.prefix(2))
            for i in 0..<5 {
                let expected = top.contains(i) ? pre[i] : 0
                #expect(abs(Double(a[r, i]) - expected) < 1e-5, "row \(r) latent \(i)")
            }
            for j in 0..<3 {
                var v = Double(bDec[j])
                for i in top { v += pre[i] * Double(wDec[i * 3 + j]) }
                #expect(abs(Double(y[r, j]) - v) < 1e-4)
            }
        }
    }

    @Test func folderNamesGiveTheHook() throws {
        #expect(try SparseAutoencoder.read(directory: try sparsify(folder: "x/layers.3.mlp", name: "mlp").0.path).configuration.hookName == "blocks.3.hook_mlp_out")
        let odd = try sparsify(folder: "x/my_sae", name: "odd").0
        #expect(loadMessage(odd).contains("--hook"))
        #expect(try SparseAutoencoder.load(directory: odd.path, hook: "blocks.1.hook_resid_post").configuration.layer == 1)
    }

    @Test func badInputIsNamed() throws {
        let cases: [(String, String, [SafetensorsWriter.Tensor]?, [String])] = [
            ("groupmax", Self.cfg.replacingOccurrences(of: "\"topk\"", with: "\"groupmax\""), nil, ["cfg.json", "activation", "groupmax"]),
            ("transcode", Self.cfg.replacingOccurrences(of: "\"transcode\": false", with: "\"transcode\": true"), nil, ["cfg.json", "transcode"]),
            ("skip", Self.cfg.replacingOccurrences(of: "\"skip_connection\": false", with: "\"skip_connection\": true"), nil, ["cfg.json", "skip_connection"]),
            ("k", Self.cfg.replacingOccurrences(of: "\"k\": 2", with: "\"k\": 9"), nil, ["cfg.json", "'k'"]),
            ("nokey", Self.cfg.replacingOccurrences(of: ", \"d_in\": 3", with: ""), nil, ["cfg.json", "d_in"]),
            ("shape", Self.cfg, [.init(name: "encoder.weight", shape: [3, 5], values: [Float](repeating: 0.1, count: 15)),
                                  .init(name: "encoder.bias", shape: [5], values: [0, 0, 0, 0, 0]),
                                  .init(name: "W_dec", shape: [5, 3], values: [Float](repeating: 0.1, count: 15)),
                                  .init(name: "b_dec", shape: [3], values: [0, 0, 0])], ["sae.safetensors", "'encoder.weight'", "[5, 3]"]),
            ("skipweights", Self.cfg, [.init(name: "encoder.weight", shape: [5, 3], values: [Float](repeating: 0.1, count: 15)),
                                        .init(name: "encoder.bias", shape: [5], values: [0, 0, 0, 0, 0]),
                                        .init(name: "W_dec", shape: [5, 3], values: [Float](repeating: 0.1, count: 15)),
                                        .init(name: "W_skip", shape: [3, 3], values: [Float](repeating: 0, count: 9)),
                                        .init(name: "b_dec", shape: [3], values: [0, 0, 0])], ["sae.safetensors", "'W_skip'"]),
            ("nan", Self.cfg, [.init(name: "encoder.weight", shape: [5, 3], values: [.nan] + [Float](repeating: 0.1, count: 14)),
                                .init(name: "encoder.bias", shape: [5], values: [0, 0, 0, 0, 0]),
                                .init(name: "W_dec", shape: [5, 3], values: [Float](repeating: 0.1, count: 15)),
                                .init(name: "b_dec", shape: [3], values: [0, 0, 0])], ["sae.safetensors", "'encoder.weight'", "NaN"]),
        ]
        for (label, cfg, tensors, needles) in cases {
            let (dir, _) = try sparsify(cfg: cfg, folder: "eai/\(label)/layers.2", tensors: tensors, name: label)
            let message = loadMessage(dir)
            #expect(needles.allSatisfy(message.contains), "\(label): \(message)")
        }
    }
}

@Suite struct WrittenConfigurationTests {
    /// What SAELens 6 needs to read a semprog-trained SAE as meant (`handle_config_defaulting`, `SAEMetadata`).
    @Test func cfgJsonHasTheFieldsSAELens6Expects() throws {
        let sae = try randomSAE(.topk, k: 4)
        let dir = temporaryDirectory().appendingPathComponent("sae").path
        try sae.save(to: dir, sparsity: nil)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/cfg.json"))) as! [String: Any]
        let metadata = try #require(json["metadata"] as? [String: Any])
        let version = try #require(metadata["sae_lens_version"] as? String)
        #expect((Int(version.split(separator: ".")[0]) ?? 0) >= 6)
        #expect(metadata["hook_name"] as? String == "blocks.2.hook_resid_post")
        #expect(metadata["prepend_bos"] as? Bool == false)
        #expect(metadata["model_class_name"] as? String == "HookedTransformer")
        #expect(metadata.keys.contains("hook_head_index") && metadata["hook_head_index"] is NSNull)
        #expect((metadata["model_from_pretrained_kwargs"] as? [String: Any])?.isEmpty == true)
        for key in ["architecture", "d_in", "d_sae", "dtype", "device", "apply_b_dec_to_input", "normalize_activations", "reshape_activations", "k", "rescale_acts_by_decoder_norm"] {
            #expect(json[key] != nil, "\(key)")
        }
        #expect(json["rescale_acts_by_decoder_norm"] as? Bool == false)
        // And it reads back as a v6 file.
        #expect(try SparseAutoencoder.load(directory: dir).source?.format == .saeLens)
    }

    /// A released SAE written back by semprog computes the same (the folded rescale written as plain topk, the
    /// gated parameters kept): SAELens' activations of the fixture from the re-read copy.
    @Test(arguments: ["saelens-topk-rescaled", "saelens-gated", "gemma-scope-2b-pt-res/layer_6/width_16k/average_l0_20"])
    func writtenCopiesComputeTheSame(name: String) throws {
        let source = SAEReleaseFormatTests.fixtures.appendingPathComponent(name)
        let sae = try SparseAutoencoder.load(directory: source.path)
        let copy = temporaryDirectory("written" + name.filter(\.isLetter)).appendingPathComponent(URL(fileURLWithPath: name).lastPathComponent)
        try sae.save(to: copy.path, sparsity: nil)
        let expected = name.hasPrefix("gemma") ? SAEReleaseFormatTests.extra.appendingPathComponent("gemma-scope-1.expected.json").path
            : source.path + ".expected.json"
        try FileManager.default.copyItem(atPath: expected, toPath: copy.path + ".expected.json")
        let back = try SAEReleaseFormatTests.compare(directory: copy)
        #expect(back.source?.format == .saeLens && back.configuration.architecture == sae.configuration.architecture)
        #expect(!back.configuration.rescaleActsByDecoderNorm)
    }
}
