/// IEEE-754 binary16 and bfloat16 → Float32 conversions (bit-exact).
public enum HalfPrecision {
    /// binary16 bits → Float32.
    @inlinable public static func float(fromHalf bits: UInt16) -> Float {
        Float(Float16(bitPattern: bits))
    }

    /// bfloat16 bits → Float32 (the upper 16 bits of a Float32).
    @inlinable public static func float(fromBFloat16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Float32 → bfloat16 bits, round to nearest even.
    @inlinable public static func bfloat16(from value: Float) -> UInt16 {
        let b = value.bitPattern
        if value.isNaN { return UInt16(b >> 16) | 0x40 }
        let rounding: UInt32 = 0x7FFF + ((b >> 16) & 1)
        return UInt16((b &+ rounding) >> 16)
    }
}
