import CKernels

/// Which implementation of semprog's C kernels runs: the portable C loops, AVX2/FMA/F16C, or AVX-512 (F, BW, DQ,
/// VL). AVX2 and AVX-512 give the same bits on every kernel (each output keeps its summation order; see the C
/// files), so a study's outputs do not depend on which of them a CPU runs; the portable loops sum in another order
/// (and callers use OpenBLAS instead of the packed GEMM there, as on a CPU without AVX2).
///
/// The active path is the best the CPU runs, unless the environment variable `SEMPROG_KERNELS` (`avx512`, `avx2` or
/// `portable`) names another; it is read once, on first use, and an unknown value or a path the CPU lacks prints one
/// warning naming the variable (stderr) and runs the best available path up to the one asked for.
public enum KernelPath: String, CaseIterable, Sendable, CustomStringConvertible {
    case portable, avx2, avx512

    var code: Int32 {
        switch self {
        case .portable: Int32(CK_PATH_PORTABLE)
        case .avx2: Int32(CK_PATH_AVX2)
        case .avx512: Int32(CK_PATH_AVX512)
        }
    }

    init(code: Int32) {
        switch code {
        case Int32(CK_PATH_AVX512): self = .avx512
        case Int32(CK_PATH_AVX2): self = .avx2
        default: self = .portable
        }
    }

    /// The name as `SEMPROG_KERNELS` spells it.
    public var description: String { rawValue }

    /// Whether this CPU (and its OS) runs the path.
    public var isSupported: Bool { ck_cpu_supports(code) != 0 }

    /// The path the kernels run: `SEMPROG_KERNELS` or the best this CPU supports.
    public static var active: KernelPath { KernelPath(code: ck_kernel_path()) }

    /// The warning `SEMPROG_KERNELS` produced (nil when it was unset or valid for this CPU).
    public static var environmentWarning: String? {
        let text = String(cString: ck_kernel_path_warning())
        return text.isEmpty ? nil : text
    }

    /// The path `SEMPROG_KERNELS=value` selects on this CPU and the warning it gives (nil when none).
    public static func parse(environmentValue value: String?) -> (path: KernelPath, warning: String?) {
        var message = [CChar](repeating: 0, count: 256)
        let code = message.withUnsafeMutableBufferPointer { buffer in
            ck_parse_kernel_path(value, buffer.baseAddress, buffer.count)
        }
        let warning = String(cString: message)
        return (KernelPath(code: code), warning.isEmpty ? nil : warning)
    }

    /// Runs `body` with `path` active for the whole process (tests compare whole model runs on two paths), then
    /// restores the previous path. Only SIMD paths can be switched to at run time: whether the packed kernels are
    /// used at all (`PackedMatrix.isAccelerated`) is decided once, so `.portable` needs `SEMPROG_KERNELS=portable`.
    /// Returns nil without running `body` when the CPU lacks the path.
    public static func withActive<T>(_ path: KernelPath, _ body: () throws -> T) rethrows -> T? {
        precondition(path != .portable, "KernelPath.withActive: .portable is chosen by SEMPROG_KERNELS only")
        let previous = ck_set_kernel_path(path.code)
        guard previous >= 0 else { return nil }
        defer { _ = ck_set_kernel_path(previous) }
        return try body()
    }
}
