import Foundation

/// One GGUF metadata value (all 13 value types of GGUF v3, arrays nested).
/// Reference: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
public indirect enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case float32(Float), bool(Bool), string(String), array([GGUFValue])
    case uint64(UInt64), int64(Int64), float64(Double)

    /// GGUF value-type codes.
    public enum Kind: UInt32, Sendable {
        case uint8 = 0, int8, uint16, int16, uint32, int32, float32, bool, string, array, uint64, int64, float64
    }

    /// The value as an integer when it is any integer type (or a bool).
    public var int: Int? {
        switch self {
        case let .uint8(v): Int(v)
        case let .int8(v): Int(v)
        case let .uint16(v): Int(v)
        case let .int16(v): Int(v)
        case let .uint32(v): Int(v)
        case let .int32(v): Int(v)
        case let .uint64(v): v <= UInt64(Int.max) ? Int(v) : nil
        case let .int64(v): Int(v)
        case let .bool(v): v ? 1 : 0
        default: nil
        }
    }

    /// The value as a Double when numeric.
    public var double: Double? {
        switch self {
        case let .float32(v): Double(v)
        case let .float64(v): v
        default: int.map(Double.init)
        }
    }

    public var string: String? { if case let .string(s) = self { s } else { nil } }
    public var array: [GGUFValue]? { if case let .array(a) = self { a } else { nil } }
    /// An array of strings (nil when any element is not a string).
    public var strings: [String]? {
        guard let a = array else { return nil }
        var out: [String] = []
        out.reserveCapacity(a.count)
        for v in a { guard let s = v.string else { return nil }; out.append(s) }
        return out
    }
    /// An array of integers (nil when any element is not an integer).
    public var ints: [Int]? {
        guard let a = array else { return nil }
        var out: [Int] = []
        out.reserveCapacity(a.count)
        for v in a { guard let i = v.int else { return nil }; out.append(i) }
        return out
    }
}

/// The ggml tensor element types this reader knows (codes from ggml.h). Dequantization is implemented for
/// F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K and Q6_K; the others are recognised so
/// errors can name them.
public enum GGMLType: UInt32, Sendable, CaseIterable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
    case i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, bf16 = 30

    /// Elements per block (1 for plain types).
    public var blockSize: Int {
        switch self {
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1: 32
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K: 256
        default: 1
        }
    }

    /// Bytes per block.
    public var blockBytes: Int {
        switch self {
        case .f32, .i32: 4
        case .f16, .bf16, .i16: 2
        case .i8: 1
        case .i64, .f64: 8
        case .q4_0: 18
        case .q4_1: 20
        case .q5_0: 22
        case .q5_1: 24
        case .q8_0: 34
        case .q8_1: 36
        case .q2_K: 84
        case .q3_K: 110
        case .q4_K: 144
        case .q5_K: 176
        case .q6_K: 210
        case .q8_K: 292
        }
    }

    /// Whether `GGUFFile.floats` can dequantize this type.
    public var isDequantizable: Bool {
        switch self {
        case .f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K: true
        default: false
        }
    }

    public var name: String { "\(self)".uppercased() }
}

/// A GGUF (v2/v3) model file, memory-mapped: header, metadata, tensor infos and lazily dequantized data.
///
/// Layout (little-endian): magic "GGUF", version u32, tensor count u64, metadata count u64, the metadata
/// key/value pairs, the tensor infos (name, n_dims u32, ne[n_dims] u64, type u32, offset u64), padding to
/// `general.alignment` (default 32), then the tensor data; each offset is relative to that data section.
/// Dimensions are stored fastest-first: ne = [ne0, ne1] is a row-major matrix of ne1 rows × ne0 columns
/// (for a linear layer: [out][in]).
public final class GGUFFile: @unchecked Sendable {
    public struct TensorInfo: Sendable, Equatable {
        public var name: String
        /// ggml dimensions, fastest-varying first (ne0, ne1, …).
        public var dimensions: [Int]
        public var type: GGMLType
        /// Byte offset inside the data section.
        public var offset: Int
        public var elementCount: Int { dimensions.reduce(1, *) }
        /// Row-major shape (slowest first): `dimensions` reversed, e.g. [out, in] for a linear weight.
        public var shape: [Int] { dimensions.reversed() }
        public var byteCount: Int { elementCount / type.blockSize * type.blockBytes }
    }

    public let path: String
    public let version: Int
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    public let tensors: [String: TensorInfo]
    /// Tensor names in file order.
    public let tensorNames: [String]
    public let alignment: Int
    /// Absolute byte offset of the data section.
    public let dataOffset: Int
    private let data: Data

