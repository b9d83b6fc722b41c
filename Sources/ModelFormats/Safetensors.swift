import Foundation

/// A safetensors file: an 8-byte little-endian header length N, N bytes of JSON
/// (`{"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}}`),
/// then the raw little-endian tensor data; offsets are relative to the end of the header.
/// Reference: https://github.com/huggingface/safetensors (format description in its README).
public struct SafetensorsFile: Sendable {
    /// The element types of the safetensors specification (`Dtype` in safetensors' `src/tensor.rs`).
    public enum DType: String, Sendable, CaseIterable {
        case bool = "BOOL", u8 = "U8", i8 = "I8", f8e5m2 = "F8_E5M2", f8e4m3 = "F8_E4M3", i16 = "I16", u16 = "U16"
        case f16 = "F16", bf16 = "BF16", i32 = "I32", u32 = "U32", f32 = "F32", f64 = "F64", i64 = "I64", u64 = "U64"
        public var byteSize: Int {
            switch self {
            case .bool, .u8, .i8, .f8e5m2, .f8e4m3: 1
            case .i16, .u16, .f16, .bf16: 2
            case .i32, .u32, .f32: 4
            case .i64, .u64, .f64: 8
            }
        }
        /// The floating-point types `floats(_:)` reads by default (F8 types are not converted).
        public static let floating: Set<DType> = [.f16, .bf16, .f32, .f64]
        /// The integer types `integers(_:)` reads.
        public static let integer: Set<DType> = [.u8, .i8, .i16, .u16, .i32, .u32, .i64, .u64]
    }

    public struct TensorInfo: Sendable, Equatable {
        public var name: String
        public var dtype: DType
        public var shape: [Int]
        /// Byte range inside the data section.
        public var byteRange: Range<Int>
        public var elementCount: Int { shape.reduce(1, *) }
    }

    public let path: String
    public let metadata: [String: String]
    public let tensors: [String: TensorInfo]
    private let data: Data
    private let dataStart: Int

    /// Tensor names in file order (sorted by data offset).
    public var tensorNames: [String] { tensors.values.sorted { $0.byteRange.lowerBound < $1.byteRange.lowerBound }.map(\.name) }

