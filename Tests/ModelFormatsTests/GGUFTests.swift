import Randomness
import Testing
import Foundation
import Tensor
@testable import ModelFormats

/// A small valid GGUF with every metadata value type and tensors of several ggml types.
func sampleGGUF(seed: UInt64 = 1) -> (data: Data, values: [String: [Float]]) {
    var rng = SplitMix64(seed: seed)
    func random(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.nextGaussian()) } }
    var w = GGUFWriter()
    w.set("general.architecture", .string("llama"))
    w.set("u8", .uint8(200)); w.set("i8", .int8(-5)); w.set("u16", .uint16(60000)); w.set("i16", .int16(-300))
    w.set("u32", .uint32(4_000_000_000)); w.set("i32", .int32(-70000)); w.set("f32", .float32(1.5)); w.set("bool", .bool(true))
    w.set("u64", .uint64(1 << 40)); w.set("i64", .int64(-(1 << 40))); w.set("f64", .float64(-2.25))
    w.set("strings", .array([.string("a"), .string("ünï"), .string("")]))
    w.set("ints", .array([.int32(1), .int32(-2), .int32(3)]))
    w.set("nested", .array([.array([.uint8(1)]), .array([.uint8(2), .uint8(3)])]))
    let a = random(4 * 32), b = random(2 * 64), c = random(3 * 32), e = random(5), f = random(32 * 2), g = random(32)
    w.tensors = [
        .init(name: "a.f32", shape: [4, 32], values: a, type: .f32),
        .init(name: "b.q8_0", shape: [2, 64], values: b, type: .q8_0),
        .init(name: "c.q4_1", shape: [3, 32], values: c, type: .q4_1),
        .init(name: "e.f16", shape: [5], values: e, type: .f16),
        .init(name: "f.q4_0", shape: [2, 32], values: f, type: .q4_0),
        .init(name: "g.bf16", shape: [32], values: g, type: .bf16),
    ]
    return (w.encode(), ["a.f32": a, "b.q8_0": b, "c.q4_1": c, "e.f16": e, "f.q4_0": f, "g.bf16": g])
}

@Suite struct GGUFTests {
    @Test func readsEveryMetadataType() throws {
        let file = try GGUFFile(data: sampleGGUF().data, path: "sample.gguf")
        #expect(file.version == 3)
        #expect(file.metadata["u8"] == .uint8(200))
        #expect(file.metadata["i8"] == .int8(-5))
        #expect(file.metadata["u16"] == .uint16(60000))
        #expect(file.metadata["i16"] == .int16(-300))
        #expect(file.metadata["u32"]?.int == 4_000_000_000)
        #expect(file.metadata["i32"]?.int == -70000)
        #expect(file.metadata["f32"]?.double == 1.5)
        #expect(file.metadata["bool"] == .bool(true))
        #expect(file.metadata["u64"]?.int == 1 << 40)
        #expect(file.metadata["i64"]?.int == -(1 << 40))
        #expect(file.metadata["f64"]?.double == -2.25)
        #expect(file.metadata["strings"]?.strings == ["a", "ünï", ""])
        #expect(file.metadata["ints"]?.ints == [1, -2, 3])
        #expect(file.metadata["nested"]?.array?.count == 2)
        #expect(try file.string("general.architecture") == "llama")
        #expect(file.tensorNames == ["a.f32", "b.q8_0", "c.q4_1", "e.f16", "f.q4_0", "g.bf16"])
        #expect(try file.info("b.q8_0").shape == [2, 64])
        #expect(try file.info("b.q8_0").dimensions == [64, 2])
        #expect(file.dataOffset % file.alignment == 0)
    }

