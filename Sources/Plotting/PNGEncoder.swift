import CCairo
import CZlib
import Foundation

/// PNG writer for Cairo image surfaces (RGBA, 8 bits, "Sub" row filter, zlib level 1).
///
/// Cairo's own writer goes through libpng with adaptive filtering and zlib level 6, which dominated report time;
/// plots are large flat areas, so one fixed filter and a fast zlib level give nearly the same size several times
/// faster. Format: PNG specification (ISO/IEC 15948), chunks IHDR, IDAT, IEND with CRC-32 over type + data.
enum PNGEncoder {
    static func encode(imageSurface s: OpaquePointer) throws -> Data {
        cairo_surface_flush(s)
        let width = Int(cairo_image_surface_get_width(s)), height = Int(cairo_image_surface_get_height(s))
        let stride = Int(cairo_image_surface_get_stride(s))
        guard let base = cairo_image_surface_get_data(s), width > 0, height > 0 else {
            throw PlotError.cairo(operation: "encoding PNG", status: "image surface has no pixels")
        }
        let rowBytes = width * 4 + 1
        var raw = [UInt8](repeating: 0, count: rowBytes * height)
        raw.withUnsafeMutableBufferPointer { buffer in
            let out = buffer.baseAddress!
            for y in 0..<height {
                let row = UnsafeRawPointer(base + y * stride).assumingMemoryBound(to: UInt32.self)
                let o = out + y * rowBytes
                o[0] = 1  // filter type Sub: each byte minus the byte 4 to its left
                var previous: UInt32 = 0  // RGBA of the pixel to the left, packed little-endian
                for x in 0..<width {
                    let p = row[x]
                    let a = p >> 24
                    var r = (p >> 16) & 0xFF, g = (p >> 8) & 0xFF, b = p & 0xFF
                    if a != 255 && a != 0 {  // un-premultiply
                        r = min((r * 255 + a / 2) / a, 255); g = min((g * 255 + a / 2) / a, 255)
                        b = min((b * 255 + a / 2) / a, 255)
                    }
                    let rgba = r | (g << 8) | (b << 16) | (a << 24)
                    let q = o + 1 + 4 * x
                    q[0] = UInt8(truncatingIfNeeded: r &- (previous & 0xFF))
                    q[1] = UInt8(truncatingIfNeeded: g &- ((previous >> 8) & 0xFF))
                    q[2] = UInt8(truncatingIfNeeded: b &- ((previous >> 16) & 0xFF))
                    q[3] = UInt8(truncatingIfNeeded: a &- (previous >> 24))
                    previous = rgba
                }
            }
        }
        var destLength = compressBound(uLong(raw.count))
        var compressed = [UInt8](repeating: 0, count: Int(destLength))
        let status = compress2(&compressed, &destLength, raw, uLong(raw.count), 1)
        guard status == Z_OK else { throw PlotError.cairo(operation: "encoding PNG", status: "zlib error \(status)") }
        var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var ihdr = [UInt8]()
        ihdr += bigEndian(UInt32(width)); ihdr += bigEndian(UInt32(height))
        ihdr += [8, 6, 0, 0, 0]  // depth 8, RGBA, deflate, adaptive filtering, no interlace
        chunk("IHDR", ihdr, into: &png)
        chunk("IDAT", compressed[..<Int(destLength)], into: &png)
        chunk("IEND", [], into: &png)
        return png
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

    static func chunk<C: Collection>(_ type: String, _ body: C, into png: inout Data) where C.Element == UInt8 {
        let typeBytes = Array(type.utf8)
        let bodyBytes = Array(body)
        png.append(contentsOf: bigEndian(UInt32(bodyBytes.count)))
        png.append(contentsOf: typeBytes)
        png.append(contentsOf: bodyBytes)
        var crc = crc32(0, typeBytes, uInt(typeBytes.count))
        crc = bodyBytes.withUnsafeBufferPointer { crc32(crc, $0.baseAddress, uInt(bodyBytes.count)) }
        png.append(contentsOf: bigEndian(UInt32(crc)))
    }
}
