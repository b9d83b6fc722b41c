import CCairo
import Foundation

/// Decoded pixels of a PNG (or of an image canvas), for checks of rendered figures.
public struct Raster: Sendable {
    public let width: Int
    public let height: Int
    /// Premultiplied ARGB32 pixels, row-major.
    public let pixels: [UInt32]

    /// Decodes PNG bytes with Cairo.
    public init(png: Data) throws {
        final class Source { var data: Data; var offset = 0; init(_ d: Data) { data = d } }
        let source = Source(png)
        let read: cairo_read_func_t = { closure, buffer, length in
            guard let closure, let buffer else { return CAIRO_STATUS_READ_ERROR }
            let s = Unmanaged<Source>.fromOpaque(closure).takeUnretainedValue()
            let n = Int(length)
            guard s.offset + n <= s.data.count else { return CAIRO_STATUS_READ_ERROR }
            s.data.copyBytes(to: buffer, from: s.offset..<(s.offset + n))
            s.offset += n
            return CAIRO_STATUS_SUCCESS
        }
        let surface = withExtendedLifetime(source) {
            cairo_image_surface_create_from_png_stream(read, Unmanaged.passUnretained(source).toOpaque())!
        }
        defer { cairo_surface_destroy(surface) }
        try check(cairo_surface_status(surface), "decoding PNG")
        self.init(imageSurface: surface)
    }

    init(imageSurface s: OpaquePointer) {
        cairo_surface_flush(s)
        width = Int(cairo_image_surface_get_width(s))
        height = Int(cairo_image_surface_get_height(s))
        let stride = Int(cairo_image_surface_get_stride(s))
        var px = [UInt32](repeating: 0, count: width * height)
        if let base = cairo_image_surface_get_data(s) {
            for y in 0..<height {
                let row = UnsafeRawPointer(base + y * stride).assumingMemoryBound(to: UInt32.self)
                for x in 0..<width { px[y * width + x] = row[x] }
            }
        }
        pixels = px
    }

    /// Colour at pixel (x, y), un-premultiplied.
    public func color(x: Int, y: Int) -> Color {
        let p = pixels[y * width + x]
        let a = Double((p >> 24) & 0xFF) / 255
        guard a > 0 else { return Color(red: 0, green: 0, blue: 0, alpha: 0) }
        return Color(red: Double((p >> 16) & 0xFF) / 255 / a, green: Double((p >> 8) & 0xFF) / 255 / a,
                     blue: Double(p & 0xFF) / 255 / a, alpha: a)
    }
}

extension Canvas {
    /// Pixels drawn so far on an image (PNG) canvas; nil for vector canvases.
    public func raster() -> Raster? {
        guard surface.format == .png else { return nil }
        return Raster(imageSurface: surface.pointer)
    }
}