    public convenience init(path: String) throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw ModelFormatError.cannotOpen(path: path, reason: error.localizedDescription)
        }
        try self.init(data: data, path: path)
    }

    public init(data: Data, path: String = "<memory>") throws {
        self.path = path
        self.data = data
        var reader = ByteReader(data: data, path: path)
        let magic = try reader.bytes(4, what: "magic")
        guard magic == Array("GGUF".utf8) else {
            throw ModelFormatError.badMagic(path: path, found: magic.map { String(format: "%02x", $0) }.joined())
        }
        let version = Int(try reader.u32("version"))
        guard version == 2 || version == 3 else { throw ModelFormatError.unsupportedVersion(path: path, version: version) }
        self.version = version
        let tensorCount = try reader.u64("tensor count")
        let kvCount = try reader.u64("metadata count")
        // Each metadata pair needs ≥ 12 bytes, each tensor info ≥ 24: reject absurd counts before allocating.
        guard kvCount <= UInt64(data.count / 12), tensorCount <= UInt64(data.count / 24) else {
            throw ModelFormatError.malformedHeader(path: path, reason: "\(kvCount) metadata entries and \(tensorCount) tensors cannot fit in \(data.count) bytes")
        }
        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        for i in 0..<Int(kvCount) {
            let key = try reader.name("metadata key #\(i)")
            let kindRaw = try reader.u32("type of metadata '\(key)'")
            guard let kind = GGUFValue.Kind(rawValue: kindRaw) else {
                throw ModelFormatError.malformedHeader(path: path, reason: "metadata '\(key)' has unknown value type \(kindRaw)")
            }
            let value = try reader.value(kind, key: key, depth: 0)
            if metadata[key] == nil { keys.append(key) }
            metadata[key] = value
        }
        self.metadata = metadata
        self.metadataKeys = keys
        var alignment = 32
        if let a = metadata["general.alignment"] {
            guard let v = a.int, v > 0, v <= 1 << 20, v & (v - 1) == 0 else {
                throw ModelFormatError.malformedHeader(path: path, reason: "general.alignment \(a) is not a power of two")
            }
            alignment = v
        }
        self.alignment = alignment
        var infos: [String: TensorInfo] = [:]
        var names: [String] = []
        for i in 0..<Int(tensorCount) {
            let name = try reader.name("name of tensor #\(i)")
            let nDims = Int(try reader.u32("dimension count of tensor '\(name)'"))
            guard (1...4).contains(nDims) else {
                throw ModelFormatError.malformedHeader(path: path, reason: "tensor '\(name)' has \(nDims) dimensions (1–4 allowed)")
            }
            var dims: [Int] = []
            var count = 1
            for _ in 0..<nDims {
                let d = try reader.u64("dimensions of tensor '\(name)'")
                guard d >= 1, d < 1 << 40 else {
                    throw ModelFormatError.malformedHeader(path: path, reason: "tensor '\(name)' has dimension \(d)")
                }
                let (product, overflow) = count.multipliedReportingOverflow(by: Int(d))
                guard !overflow, product < 1 << 40 else {
                    throw ModelFormatError.malformedHeader(path: path, reason: "tensor '\(name)' has too many elements")
                }
                count = product
                dims.append(Int(d))
            }
            let typeRaw = try reader.u32("type of tensor '\(name)'")
            guard let type = GGMLType(rawValue: typeRaw) else {
                throw ModelFormatError.unsupportedType(path: path, tensor: name, type: "ggml type \(typeRaw)")
            }
            guard dims[0] % type.blockSize == 0 else {
                throw ModelFormatError.malformedHeader(path: path, reason: "tensor '\(name)' row of \(dims[0]) is not a multiple of the \(type.name) block size \(type.blockSize)")
            }
            let offset = try reader.u64("offset of tensor '\(name)'")
            guard offset < 1 << 48, Int(offset) % alignment == 0 else {
                throw ModelFormatError.malformedHeader(path: path, reason: "tensor '\(name)' offset \(offset) is not aligned to \(alignment)")
            }
            guard infos[name] == nil else {
                throw ModelFormatError.malformedHeader(path: path, reason: "tensor '\(name)' is listed twice")
            }
            infos[name] = TensorInfo(name: name, dimensions: dims, type: type, offset: Int(offset))
            names.append(name)
        }
        let dataOffset = (reader.position + alignment - 1) / alignment * alignment
        self.dataOffset = dataOffset
        // As llama.cpp's gguf.cpp requires: the tensors lie in the order they are listed, each at the end of the
        // one before padded to the alignment. A changed type id (which changes the implied size) or a moved
        // offset is reported here by name, rather than surfacing later as garbage values.
        var expected = 0
        for name in names {
            let t = infos[name]!
            guard t.offset == expected else {
                let before = names.firstIndex(of: name).map { $0 > 0 ? " after tensor '\(names[$0 - 1])' (type \(infos[names[$0 - 1]]!.type.name), \(infos[names[$0 - 1]]!.byteCount) bytes)" : "" } ?? ""
                throw ModelFormatError.malformedHeader(path: path, reason: "tensor '\(name)' (type \(t.type.name)) is at data offset \(t.offset), but the tensors before it end at \(expected)\(before): a tensor's type or offset is wrong, or two tensors overlap")
            }
            expected = (t.offset + t.byteCount + alignment - 1) / alignment * alignment
            let end = dataOffset + t.offset + t.byteCount
            guard end <= data.count else { throw ModelFormatError.offsetOutOfRange(path: path, tensor: name) }
        }
        self.tensors = infos
        self.tensorNames = names
    }

    /// The tensor's info, or `missingTensor`.
    public func info(_ name: String) throws -> TensorInfo {
        guard let t = tensors[name] else { throw ModelFormatError.missingTensor(path: path, tensor: name) }
        return t
    }

    /// Metadata value `key`, or a `malformedHeader` error naming it.
    public func value(_ key: String) throws -> GGUFValue {
        guard let v = metadata[key] else { throw ModelFormatError.malformedHeader(path: path, reason: "missing metadata '\(key)'") }
        return v
    }

    /// Integer metadata `key` (any integer type).
    public func int(_ key: String) throws -> Int {
        guard let v = try value(key).int else { throw ModelFormatError.malformedHeader(path: path, reason: "metadata '\(key)' is not an integer") }
        return v
    }

    /// Numeric metadata `key`.
    public func double(_ key: String) throws -> Double {
        guard let v = try value(key).double else { throw ModelFormatError.malformedHeader(path: path, reason: "metadata '\(key)' is not a number") }
        return v
    }

    /// String metadata `key`.
    public func string(_ key: String) throws -> String {
        guard let v = try value(key).string else { throw ModelFormatError.malformedHeader(path: path, reason: "metadata '\(key)' is not a string") }
        return v
    }

    /// Calls `body` with the tensor's raw bytes (inside the memory map).
    public func withRawBytes<R>(_ name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let t = try info(name)
        return try data.withUnsafeBytes { raw in
            try body(UnsafeRawBufferPointer(rebasing: raw[(dataOffset + t.offset)..<(dataOffset + t.offset + t.byteCount)]))
        }
    }

    /// Tells the kernel the memory-mapped pages lying wholly inside tensor `name` are not needed now
    /// (`madvise(MADV_DONTNEED)`): they leave the resident set and are read from the file again if touched. A loader
    /// calls it after converting a tensor, so that the mapped file and its converted copy are not both resident.
    public func releasePages(_ name: String) {
        guard let t = tensors[name] else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        data.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            let start = Int(bitPattern: base) + dataOffset + t.offset
            let first = (start + page - 1) / page * page, last = (start + t.byteCount) / page * page
            if last > first { _ = madvise(UnsafeMutableRawPointer(bitPattern: first), last - first, Int32(MADV_DONTNEED)) }
        }
    }

    /// The tensor dequantized to Float32, row-major (`shape` order), optionally checking the row-major shape
    /// and that every value is finite.
    public func floats(_ name: String, shape expected: [Int]? = nil, requireFinite: Bool = true) throws -> [Float] {
        let t = try info(name)
        if let expected, expected != t.shape {
            throw ModelFormatError.shapeMismatch(path: path, tensor: name, expected: expected, found: t.shape)
        }
        guard t.type.isDequantizable else { throw ModelFormatError.unsupportedType(path: path, tensor: name, type: t.type.name) }
        var out = [Float](repeating: 0, count: t.elementCount)
        try withRawBytes(name) { raw in
            out.withUnsafeMutableBufferPointer { dst in
                GGMLDequantize.dequantize(type: t.type, source: raw.baseAddress!, count: t.elementCount, into: dst.baseAddress!)
            }
        }
        if requireFinite, !out.allSatisfy(\.isFinite) { throw ModelFormatError.nonFinite(path: path, tensor: name) }
        return out
    }
}

