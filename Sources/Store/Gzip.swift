import CZlib
import Foundation

/// gzip (RFC 1952) through zlib: `inflateInit2` with windowBits 16 + MAX_WBITS makes zlib read and check the gzip
/// header and CRC-32 trailer. Concatenated members (as `cat a.gz b.gz` makes) are read one after another.
public enum Gzip {
    /// Decompresses a whole gzip file held in memory. A stream that ends before its trailer throws
    /// `StoreError.gzip(file:, reason: "gzip stream cut short …")`; damaged data throws with zlib's message.
    public static func decompress(_ data: Data, file: String) throws -> Data {
        guard !data.isEmpty else { throw StoreError.gzip(file: file, reason: "gzip stream cut short (the file is empty)") }
        var stream = z_stream()
        guard inflateInit2_(&stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw StoreError.gzip(file: file, reason: "zlib could not be initialised")
        }
        defer { inflateEnd(&stream) }
        var output = Data()
        let chunkSize = 1 << 16
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
            stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress!)
            stream.avail_in = uInt(input.count)
            while true {
                let status: Int32 = chunk.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(chunkSize)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunkSize - Int(stream.avail_out)
                if produced > 0 { output.append(contentsOf: chunk[0..<produced]) }
                switch status {
                case Z_STREAM_END:
                    guard stream.avail_in > 0 else { return }
                    // Another member follows, or trailing bytes that are not gzip.
                    let offset = input.count - Int(stream.avail_in)
                    guard stream.avail_in >= 2, input[offset] == 0x1F, input[offset + 1] == 0x8B else {
                        throw StoreError.gzip(file: file, reason: "unexpected data after the end of the gzip stream (at byte \(offset))")
                    }
                    guard inflateReset(&stream) == Z_OK else { throw StoreError.gzip(file: file, reason: "zlib reset failed") }
                case Z_OK:
                    if stream.avail_in == 0 && produced < chunkSize {
                        throw StoreError.gzip(file: file, reason: "gzip stream cut short (the file ends before the end of the compressed data)")
                    }
                case Z_BUF_ERROR:
                    throw StoreError.gzip(file: file, reason: "gzip stream cut short (the file ends before the end of the compressed data)")
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                    throw StoreError.gzip(file: file, reason: "not a valid gzip stream: \(message)")
                }
            }
        }
        return output
    }

    /// Compresses `data` into one gzip member (used to write test fixtures and exports).
    public static func compress(_ data: Data, level: Int32 = Z_DEFAULT_COMPRESSION) throws -> Data {
        var stream = z_stream()
        guard deflateInit2_(&stream, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
                            Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw StoreError.gzip(file: "(memory)", reason: "zlib could not be initialised")
        }
        defer { deflateEnd(&stream) }
        var output = Data()
        let chunkSize = 1 << 16
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
            // Empty input has no base address; zlib reads nothing when avail_in is 0, so nil is fine then.
            stream.next_in = input.isEmpty ? nil : UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
            stream.avail_in = uInt(input.count)
            var status: Int32 = Z_OK
            repeat {
                status = chunk.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(chunkSize)
                    return deflate(&stream, Z_FINISH)
                }
                guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                    throw StoreError.gzip(file: "(memory)", reason: "deflate failed with status \(status)")
                }
                output.append(contentsOf: chunk[0..<(chunkSize - Int(stream.avail_out))])
            } while status != Z_STREAM_END
        }
        return output
    }
}
