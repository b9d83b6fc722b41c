import Foundation

/// A safetensors file: an 8-byte little-endian header length N, N bytes of JSON
/// (`{"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}}`),
/// then the raw little-endian tensor data; offsets are relative to the end of the header.
/// Reference: https://github.com/huggingface/safetensors (format description in its README).
public struct SafetensorsFile: Sendable {
    public enum DType: String, Sendable, CaseIterable {
        case f32 = "F32", f16 = "F16", bf16 = "BF16", i64 = "I64", i32 = "I32", f64 = "F64"
        public var byteSize: Int {
            switch self {
            case .f32, .i32: 4
            case .f16, .bf16: 2
            case .i64, .f64: 8
            }
        }
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

    public init(data: Data, path: String = "<memory>") throws {
        self.path = path
        self.data = data
        guard data.count >= 8 else { throw ModelFormatError.truncated(path: path, what: "header length") }
        let headerLength = data.withUnsafeBytes { raw in
            UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        }
        guard headerLength <= UInt64(data.count - 8), headerLength < 100_000_000 else {
            throw ModelFormatError.truncated(path: path, what: "JSON header of \(headerLength) bytes")
        }
        let headerData = data.subdata(in: (data.startIndex + 8)..<(data.startIndex + 8 + Int(headerLength)))
        guard let json = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw ModelFormatError.malformedHeader(path: path, reason: "header is not a JSON object")
        }
        dataStart = 8 + Int(headerLength)
        let available = data.count - dataStart
        var metadata: [String: String] = [:]
        var tensors: [String: TensorInfo] = [:]
        for (name, value) in json {
            if name == "__metadata__" {
                if let m = value as? [String: Any] {
                    for (k, v) in m { metadata[k] = (v as? String) ?? "\(v)" }
                }
                continue
            }
            guard let entry = value as? [String: Any],
                  let dtypeName = entry["dtype"] as? String,
                  let shapeAny = entry["shape"] as? [Any],
                  let offsetsAny = entry["data_offsets"] as? [Any], offsetsAny.count == 2
            else { throw ModelFormatError.malformedHeader(path: path, reason: "entry '\(name)' lacks dtype/shape/data_offsets") }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw ModelFormatError.unsupportedType(path: path, tensor: name, type: dtypeName)
            }
            let shape = shapeAny.compactMap { ($0 as? NSNumber)?.intValue }
            let offsets = offsetsAny.compactMap { ($0 as? NSNumber)?.intValue }
            guard shape.count == shapeAny.count, offsets.count == 2, shape.allSatisfy({ $0 >= 0 }) else {
                throw ModelFormatError.malformedHeader(path: path, reason: "entry '\(name)' has a non-integer shape or offset")
            }
            guard offsets[0] >= 0, offsets[1] >= offsets[0], offsets[1] <= available else {
                throw ModelFormatError.offsetOutOfRange(path: path, tensor: name)
            }
            let count = shape.reduce(1, *)
            guard offsets[1] - offsets[0] == count * dtype.byteSize else {
                throw ModelFormatError.malformedHeader(
                    path: path, reason: "tensor '\(name)': \(offsets[1] - offsets[0]) bytes for shape \(shape) of \(dtypeName)")
            }
            tensors[name] = TensorInfo(name: name, dtype: dtype, shape: shape, byteRange: offsets[0]..<offsets[1])
        }
        self.metadata = metadata
        self.tensors = tensors
    }

    /// The tensor's info, or `missingTensor`.
    public func info(_ name: String) throws -> TensorInfo {
        guard let t = tensors[name] else { throw ModelFormatError.missingTensor(path: path, tensor: name) }
        return t
    }

    /// The tensor converted to Float32 (row-major, C order), optionally checking its shape and finiteness.
    public func floats(_ name: String, shape expected: [Int]? = nil, requireFinite: Bool = true) throws -> [Float] {
        let t = try info(name)
        if let expected, expected != t.shape {
            throw ModelFormatError.shapeMismatch(path: path, tensor: name, expected: expected, found: t.shape)
        }
        let n = t.elementCount
        var out = [Float](repeating: 0, count: n)
        data.withUnsafeBytes { raw in
            let base = raw.baseAddress!.advanced(by: dataStart + t.byteRange.lowerBound)
            out.withUnsafeMutableBufferPointer { dst in
                switch t.dtype {
                case .f32:
                    for i in 0..<n { dst[i] = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
                case .f16:
                    for i in 0..<n { dst[i] = HalfPrecision.float(fromHalf: UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
                case .bf16:
                    for i in 0..<n { dst[i] = HalfPrecision.float(fromBFloat16: UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
                case .f64:
                    for i in 0..<n { dst[i] = Float(Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
                case .i64:
                    for i in 0..<n { dst[i] = Float(Int64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))) }
                case .i32:
                    for i in 0..<n { dst[i] = Float(Int32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
                }
            }
        }
        if requireFinite, !out.allSatisfy(\.isFinite) {
            throw ModelFormatError.nonFinite(path: path, tensor: name)
        }
        return out
    }

    /// An integer tensor (I64/I32) as `[Int]`.
    public func integers(_ name: String) throws -> [Int] {
        let t = try info(name)
        var out = [Int](repeating: 0, count: t.elementCount)
        data.withUnsafeBytes { raw in
            let base = raw.baseAddress!.advanced(by: dataStart + t.byteRange.lowerBound)
            for i in 0..<out.count {
                switch t.dtype {
                case .i64: out[i] = Int(Int64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
                case .i32: out[i] = Int(Int32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
                default: out[i] = 0
                }
            }
        }
        if t.dtype != .i64 && t.dtype != .i32 {
            let f = try floats(name)
            return f.map { Int($0) }
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