/// Bounds-checked little-endian reads; every failure names the file and what was being read.
struct ByteReader {
    let data: Data
    let path: String
    var position = 0

    init(data: Data, path: String) { self.data = data; self.path = path }

    var remaining: Int { data.count - position }

    mutating func bytes(_ n: Int, what: String) throws -> [UInt8] {
        guard n >= 0, n <= remaining else { throw ModelFormatError.truncated(path: path, what: what) }
        let start = data.startIndex + position
        position += n
        return [UInt8](data[start..<(start + n)])
    }

    mutating func load<T: FixedWidthInteger>(_ type: T.Type, _ what: String) throws -> T {
        let size = MemoryLayout<T>.size
        guard size <= remaining else { throw ModelFormatError.truncated(path: path, what: what) }
        let p = position
        position += size
        return data.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: p, as: T.self)) }
    }

    mutating func u32(_ what: String) throws -> UInt32 { try load(UInt32.self, what) }
    mutating func u64(_ what: String) throws -> UInt64 { try load(UInt64.self, what) }

    /// A metadata key or tensor name: short, printable UTF-8 (ggml names hold at most 64 bytes; keys are dotted
    /// identifiers). A corrupted length is refused without quoting the bytes it would take.
    mutating func name(_ what: String) throws -> String {
        let start = position
        let n = try u64("length of \(what)")
        guard n <= 65_535 else {
            throw ModelFormatError.malformedHeader(path: path, reason: "\(what) at byte \(start) has length \(n) (at most 65535 allowed): the header is corrupted")
        }
        let text = try string(what, length: n)
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0 == "\u{FFFD}" }) else {
            throw ModelFormatError.malformedHeader(path: path, reason: "\(what) at byte \(start) is not printable UTF-8 (\(ByteReader.preview(text))): the header is corrupted")
        }
        return text
    }

    /// At most 40 characters of `text`, control characters escaped, for error messages.
    static func preview(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(40) {
            out += scalar.value < 0x20 || scalar.value == 0x7F ? String(format: "\\x%02x", scalar.value) : String(scalar)
        }
        return "'" + out + (text.unicodeScalars.count > 40 ? "…" : "") + "'"
    }

    mutating func string(_ what: String) throws -> String {
        try string(what, length: try u64("length of \(what)"))
    }

    private mutating func string(_ what: String, length n: UInt64) throws -> String {
        guard n <= UInt64(remaining) else { throw ModelFormatError.truncated(path: path, what: what) }
        let start = data.startIndex + position
        position += Int(n)
        return String(decoding: data[start..<(start + Int(n))], as: UTF8.self)
    }

    mutating func value(_ kind: GGUFValue.Kind, key: String, depth: Int) throws -> GGUFValue {
        let what = "metadata '\(key)'"
        switch kind {
        case .uint8: return .uint8(try load(UInt8.self, what))
        case .int8: return .int8(try load(Int8.self, what))
        case .uint16: return .uint16(try load(UInt16.self, what))
        case .int16: return .int16(try load(Int16.self, what))
        case .uint32: return .uint32(try load(UInt32.self, what))
        case .int32: return .int32(try load(Int32.self, what))
        case .float32: return .float32(Float(bitPattern: try load(UInt32.self, what)))
        case .bool:
            let b = try load(UInt8.self, what)
            guard b <= 1 else { throw ModelFormatError.malformedHeader(path: path, reason: "\(what) has bool byte \(b)") }
            return .bool(b == 1)
        case .string: return .string(try string(what))
        case .uint64: return .uint64(try load(UInt64.self, what))
        case .int64: return .int64(try load(Int64.self, what))
        case .float64: return .float64(Double(bitPattern: try load(UInt64.self, what)))
        case .array:
            guard depth < 4 else { throw ModelFormatError.malformedHeader(path: path, reason: "\(what) nests arrays too deeply") }
            let raw = try u32("element type of \(what)")
            guard let element = GGUFValue.Kind(rawValue: raw) else {
                throw ModelFormatError.malformedHeader(path: path, reason: "\(what) has unknown array element type \(raw)")
            }
            let count = try u64("element count of \(what)")
            guard count <= UInt64(remaining) else { throw ModelFormatError.truncated(path: path, what: what) }
            var values: [GGUFValue] = []
            values.reserveCapacity(Int(count))
            for _ in 0..<Int(count) { values.append(try value(element, key: key, depth: depth + 1)) }
            return .array(values)
        }
    }
}
