import CZlib
import Foundation

/// A NumPy `.npz` archive (`numpy.savez` / `savez_compressed`): a ZIP file whose members `NAME.npy` each hold one
/// array in the `.npy` format. Members may be stored (method 0) or deflated (method 8, read with zlib's raw
/// inflate); ZIP64 sizes and offsets are read (numpy writes every member with `force_zip64=True`, so its local
/// headers carry 0xFFFFFFFF sizes and a ZIP64 extra field). Each member's CRC-32 is checked.
///
/// `.npy` (NEP 1, "A simple file format for NumPy arrays"): magic `\x93NUMPY`, major and minor version, a header
/// length (u16 in 1.0, u32 in 2.0 and 3.0), then a Python dict literal
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (576, 96), }` padded with spaces, then the raw data.
/// References: PKWARE APPNOTE.TXT (sections 4.3.7, 4.3.12, 4.3.14–16, 4.5.3); numpy `lib/format.py`.
public struct NPZFile: Sendable {
    /// One array: its NumPy dtype string, shape (C order) and the member's raw `.npy` data section.
    public struct Array: Sendable {
        public var name: String
        public var descr: String
        public var shape: [Int]
        public var elementCount: Int { shape.reduce(1, *) }
        let fortranOrder: Bool
        let payload: Data
    }

    public let path: String
    /// Arrays by name (the member name without `.npy`), in archive order.
    public let names: [String]
    private let arrays: [String: Array]

    public init(path: String) throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw ModelFormatError.cannotOpen(path: path, reason: error.localizedDescription)
        }
        try self.init(data: data, path: path)
    }

    public init(data: Data, path: String = "<memory>") throws {
        self.path = path
        var names: [String] = []
        var arrays: [String: Array] = [:]
        let bytes = ByteReader(data: data, path: path)
        for member in try Self.centralDirectory(bytes) {
            guard member.name.hasSuffix(".npy") else {
                throw ModelFormatError.malformedHeader(path: path, reason: "member \(ModelFormatError.quote(member.name)) is not a .npy file")
            }
            let name = String(member.name.dropLast(4))
            guard arrays[name] == nil else {
                throw ModelFormatError.malformedHeader(path: path, reason: "member \(ModelFormatError.quote(member.name)) appears twice")
            }
            let content = try Self.extract(member, from: bytes)
            arrays[name] = try Self.parseNPY(content, name: name, path: path)
            names.append(name)
        }
        self.names = names
        self.arrays = arrays
    }

    /// The array's info, or `missingTensor`.
    public func array(_ name: String) throws -> Array {
        guard let a = arrays[name] else { throw ModelFormatError.missingTensor(path: path, tensor: name) }
        return a
    }

    /// The array as Float32 in C order, checking its shape and (by default) finiteness. Reads float16/32/64 of
    /// either byte order; other dtypes are refused by name.
    public func floats(_ name: String, shape expected: [Int]? = nil, requireFinite: Bool = true) throws -> [Float] {
        let a = try array(name)
        if let expected, expected != a.shape {
            throw ModelFormatError.shapeMismatch(path: path, tensor: name, expected: expected, found: a.shape)
        }
        guard let (kind, size, bigEndian) = Self.floatType(a.descr) else {
            throw ModelFormatError.unexpectedType(path: path, tensor: name, type: a.descr, expected: ["<f2", "<f4", "<f8", ">f2", ">f4", ">f8"])
        }
        _ = kind
        let n = a.elementCount
        var out = [Float](repeating: 0, count: n)
        a.payload.withUnsafeBytes { raw in
            func load<T: FixedWidthInteger>(_: T.Type, _ i: Int) -> T {
                let v = raw.loadUnaligned(fromByteOffset: MemoryLayout<T>.size * i, as: T.self)
                return bigEndian ? T(bigEndian: v) : T(littleEndian: v)
            }
            switch size {
            case 2: for i in 0..<n { out[i] = HalfPrecision.float(fromHalf: load(UInt16.self, i)) }
            case 4: for i in 0..<n { out[i] = Float(bitPattern: load(UInt32.self, i)) }
            default: for i in 0..<n { out[i] = Float(Double(bitPattern: load(UInt64.self, i))) }
            }
        }
        if a.fortranOrder, a.shape.count > 1 { out = Self.fortranToC(out, shape: a.shape) }
        if requireFinite, !out.allSatisfy(\.isFinite) { throw ModelFormatError.nonFinite(path: path, tensor: name) }
        return out
    }

    // MARK: NPY

    static func floatType(_ descr: String) -> (Character, Int, Bool)? {
        guard descr.count == 3, let order = descr.first, let kind = descr.dropFirst().first,
              let size = Int(String(descr.last!)), kind == "f", [2, 4, 8].contains(size) else { return nil }
        switch order {
        case "<", "=": return (kind, size, false)
        case ">": return (kind, size, true)
        default: return nil
        }
    }

    static func itemSize(_ descr: String) -> Int? {
        guard descr.count >= 3, "<>|=".contains(descr.first!), let size = Int(descr.dropFirst(2)), size > 0 else { return nil }
        guard "fiub".contains(descr.dropFirst().first!) else { return nil }
        return size
    }

    /// Reorders column-major (Fortran) data of `shape` into row-major (C) order.
    static func fortranToC(_ values: [Float], shape: [Int]) -> [Float] {
        let rank = shape.count
        var fStrides = [Int](repeating: 1, count: rank)
        for d in 1..<rank { fStrides[d] = fStrides[d - 1] * shape[d - 1] }
        var out = [Float](repeating: 0, count: values.count)
        var index = [Int](repeating: 0, count: rank)
        for c in 0..<values.count {
            var f = 0
            for d in 0..<rank { f += index[d] * fStrides[d] }
            out[c] = values[f]
            var d = rank - 1
            while d >= 0 { index[d] += 1; if index[d] < shape[d] { break }; index[d] = 0; d -= 1 }
        }
        return out
    }

    static func parseNPY(_ content: Data, name: String, path: String) throws -> Array {
        func bad(_ reason: String) -> ModelFormatError {
            .malformedHeader(path: path, reason: "array \(ModelFormatError.quote(name)): \(reason)")
        }
        let b = [UInt8](content.prefix(12))
        guard b.count >= 10, b[0] == 0x93, Array8(b[1..<6]) == Array8("NUMPY".utf8) else { throw bad("not a .npy member (no \\x93NUMPY magic)") }
        let major = b[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1: headerLength = Int(b[8]) | Int(b[9]) << 8; headerStart = 10
        case 2, 3:
            guard b.count >= 12 else { throw bad("truncated header length") }
            headerLength = Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24; headerStart = 12
        default: throw bad("unsupported .npy version \(major).\(b[7])")
        }
        guard headerStart + headerLength <= content.count else { throw bad("header of \(headerLength) bytes runs past the member") }
        let start = content.startIndex
        let header = String(decoding: content[(start + headerStart)..<(start + headerStart + headerLength)], as: UTF8.self)
        guard let descr = Self.dictValue(header, key: "descr").flatMap(Self.pythonString) else { throw bad("header lacks 'descr'") }
        guard let fortranText = Self.dictValue(header, key: "fortran_order") else { throw bad("header lacks 'fortran_order'") }
        guard fortranText == "True" || fortranText == "False" else { throw bad("'fortran_order' is \(ModelFormatError.quote(fortranText))") }
        guard let shapeText = Self.dictValue(header, key: "shape"), let shape = Self.pythonTuple(shapeText) else {
            throw bad("header lacks a 'shape' tuple of non-negative integers")
        }
        guard let size = itemSize(descr) else {
            throw ModelFormatError.unsupportedType(path: path, tensor: name, type: ModelFormatError.quote(descr, quotes: false))
        }
        var count = 1
        for s in shape {
            let (p, o) = count.multipliedReportingOverflow(by: s)
            guard !o else { throw bad("shape \(shape) overflows") }
            count = p
        }
        let payload = content[(start + headerStart + headerLength)...]
        let (bytes, overflow) = count.multipliedReportingOverflow(by: size)
        guard !overflow, payload.count == bytes else {
            throw bad("\(payload.count) data bytes but shape \(shape) of \(descr) needs \(overflow ? "more than Int.max" : String(bytes))")
        }
        return Array(name: name, descr: descr, shape: shape, fortranOrder: fortranText == "True", payload: Data(payload))
    }

    private typealias Array8 = [UInt8]

    /// The text of `key`'s value in a Python dict literal of the .npy header (up to the next top-level comma).
    static func dictValue(_ header: String, key: String) -> String? {
        let chars = Swift.Array(header)
        for quote in ["'", "\""] {
            let pattern = Swift.Array(quote + key + quote)
            guard let at = (0...(max(0, chars.count - pattern.count))).first(where: { i in
                i + pattern.count <= chars.count && Swift.Array(chars[i..<(i + pattern.count)]) == pattern
            }) else { continue }
            var i = at + pattern.count
            while i < chars.count, chars[i] == " " { i += 1 }
            guard i < chars.count, chars[i] == ":" else { return nil }
            i += 1
            while i < chars.count, chars[i] == " " { i += 1 }
            var depth = 0, j = i
            var inString: Character? = nil
            while j < chars.count {
                let c = chars[j]
                if let q = inString { if c == q { inString = nil } }
                else if c == "'" || c == "\"" { inString = c }
                else if c == "(" || c == "[" { depth += 1 }
                else if c == ")" || c == "]" { depth -= 1 }
                else if (c == "," || c == "}") && depth == 0 { break }
                j += 1
            }
            return String(chars[i..<j]).trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    static func pythonString(_ text: String) -> String? {
        guard text.count >= 2, let q = text.first, q == "'" || q == "\"", text.last == q else { return nil }
        return String(text.dropFirst().dropLast())
    }

    static func pythonTuple(_ text: String) -> [Int]? {
        guard text.hasPrefix("("), text.hasSuffix(")") else { return nil }
        let inner = text.dropFirst().dropLast()
        let parts = inner.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let values = parts.compactMap { Int($0.hasSuffix("L") ? String($0.dropLast()) : $0) }
        guard values.count == parts.count, values.allSatisfy({ $0 >= 0 }) else { return nil }
        return values
    }

    // MARK: ZIP

    struct Member {
        var name: String
        var method: Int
        var flags: Int
        var crc: UInt32
        var compressedSize: Int
        var size: Int
        var localHeaderOffset: Int
    }

    /// Bounds-checked little-endian reads that fail with the file named.
    struct ByteReader {
        let data: Data
        let path: String
        var count: Int { data.count }
        func check(_ offset: Int, _ length: Int, _ what: String) throws {
            guard offset >= 0, length >= 0, offset <= data.count - length else {
                throw ModelFormatError.truncated(path: path, what: what)
            }
        }
        func u16(_ o: Int, _ what: String) throws -> Int {
            try check(o, 2, what)
            return data.withUnsafeBytes { Int(UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: o, as: UInt16.self))) }
        }
        func u32(_ o: Int, _ what: String) throws -> UInt32 {
            try check(o, 4, what)
            return data.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
        }
        func u64(_ o: Int, _ what: String) throws -> Int {
            try check(o, 8, what)
            let v = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: o, as: UInt64.self)) }
            guard v <= UInt64(Int.max) else { throw ModelFormatError.malformedHeader(path: path, reason: "\(what) is \(v)") }
            return Int(v)
        }
        func slice(_ o: Int, _ length: Int, _ what: String) throws -> Data {
            try check(o, length, what)
            return data.subdata(in: (data.startIndex + o)..<(data.startIndex + o + length))
        }
    }

    static func centralDirectory(_ r: ByteReader) throws -> [Member] {
        let path = r.path
        // End of central directory record: 22 bytes plus a comment of up to 65,535 bytes.
        guard r.count >= 22 else { throw ModelFormatError.badMagic(path: path, found: "file of \(r.count) bytes, no ZIP end record") }
        var eocd = -1
        var i = r.count - 22
        let lowest = max(0, r.count - 22 - 65_535)
        while i >= lowest {
            if try r.u32(i, "ZIP end record") == 0x0605_4B50 { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else { throw ModelFormatError.badMagic(path: path, found: "no ZIP end-of-central-directory record") }
        var entries = try r.u16(eocd + 10, "ZIP end record")
        var directorySize = Int(try r.u32(eocd + 12, "ZIP end record"))
        var directoryOffset = Int(try r.u32(eocd + 16, "ZIP end record"))
        if entries == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            // ZIP64 end of central directory locator, 20 bytes before the end record.
            guard eocd >= 20, try r.u32(eocd - 20, "ZIP64 locator") == 0x0706_4B50 else {
                throw ModelFormatError.malformedHeader(path: path, reason: "ZIP64 sizes without a ZIP64 end-record locator")
            }
            let record = try r.u64(eocd - 20 + 8, "ZIP64 locator")
            guard try r.u32(record, "ZIP64 end record") == 0x0606_4B50 else {
                throw ModelFormatError.malformedHeader(path: path, reason: "ZIP64 end record not found at byte \(record)")
            }
            entries = try r.u64(record + 32, "ZIP64 end record")
            directorySize = try r.u64(record + 40, "ZIP64 end record")
            directoryOffset = try r.u64(record + 48, "ZIP64 end record")
        }
        try r.check(directoryOffset, directorySize, "ZIP central directory")
        var members: [Member] = []
        var o = directoryOffset
        for _ in 0..<entries {
            guard try r.u32(o, "ZIP central directory") == 0x0201_4B50 else {
                throw ModelFormatError.malformedHeader(path: path, reason: "bad ZIP central-directory entry at byte \(o)")
            }
            let flags = try r.u16(o + 8, "ZIP central directory")
            let method = try r.u16(o + 10, "ZIP central directory")
            let crc = try r.u32(o + 16, "ZIP central directory")
            var compressed = Int(try r.u32(o + 20, "ZIP central directory"))
            var size = Int(try r.u32(o + 24, "ZIP central directory"))
            let nameLength = try r.u16(o + 28, "ZIP central directory")
            let extraLength = try r.u16(o + 30, "ZIP central directory")
            let commentLength = try r.u16(o + 32, "ZIP central directory")
            var local = Int(try r.u32(o + 42, "ZIP central directory"))
            let name = String(decoding: try r.slice(o + 46, nameLength, "ZIP member name"), as: UTF8.self)
            // ZIP64 extended information (header 0x0001): the 64-bit values of the fields that read 0xFFFFFFFF, in order.
            var e = o + 46 + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let id = try r.u16(e, "ZIP extra field"), length = try r.u16(e + 2, "ZIP extra field")
                if id == 0x0001 {
                    var p = e + 4
                    if size == 0xFFFF_FFFF { size = try r.u64(p, "ZIP64 extra field"); p += 8 }
                    if compressed == 0xFFFF_FFFF { compressed = try r.u64(p, "ZIP64 extra field"); p += 8 }
                    if local == 0xFFFF_FFFF { local = try r.u64(p, "ZIP64 extra field"); p += 8 }
                }
                e += 4 + length
            }
            members.append(Member(name: name, method: method, flags: flags, crc: crc, compressedSize: compressed,
                                  size: size, localHeaderOffset: local))
            o = extraEnd + commentLength
        }
        return members
    }

    static func extract(_ m: Member, from r: ByteReader) throws -> Data {
        let path = r.path, quoted = ModelFormatError.quote(m.name)
        guard m.flags & 1 == 0 else { throw ModelFormatError.malformedHeader(path: path, reason: "member \(quoted) is encrypted") }
        guard try r.u32(m.localHeaderOffset, "ZIP local header of \(quoted)") == 0x0403_4B50 else {
            throw ModelFormatError.malformedHeader(path: path, reason: "member \(quoted): no local header at byte \(m.localHeaderOffset)")
        }
        let nameLength = try r.u16(m.localHeaderOffset + 26, "ZIP local header")
        let extraLength = try r.u16(m.localHeaderOffset + 28, "ZIP local header")
        let start = m.localHeaderOffset + 30 + nameLength + extraLength
        let stored = try r.slice(start, m.compressedSize, "member \(quoted) (\(m.compressedSize) bytes at \(start))")
        let content: Data
        switch m.method {
        case 0:
            guard m.compressedSize == m.size else {
                throw ModelFormatError.malformedHeader(path: path, reason: "stored member \(quoted) has sizes \(m.compressedSize) and \(m.size)")
            }
            content = stored
        case 8:
            content = try inflateRaw(stored, expectedSize: m.size, path: path, member: m.name)
        default:
            throw ModelFormatError.unsupportedType(path: path, tensor: m.name, type: "ZIP compression method \(m.method)")
        }
        let crc = content.withUnsafeBytes { raw -> UInt32 in
            var c: uLong = crc32(0, nil, 0)
            var offset = 0
            while offset < raw.count {
                let n = min(raw.count - offset, 1 << 30)
                c = crc32(c, raw.baseAddress!.advanced(by: offset).assumingMemoryBound(to: Bytef.self), uInt(n))
                offset += n
            }
            return UInt32(truncatingIfNeeded: c)
        }
        guard crc == m.crc else {
            throw ModelFormatError.malformedHeader(path: path, reason: "member \(quoted) fails its CRC-32 check (damaged file)")
        }
        return content
    }

    /// Raw deflate (RFC 1951, zlib windowBits −15) of a member whose uncompressed size is known.
    static func inflateRaw(_ input: Data, expectedSize: Int, path: String, member: String) throws -> Data {
        var stream = z_stream()
        guard inflateInit2_(&stream, -MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ModelFormatError.malformedHeader(path: path, reason: "zlib could not be initialised")
        }
        defer { inflateEnd(&stream) }
        var output = Data(count: expectedSize)
        let quoted = ModelFormatError.quote(member)
        let chunk = 1 << 30
        var status: Int32 = Z_OK
        var produced = 0
        try input.withUnsafeBytes { (inRaw: UnsafeRawBufferPointer) in
            try output.withUnsafeMutableBytes { (outRaw: UnsafeMutableRawBufferPointer) in
                var consumed = 0
                while true {
                    if stream.avail_in == 0, consumed < inRaw.count {
                        let n = min(chunk, inRaw.count - consumed)
                        stream.next_in = UnsafeMutablePointer(mutating: inRaw.baseAddress!.advanced(by: consumed).assumingMemoryBound(to: Bytef.self))
                        stream.avail_in = uInt(n)
                        consumed += n
                    }
                    // One spare byte beyond the expected size, so a member longer than its stated size is noticed.
                    var spare: UInt8 = 0
                    let before = Int(stream.total_out)
                    if before < expectedSize {
                        let n = min(chunk, expectedSize - before)
                        stream.next_out = outRaw.baseAddress!.advanced(by: before).assumingMemoryBound(to: Bytef.self)
                        stream.avail_out = uInt(n)
                        status = inflate(&stream, Z_NO_FLUSH)
                    } else {
                        status = withUnsafeMutablePointer(to: &spare) { p in
                            stream.next_out = p
                            stream.avail_out = 1
                            return inflate(&stream, Z_NO_FLUSH)
                        }
                    }
                    produced = Int(stream.total_out)
                    if status == Z_STREAM_END { return }
                    guard status == Z_OK else {
                        if status == Z_BUF_ERROR, stream.avail_in == 0, consumed == inRaw.count {
                            throw ModelFormatError.truncated(path: path, what: "deflated member \(quoted)")
                        }
                        let message = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
                        throw ModelFormatError.malformedHeader(path: path, reason: "member \(quoted): \(message)")
                    }
                    if produced > expectedSize { break }
                }
            }
        }
        guard produced == expectedSize else {
            throw ModelFormatError.malformedHeader(path: path, reason: "member \(quoted) inflates to \(produced) bytes, the directory says \(expectedSize)")
        }
        return output
    }
}