    @Test func dequantizesWithinQuantizationError() throws {
        let (data, values) = sampleGGUF()
        let file = try GGUFFile(data: data, path: "sample.gguf")
        // Per-type bound on |x − x̂| relative to the block's range.
        for (name, expected) in values {
            let got = try file.floats(name)
            #expect(got.count == expected.count)
            let range = (expected.max()! - expected.min()!)
            let tolerance: Float = switch try file.info(name).type {
            case .f32: 0
            case .f16: 2e-3 * range
            case .bf16: 1e-2 * range
            case .q8_0: range / 254 + 1e-3
            default: range / 15 + 1e-2
            }
            for (x, y) in zip(got, expected) { #expect(abs(x - y) <= tolerance, "\(name): \(x) vs \(y)") }
        }
        #expect(throws: ModelFormatError.self) { try file.floats("a.f32", shape: [32, 4]) }
        #expect(throws: ModelFormatError.self) { try file.floats("missing") }
    }

    @Test func dequantizesHandWrittenBlocks() {
        // Q4_1 block: d = 0.5, m = −1, nibbles j and 15 − j.
        var q41: [UInt8] = []
        q41 += withUnsafeBytes(of: Float16(0.5).bitPattern.littleEndian, Array.init)
        q41 += withUnsafeBytes(of: Float16(-1).bitPattern.littleEndian, Array.init)
        for j in 0..<16 { q41.append(UInt8(j) | UInt8(15 - j) << 4) }
        var out = [Float](repeating: 0, count: 32)
        q41.withUnsafeBytes { src in out.withUnsafeMutableBufferPointer { GGMLDequantize.dequantize(type: .q4_1, source: src.baseAddress!, count: 32, into: $0.baseAddress!) } }
        for j in 0..<16 {
            #expect(out[j] == 0.5 * Float(j) - 1)
            #expect(out[j + 16] == 0.5 * Float(15 - j) - 1)
        }
        // Q8_0 block: d = 0.25, q = j − 16.
        var q80: [UInt8] = withUnsafeBytes(of: Float16(0.25).bitPattern.littleEndian, Array.init)
        for j in 0..<32 { q80.append(UInt8(bitPattern: Int8(j - 16))) }
        q80.withUnsafeBytes { src in out.withUnsafeMutableBufferPointer { GGMLDequantize.dequantize(type: .q8_0, source: src.baseAddress!, count: 32, into: $0.baseAddress!) } }
        for j in 0..<32 { #expect(out[j] == 0.25 * Float(j - 16)) }
        // Q4_0 block: d = 2, nibble j → 2·(j − 8).
        var q40: [UInt8] = withUnsafeBytes(of: Float16(2).bitPattern.littleEndian, Array.init)
        for j in 0..<16 { q40.append(UInt8(j) | UInt8(j) << 4) }
        q40.withUnsafeBytes { src in out.withUnsafeMutableBufferPointer { GGMLDequantize.dequantize(type: .q4_0, source: src.baseAddress!, count: 32, into: $0.baseAddress!) } }
        for j in 0..<16 { #expect(out[j] == 2 * Float(j - 8)); #expect(out[j + 16] == 2 * Float(j - 8)) }
    }

    @Test func rejectsBadFilesWithNamedErrors() throws {
        let data = sampleGGUF().data
        #expect(throws: ModelFormatError.badMagic(path: "x.gguf", found: "4747554a")) {
            var d = data; d[3] = 0x4A; _ = try GGUFFile(data: d, path: "x.gguf")
        }
        do {
            _ = try GGUFFile(data: data.prefix(data.count - 10), path: "short.gguf")
            Issue.record("truncated data accepted")
        } catch let e as ModelFormatError {
            #expect(e == .offsetOutOfRange(path: "short.gguf", tensor: "g.bf16"))
            #expect(e.localizedDescription.contains("short.gguf"))
        }
        #expect(throws: ModelFormatError.self) { _ = try GGUFFile(data: data.prefix(30), path: "header.gguf") }
        var v = data; v[4] = 9
        #expect(throws: ModelFormatError.unsupportedVersion(path: "v.gguf", version: 9)) { _ = try GGUFFile(data: v, path: "v.gguf") }
        // Unknown tensor type: a file whose only tensor claims type 99.
        var w = GGUFWriter()
        w.tensors = [.init(name: "t", dimensions: [32], type: .f32, bytes: [UInt8](repeating: 0, count: 128))]
        var bad = w.encode()
        let typeOffset = 4 + 4 + 8 + 8 + (8 + 1) + 4 + 8
        bad[typeOffset] = 99
        #expect(throws: ModelFormatError.unsupportedType(path: "t.gguf", tensor: "t", type: "ggml type 99")) { _ = try GGUFFile(data: bad, path: "t.gguf") }
        #expect(throws: ModelFormatError.self) { _ = try GGUFFile(path: "/nonexistent/model.gguf") }
    }

    /// Seeded random corruptions of a valid file: the reader throws a ModelFormatError or returns a file whose
    /// tensors can all be read; it never crashes.
    @Test func fuzzedFilesNeverCrash() throws {
        let original = sampleGGUF().data
        var rng = SplitMix64(seed: 2024)
        var rejected = 0, accepted = 0
        for _ in 0..<1500 {
            var d = original
            switch rng.next() % 4 {
            case 0:  // flip random bytes
                for _ in 0..<(1 + Int(rng.next() % 4)) { let i = Int(rng.next() % UInt64(d.count)); d[i] ^= UInt8(truncatingIfNeeded: rng.next() | 1) }
            case 1:  // truncate
                d = d.prefix(Int(rng.next() % UInt64(d.count)))
            case 2:  // overwrite a u64 with a huge value inside the header
                let i = Int(rng.next() % UInt64(min(d.count, 600) - 8))
                for k in 0..<8 { d[i + k] = 0xFF }
                d[i + 7] = UInt8(truncatingIfNeeded: rng.next() % 128)
            default:  // random bytes in the header region
                let i = Int(rng.next() % 600)
                d[i] = UInt8(truncatingIfNeeded: rng.next())
            }
            do {
                let file = try GGUFFile(data: d, path: "fuzz.gguf")
                for name in file.tensorNames { _ = try? file.floats(name, requireFinite: false) }
                accepted += 1
            } catch let e as ModelFormatError {
                #expect(e.localizedDescription.contains("fuzz.gguf"))
                rejected += 1
            }
        }
        #expect(rejected > 100)
        #expect(accepted + rejected == 1500)
    }
}

@Suite struct SafetensorsFuzzTests {
    @Test func fuzzedSafetensorsNeverCrash() throws {
        let original = try SafetensorsWriter.encode([.init(name: "w", shape: [3, 4], values: (0..<12).map(Float.init)),
                                                     .init(name: "b", shape: [4], values: [1, 2, 3, 4])])
        var rng = SplitMix64(seed: 7)
        var rejected = 0
        for _ in 0..<500 {
            var d = original
            if rng.next() % 2 == 0 {
                d = d.prefix(Int(rng.next() % UInt64(d.count)))
            } else {
                for _ in 0..<3 { let i = Int(rng.next() % UInt64(d.count)); d[i] = UInt8(truncatingIfNeeded: rng.next()) }
            }
            do {
                let f = try SafetensorsFile(data: d, path: "fuzz.safetensors")
                for n in f.tensorNames { _ = try? f.floats(n, requireFinite: false) }
            } catch let e as ModelFormatError {
                #expect(e.localizedDescription.contains("fuzz.safetensors"))
                rejected += 1
            }
        }
        #expect(rejected > 50)
    }
}

/// Corrupted headers get a short message that says what is wrong (a session saw ~1 KB of raw bytes quoted for a
/// corrupted key length, and a changed tensor type id reported as "contains NaN or infinity").
@Suite struct GGUFCorruptionMessageTests {
    /// Byte offset of the length of metadata key #0 (after magic, version, tensor count, metadata count).
    static let firstKeyLength = 4 + 4 + 8 + 8

    @Test func corruptedKeyLengthIsNamedNotQuoted() throws {
        var d = sampleGGUF().data
        // A length of 1,200 bytes still fits in the file, so it used to be read as a 1,200-byte key of garbage.
        d.replaceSubrange(Self.firstKeyLength..<(Self.firstKeyLength + 8), with: withUnsafeBytes(of: UInt64(1200).littleEndian, Array.init))
        do {
            _ = try GGUFFile(data: d, path: "k.gguf")
            Issue.record("accepted")
        } catch {
            let message = error.localizedDescription
            #expect(message.hasPrefix("k.gguf"))
            #expect(message.contains("metadata key #0"), "\(message)")
            #expect(message.count < 240, "short: \(message.count) characters")
            #expect(!message.unicodeScalars.contains { $0.value < 0x20 }, "control bytes are escaped")
        }
        var huge = sampleGGUF().data
        huge.replaceSubrange(Self.firstKeyLength..<(Self.firstKeyLength + 8), with: withUnsafeBytes(of: UInt64(70_000).littleEndian, Array.init))
        #expect(throws: ModelFormatError.self) { _ = try GGUFFile(data: huge, path: "k.gguf") }
    }

    /// A tensor whose type id is changed to another valid type implies another size: the layout check names the
    /// tensor, its type and the mismatch.
    @Test func changedTensorTypeIsReportedAsLayout() throws {
        var w = GGUFWriter()
        w.tensors = [
            .init(name: "first", dimensions: [64], type: .f32, bytes: [UInt8](repeating: 0, count: 256)),
            .init(name: "second", dimensions: [32], type: .f32, bytes: [UInt8](repeating: 0, count: 128)),
        ]
        var bad = w.encode()
        // The type of tensor 'first' (u32 after its name and its single dimension): f32 (0) → f16 (1).
        let typeOffset = 4 + 4 + 8 + 8 + (8 + 5) + 4 + 8
        #expect(bad[typeOffset] == 0)
        bad[typeOffset] = 1
        do {
            _ = try GGUFFile(data: bad, path: "t.gguf")
            Issue.record("accepted a file whose tensors no longer lie end to end")
        } catch {
            let message = error.localizedDescription
            #expect(message.contains("'second'") && message.contains("'first'") && message.contains("type or offset"), "\(message)")
        }
    }

    /// Two tensors at the same offset (one aliasing the other) are refused.
    @Test func overlappingTensorsAreRefused() throws {
        var w = GGUFWriter()
        w.tensors = [
            .init(name: "a", dimensions: [32], type: .f32, bytes: [UInt8](repeating: 0, count: 128)),
            .init(name: "b", dimensions: [32], type: .f32, bytes: [UInt8](repeating: 0, count: 128)),
        ]
        var bad = w.encode()
        // Offset of tensor 'b' (u64 after name, n_dims, dim, type): set it to 0, aliasing 'a'.
        let second = 4 + 4 + 8 + 8 + (8 + 1) + 4 + 8 + 4 + 8
        let offsetB = second + (8 + 1) + 4 + 8 + 4
        #expect(bad[offsetB] == 128)
        bad[offsetB] = 0
        #expect(throws: ModelFormatError.self) { _ = try GGUFFile(data: bad, path: "o.gguf") }
    }
}
