import Testing
import Foundation
@testable import ModelFormats

/// Dequantization of every ggml block type against the `gguf` Python package (fixtures made by
/// scripts/make-dequantization-fixtures.py from random blocks): equal bit for bit.
@Suite struct DequantizationReferenceTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/dequantization").standardized

    static let types: [GGMLType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]

    @Test(arguments: types) func equalsGGUFPackageBitForBit(type: GGMLType) throws {
        let raw = try Data(contentsOf: Self.directory.appendingPathComponent(type.name + ".bin"))
        let expectedBytes = try Data(contentsOf: Self.directory.appendingPathComponent(type.name + ".f32"))
        #expect(raw.count % type.blockBytes == 0)
        let count = raw.count / type.blockBytes * type.blockSize
        #expect(expectedBytes.count == 4 * count)
        var out = [Float](repeating: .nan, count: count)
        raw.withUnsafeBytes { src in
            out.withUnsafeMutableBufferPointer { GGMLDequantize.dequantize(type: type, source: src.baseAddress!, count: count, into: $0.baseAddress!) }
        }
        let expected: [UInt32] = expectedBytes.withUnsafeBytes { b in (0..<count).map { UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)) } }
        let mismatches = (0..<count).filter { out[$0].bitPattern != expected[$0] }
        #expect(mismatches.isEmpty, "\(type.name): \(mismatches.count) of \(count) differ, first at \(mismatches.first ?? -1)")
        // The fixture exercises the format: values are not all equal.
        #expect(Set(expected).count > count / 8)
        #expect(type.isDequantizable)
    }
}
