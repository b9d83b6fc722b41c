import Foundation

/// Writes GGUF v3 files (used to build small models in tests and for exporting). Tensors are given as
/// already-encoded bytes of a ggml type (see `GGMLQuantize`) with ggml dimensions (fastest first).
public struct GGUFWriter {
    public struct Tensor {
        public var name: String
        public var dimensions: [Int]
        public var type: GGMLType
        public var bytes: [UInt8]
        public init(name: String, dimensions: [Int], type: GGMLType, bytes: [UInt8]) {
            self.name = name; self.dimensions = dimensions; self.type = type; self.bytes = bytes
        }
        /// A tensor from Float32 values in row-major order of `shape` (slowest first), encoded as `type`.
        public init(name: String, shape: [Int], values: [Float], type: GGMLType = .f32) {
            self.init(name: name, dimensions: shape.reversed(), type: type, bytes: GGMLQuantize.quantize(values, as: type))
        }
    }

    public var metadata: [(String, GGUFValue)] = []
    public var tensors: [Tensor] = []
    public var alignment = 32

    public init() {}

    public mutating func set(_ key: String, _ value: GGUFValue) { metadata.append((key, value)) }

    public func encode() -> Data {
        var out = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func string(_ s: String) { let b = Array(s.utf8); u64(UInt64(b.count)); out.append(contentsOf: b) }
        func kind(_ v: GGUFValue) -> GGUFValue.Kind {
            switch v {
            case .uint8: .uint8
            case .int8: .int8
            case .uint16: .uint16
            case .int16: .int16
            case .uint32: .uint32
            case .int32: .int32
            case .float32: .float32
            case .bool: .bool
            case .string: .string
            case .array: .array
            case .uint64: .uint64
            case .int64: .int64
            case .float64: .float64
            }
        }
        func value(_ v: GGUFValue) {
            switch v {
            case let .uint8(x): out.append(x)
            case let .int8(x): out.append(UInt8(bitPattern: x))
            case let .uint16(x): withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) }
            case let .int16(x): withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) }
            case let .uint32(x): u32(x)
            case let .int32(x): u32(UInt32(bitPattern: x))
            case let .float32(x): u32(x.bitPattern)
            case let .bool(x): out.append(x ? 1 : 0)
            case let .string(x): string(x)
            case let .array(a):
                u32((a.first.map(kind) ?? .uint8).rawValue)
                u64(UInt64(a.count))
                for e in a { value(e) }
            case let .uint64(x): u64(x)
            case let .int64(x): u64(UInt64(bitPattern: x))
            case let .float64(x): u64(x.bitPattern)
            }
        }
        out.append(contentsOf: Array("GGUF".utf8))
        u32(3)
        u64(UInt64(tensors.count))
        var meta = metadata
        if alignment != 32, !meta.contains(where: { $0.0 == "general.alignment" }) { meta.append(("general.alignment", .uint32(UInt32(alignment)))) }
        u64(UInt64(meta.count))
        for (k, v) in meta { string(k); u32(kind(v).rawValue); value(v) }
        var offset = 0
        var offsets: [Int] = []
        for t in tensors {
            offsets.append(offset)
            offset += (t.bytes.count + alignment - 1) / alignment * alignment
        }
        for (t, o) in zip(tensors, offsets) {
            string(t.name)
            u32(UInt32(t.dimensions.count))
            for d in t.dimensions { u64(UInt64(d)) }
            u32(t.type.rawValue)
            u64(UInt64(o))
        }
        while out.count % alignment != 0 { out.append(0) }
        for t in tensors {
            out.append(contentsOf: t.bytes)
            while out.count % alignment != 0 { out.append(0) }
        }
        return out
    }

    /// Writes the file atomically.
    public func write(to path: String) throws {
        do { try encode().write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw ModelFormatError.writeFailed(path: path, reason: error.localizedDescription)
        }
    }
}
