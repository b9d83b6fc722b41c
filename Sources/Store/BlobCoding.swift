import Foundation

/// Encodes vectors and token ids as BLOBs: little-endian Float32 / Int32, 4 bytes per element, no header.
/// (Not JSON: a 384-float embedding is 1,536 bytes instead of ~4 kB of text, and decodes without parsing.)
public enum BlobCoding {
    /// Little-endian Float32 bytes of `values`.
    public static func encode(floats values: [Float]) -> Data {
        var data = Data(count: values.count * 4)
        data.withUnsafeMutableBytes { raw in
            for (i, v) in values.enumerated() { raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: i * 4, as: UInt32.self) }
        }
        return data
    }

    /// Decodes little-endian Float32 bytes; nil when the byte count is not a multiple of 4.
    public static func decodeFloats(_ data: Data) -> [Float]? {
        guard data.count % 4 == 0 else { return nil }
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }

    /// Little-endian Int32 bytes of `values`.
    public static func encode(int32s values: [Int32]) -> Data {
        var data = Data(count: values.count * 4)
        data.withUnsafeMutableBytes { raw in
            for (i, v) in values.enumerated() { raw.storeBytes(of: v.littleEndian, toByteOffset: i * 4, as: Int32.self) }
        }
        return data
    }

    /// Decodes little-endian Int32 bytes; nil when the byte count is not a multiple of 4.
    public static func decodeInt32s(_ data: Data) -> [Int32]? {
        guard data.count % 4 == 0 else { return nil }
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 4)).map { Int32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) }
        }
    }
}