    public init(path: String) throws {
        let url = URL(fileURLWithPath: path)
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw ModelFormatError.cannotOpen(path: path, reason: error.localizedDescription)
        }
        try self.init(data: data, path: path)
    }

    /// The largest JSON header accepted: the limit of the reference implementation (`MAX_HEADER_SIZE`, 100 MB).
    public static let maximumHeaderLength = 100_000_000

    /// Parses and validates the header as the specification requires (safetensors README, "Format", and
    /// `Metadata::validate` in `src/tensor.rs`): the header length fits the file and the 100 MB limit, the header
    /// is a JSON object, every dtype is one of the specification's, each tensor's byte length is
    /// product(shape) × dtype size (without overflow), offsets are ordered (end ≥ start), and the tensors,
    /// sorted by offset, tile the data section exactly: contiguous, non-overlapping, from 0 to its end.
    public init(data: Data, path: String = "<memory>") throws {
        self.path = path
        self.data = data
        guard data.count >= 8 else { throw ModelFormatError.truncated(path: path, what: "header length") }
        let headerLength = data.withUnsafeBytes { raw in
            UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        }
        guard headerLength <= UInt64(Self.maximumHeaderLength) else {
            throw ModelFormatError.malformedHeader(path: path,
                reason: "header length \(headerLength) exceeds the specification's limit of \(Self.maximumHeaderLength) bytes")
        }
        guard headerLength <= UInt64(data.count - 8) else {
            throw ModelFormatError.truncated(path: path, what: "JSON header of \(headerLength) bytes (the file has \(data.count - 8) after the length)")
        }
        guard headerLength >= 2 else {
            throw ModelFormatError.malformedHeader(path: path, reason: "header length \(headerLength) is too short for a JSON object")
        }
        let headerData = data.subdata(in: (data.startIndex + 8)..<(data.startIndex + 8 + Int(headerLength)))
        guard headerData.first == UInt8(ascii: "{") else {
            throw ModelFormatError.malformedHeader(path: path, reason: "header does not start with '{'")
        }
        guard let json = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw ModelFormatError.malformedHeader(path: path, reason: "header is not a JSON object")
        }
        dataStart = 8 + Int(headerLength)
        let available = data.count - dataStart
        var metadata: [String: String] = [:]
        var tensors: [String: TensorInfo] = [:]
        for (name, value) in json {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else {
                    throw ModelFormatError.malformedHeader(path: path, reason: "'__metadata__' is not an object")
                }
                for (k, v) in m { metadata[k] = (v as? String) ?? "\(v)" }
                continue
            }
            let quoted = ModelFormatError.quote(name)
            guard let entry = value as? [String: Any],
                  let dtypeName = entry["dtype"] as? String,
                  let shapeAny = entry["shape"] as? [Any],
                  let offsetsAny = entry["data_offsets"] as? [Any]
            else { throw ModelFormatError.malformedHeader(path: path, reason: "entry \(quoted) lacks dtype/shape/data_offsets") }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw ModelFormatError.unsupportedType(path: path, tensor: name, type: ModelFormatError.quote(dtypeName, quotes: false))
            }
            func integer(_ any: Any) -> Int? {
                guard let n = any as? NSNumber else { return nil }
                let d = n.doubleValue
                guard d.rounded() == d, d >= 0, d < 9.2e18 else { return nil }
                return Int(n.int64Value)
            }
            let shape = shapeAny.compactMap(integer)
            let offsets = offsetsAny.compactMap(integer)
            guard shape.count == shapeAny.count else {
                throw ModelFormatError.malformedHeader(path: path, reason: "tensor \(quoted): shape is not a list of non-negative integers")
            }
            guard offsetsAny.count == 2, offsets.count == 2 else {
                throw ModelFormatError.malformedHeader(path: path, reason: "tensor \(quoted): data_offsets is not a pair of non-negative integers")
            }
            guard offsets[1] >= offsets[0] else {
                throw ModelFormatError.offsetsReversed(path: path, tensor: name, begin: offsets[0], end: offsets[1])
            }
            guard offsets[1] <= available else {
                throw ModelFormatError.offsetOutOfRange(path: path, tensor: name)
            }
            var count = 1
            for s in shape {
                let (p, overflow) = count.multipliedReportingOverflow(by: s)
                guard !overflow else {
                    throw ModelFormatError.malformedHeader(path: path, reason: "tensor \(quoted): shape \(shape) overflows")
                }
                count = p
            }
            let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow, offsets[1] - offsets[0] == bytes else {
                throw ModelFormatError.malformedHeader(path: path,
                    reason: "tensor \(quoted): data_offsets span \(offsets[1] - offsets[0]) bytes but shape \(shape) of \(dtypeName) needs \(overflow ? "more than Int.max" : String(bytes))")
            }
            tensors[name] = TensorInfo(name: name, dtype: dtype, shape: shape, byteRange: offsets[0]..<offsets[1])
        }
        // The tensors must tile the data section: sorted by (begin, end), each begins where the previous ended.
        let ordered = tensors.values.sorted {
            ($0.byteRange.lowerBound, $0.byteRange.upperBound, $0.name) < ($1.byteRange.lowerBound, $1.byteRange.upperBound, $1.name)
        }
        var position = 0
        var previous: TensorInfo? = nil
        for t in ordered {
            if t.byteRange.lowerBound < position, let previous {
                throw ModelFormatError.overlappingTensors(path: path, first: previous.name, second: t.name,
                                                          firstRange: previous.byteRange, secondRange: t.byteRange)
            }
            if t.byteRange.lowerBound > position {
                throw ModelFormatError.dataGap(path: path, begin: position, end: t.byteRange.lowerBound,
                                               before: t.name)
            }
            position = t.byteRange.upperBound
            if !t.byteRange.isEmpty || previous == nil { previous = t }
        }
        guard position == available else {
            throw ModelFormatError.trailingData(path: path, indexed: position, dataSection: available)
        }
        self.metadata = metadata
        self.tensors = tensors
    }

    /// The tensor's info, or `missingTensor`.
    public func info(_ name: String) throws -> TensorInfo {
        guard let t = tensors[name] else { throw ModelFormatError.missingTensor(path: path, tensor: name) }
        return t
    }

    /// The tensor converted to Float32 (row-major, C order), checking that its dtype is one of `dtypes` (by
    /// default a floating-point type: integer data is not silently read as weights) and optionally its shape and
    /// finiteness.
    public func floats(_ name: String, shape expected: [Int]? = nil, dtypes: Set<DType> = DType.floating,
                       requireFinite: Bool = true) throws -> [Float] {
        let t = try info(name)
        guard dtypes.contains(t.dtype) else {
            throw ModelFormatError.unexpectedType(path: path, tensor: name, type: t.dtype.rawValue,
                                                  expected: dtypes.map(\.rawValue).sorted())
        }
        if let expected, expected != t.shape {
            throw ModelFormatError.shapeMismatch(path: path, tensor: name, expected: expected, found: t.shape)
        }
        let n = t.elementCount
        var out = [Float](repeating: 0, count: n)
        if t.dtype == .f8e4m3 || t.dtype == .f8e5m2 {
            throw ModelFormatError.unsupportedType(path: path, tensor: name, type: t.dtype.rawValue)
        }
        data.withUnsafeBytes { raw in
            let base = raw.baseAddress!.advanced(by: dataStart + t.byteRange.lowerBound)
            out.withUnsafeMutableBufferPointer { dst in
                func load<T: FixedWidthInteger>(_: T.Type, _ i: Int) -> T {
                    T(littleEndian: base.loadUnaligned(fromByteOffset: MemoryLayout<T>.size * i, as: T.self))
                }
                switch t.dtype {
                case .f32: for i in 0..<n { dst[i] = Float(bitPattern: load(UInt32.self, i)) }
                case .f16: for i in 0..<n { dst[i] = HalfPrecision.float(fromHalf: load(UInt16.self, i)) }
                case .bf16: for i in 0..<n { dst[i] = HalfPrecision.float(fromBFloat16: load(UInt16.self, i)) }
                case .f64: for i in 0..<n { dst[i] = Float(Double(bitPattern: load(UInt64.self, i))) }
                case .i64: for i in 0..<n { dst[i] = Float(load(Int64.self, i)) }
                case .u64: for i in 0..<n { dst[i] = Float(load(UInt64.self, i)) }
                case .i32: for i in 0..<n { dst[i] = Float(load(Int32.self, i)) }
                case .u32: for i in 0..<n { dst[i] = Float(load(UInt32.self, i)) }
                case .i16: for i in 0..<n { dst[i] = Float(load(Int16.self, i)) }
                case .u16: for i in 0..<n { dst[i] = Float(load(UInt16.self, i)) }
                case .i8: for i in 0..<n { dst[i] = Float(load(Int8.self, i)) }
                case .u8, .bool: for i in 0..<n { dst[i] = Float(load(UInt8.self, i)) }
                case .f8e4m3, .f8e5m2: break   // refused above
                }
            }
        }
        if requireFinite, !out.allSatisfy(\.isFinite) {
            throw ModelFormatError.nonFinite(path: path, tensor: name)
        }
        return out
    }

    /// An integer tensor (one of `DType.integer`) as `[Int]`; a floating-point or boolean tensor is refused.
    public func integers(_ name: String) throws -> [Int] {
        let t = try info(name)
        guard DType.integer.contains(t.dtype) else {
            throw ModelFormatError.unexpectedType(path: path, tensor: name, type: t.dtype.rawValue,
                                                  expected: DType.integer.map(\.rawValue).sorted())
        }
        var out = [Int](repeating: 0, count: t.elementCount)
        var tooLarge = false
        data.withUnsafeBytes { raw in
            let base = raw.baseAddress!.advanced(by: dataStart + t.byteRange.lowerBound)
            func load<T: FixedWidthInteger>(_: T.Type, _ i: Int) -> T {
                T(littleEndian: base.loadUnaligned(fromByteOffset: MemoryLayout<T>.size * i, as: T.self))
            }
            for i in 0..<out.count {
                switch t.dtype {
                case .i64: out[i] = Int(load(Int64.self, i))
                case .u64:
                    let v = load(UInt64.self, i)
                    if v > UInt64(Int.max) { tooLarge = true } else { out[i] = Int(v) }
                case .i32: out[i] = Int(load(Int32.self, i))
                case .u32: out[i] = Int(load(UInt32.self, i))
                case .i16: out[i] = Int(load(Int16.self, i))
                case .u16: out[i] = Int(load(UInt16.self, i))
                case .i8: out[i] = Int(load(Int8.self, i))
                default: out[i] = Int(load(UInt8.self, i))
                }
            }
        }
        if tooLarge {
            throw ModelFormatError.malformedHeader(path: path, reason: "tensor \(ModelFormatError.quote(name)) holds a U64 value beyond Int.max")
        }
        return out
    }
}

