import CCairo
import Foundation

/// Output formats a figure can be rendered to; all share the same drawing code.
public enum OutputFormat: String, Sendable, CaseIterable, Codable {
    case png, svg, pdf
}

/// Throws `PlotError.cairo` unless `status` is success.
@inline(__always)
func check(_ status: cairo_status_t, _ operation: String) throws {
    guard status == CAIRO_STATUS_SUCCESS else {
        throw PlotError.cairo(operation: operation, status: String(cString: cairo_status_to_string(status)))
    }
}

/// Collects the bytes Cairo streams out (PNG, SVG, PDF writers).
final class ByteSink {
    var data = Data()
}

/// The C write callback that appends to a `ByteSink` passed as the closure pointer.
let appendToSink: cairo_write_func_t = { closure, bytes, length in
    guard let closure, let bytes else { return CAIRO_STATUS_WRITE_ERROR }
    let sink = Unmanaged<ByteSink>.fromOpaque(closure).takeUnretainedValue()
    sink.data.append(bytes, count: Int(length))
    return CAIRO_STATUS_SUCCESS
}

/// Owns a `cairo_surface_t` (image, SVG or PDF) and destroys it on deinit.
public final class CairoSurface {
    let pointer: OpaquePointer
    /// Keeps the stream sink alive as long as the surface writes into it.
    let sink: ByteSink?
    public let format: OutputFormat
    /// Size in points (PDF/SVG) or pixels / scale (PNG).
    public let width: Double
    public let height: Double
    /// Pixels per point for PNG output; 1 for vector formats.
    public let scale: Double

    private init(pointer: OpaquePointer, sink: ByteSink?, format: OutputFormat, width: Double, height: Double,
                 scale: Double) throws {
        self.pointer = pointer
        self.sink = sink
        self.format = format
        self.width = width
        self.height = height
        self.scale = scale
        try check(cairo_surface_status(pointer), "creating the \(format.rawValue) surface")
    }

    /// Creates a surface of `width` × `height` points. PNG surfaces have `scale` pixels per point.
    public static func make(_ format: OutputFormat, width: Double, height: Double, scale: Double = 2) throws -> CairoSurface {
        guard width.isFinite, height.isFinite, width >= 1, height >= 1, width <= 20000, height <= 20000 else {
            throw PlotError.invalidData(field: "figure size", reason: "\(width)×\(height) points is not a drawable size")
        }
        switch format {
        case .png:
            let s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, Int32((width * scale).rounded()),
                                               Int32((height * scale).rounded()))!
            return try CairoSurface(pointer: s, sink: nil, format: .png, width: width, height: height, scale: scale)
        case .svg:
            let sink = ByteSink()
            let s = cairo_svg_surface_create_for_stream(appendToSink, Unmanaged.passUnretained(sink).toOpaque(),
                                                        width, height)!
            return try CairoSurface(pointer: s, sink: sink, format: .svg, width: width, height: height, scale: 1)
        case .pdf:
            let sink = ByteSink()
            let s = cairo_pdf_surface_create_for_stream(appendToSink, Unmanaged.passUnretained(sink).toOpaque(),
                                                        width, height)!
            // Cairo stamps the wall-clock time otherwise: pin a fixed date so the same drawing gives the same
            // bytes (setPDFMetadata replaces it with the run's date where one is known).
            cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATE_DATE, "2000-01-01T00:00:00Z")
            cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_MOD_DATE, "2000-01-01T00:00:00Z")
            return try CairoSurface(pointer: s, sink: sink, format: .pdf, width: width, height: height, scale: 1)
        }
    }

    /// PDF metadata: pins the creation date (ISO 8601, e.g. "2026-01-31T12:00:00Z") so output is reproducible.
    public func setPDFMetadata(title: String?, author: String?, creationDate: String?) throws {
        guard format == .pdf else { return }
        if let title { cairo_pdf_surface_set_metadata(pointer, CAIRO_PDF_METADATA_TITLE, title) }
        if let author { cairo_pdf_surface_set_metadata(pointer, CAIRO_PDF_METADATA_AUTHOR, author) }
        if let creationDate {
            cairo_pdf_surface_set_metadata(pointer, CAIRO_PDF_METADATA_CREATE_DATE, creationDate)
            cairo_pdf_surface_set_metadata(pointer, CAIRO_PDF_METADATA_MOD_DATE, creationDate)
        }
        cairo_pdf_surface_set_metadata(pointer, CAIRO_PDF_METADATA_CREATOR, "semprog")
        try check(cairo_surface_status(pointer), "setting PDF metadata")
    }

    /// Finishes the surface and returns the encoded bytes (PNG-encodes image surfaces).
    public func finish() throws -> Data {
        cairo_surface_flush(pointer)
        switch format {
        case .png:
            try check(cairo_surface_status(pointer), "drawing on the image surface")
            return try PNGEncoder.encode(imageSurface: pointer)
        case .svg, .pdf:
            cairo_surface_finish(pointer)
            try check(cairo_surface_status(pointer), "finishing the \(format.rawValue) surface")
            return sink?.data ?? Data()
        }
    }

    deinit { cairo_surface_destroy(pointer) }
}

/// Owns a `cairo_t` drawing context on a surface.
public final class CairoContext {
    let pointer: OpaquePointer
    public let surface: CairoSurface

    public init(surface: CairoSurface) throws {
        self.surface = surface
        pointer = cairo_create(surface.pointer)!
        try check(cairo_status(pointer), "creating the drawing context")
        if surface.scale != 1 { cairo_scale(pointer, surface.scale, surface.scale) }
        // Deterministic, hinting-free text so PNG/SVG/PDF agree and output is reproducible.
        let options = cairo_font_options_create()
        cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE)
        cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF)
        cairo_font_options_set_antialias(options, CAIRO_ANTIALIAS_GRAY)
        cairo_set_font_options(pointer, options)
        cairo_font_options_destroy(options)
    }

    /// Status of the context; throws if any drawing call failed.
    public func checkStatus(_ operation: String) throws {
        try check(cairo_status(pointer), operation)
    }

    deinit { cairo_destroy(pointer) }
}