/// Writes safetensors files (F32 tensors), atomically (temporary file, then rename).
public enum SafetensorsWriter {
    public struct Tensor: Sendable {
        public var name: String
        public var shape: [Int]
        public var values: [Float]
        public init(name: String, shape: [Int], values: [Float]) {
            self.name = name; self.shape = shape; self.values = values
        }
    }

    public static func encode(_ tensors: [Tensor], metadata: [String: String] = [:]) throws -> Data {
        var header = "{"
        var parts: [String] = []
        if !metadata.isEmpty {
            let m = try JSONSerialization.data(withJSONObject: metadata, options: [.sortedKeys])
            parts.append("\"__metadata__\":" + String(decoding: m, as: UTF8.self))
        }
        var offset = 0
        for t in tensors {
            precondition(t.values.count == t.shape.reduce(1, *), "safetensors: \(t.name) has \(t.values.count) values for \(t.shape)")
            let bytes = t.values.count * 4
            let nameJSON = String(decoding: try JSONSerialization.data(withJSONObject: [t.name], options: []), as: UTF8.self).dropFirst().dropLast()
            parts.append("\(nameJSON):{\"dtype\":\"F32\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        header += parts.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        while (8 + headerBytes.count) % 8 != 0 { headerBytes.append(0x20) }
        var data = Data(capacity: 8 + headerBytes.count + offset)
        var n = UInt64(headerBytes.count).littleEndian
        withUnsafeBytes(of: &n) { data.append(contentsOf: $0) }
        data.append(contentsOf: headerBytes)
        for t in tensors {
            t.values.withUnsafeBufferPointer { p in
                let le = p.map { $0.bitPattern.littleEndian }
                le.withUnsafeBytes { data.append(contentsOf: $0) }
            }
        }
        return data
    }

    public static func write(_ tensors: [Tensor], metadata: [String: String] = [:], to path: String) throws {
        let data = try encode(tensors, metadata: metadata)
        do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw ModelFormatError.writeFailed(path: path, reason: error.localizedDescription)
        }
    }
}
