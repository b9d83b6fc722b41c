/// The unit a steering magnitude is written in. The raw values are the CLI's `--units` strings and what the
/// database keeps (`sweeps.units`, `generations.magnitude_unit`) and the flat format's `magnitude_unit` column.
///
/// - `absolute`: the magnitude is an activation value of the feature (SAE activation units).
/// - `maxActivation`: the magnitude is a multiple of the feature's max activation over the statistics corpus
///   (`semprog explain`), the unit in which features of different scale are comparable (Templeton et al. 2024,
///   "Scaling Monosemanticity", clamps features to multiples of their max activation).
/// - `factor`: the magnitude is a dimensionless factor of `--method scale` (a′ = m · aᵢ).
public enum MagnitudeUnit: String, Codable, Hashable, Sendable, CaseIterable {
    case absolute
    case maxActivation = "max-activation"
    case factor

    /// The unit of a CLI string or a stored name: the raw values, plus the spellings earlier versions and
    /// other tools use (`max_activation`, `max_activations`, `maxactivation`, `relative`; `activation`;
    /// `scale`). Sweeps imported before units could be named store `imported`: their magnitudes were
    /// always taken as activations, so `imported` reads as `absolute`. Nil for anything else.
    public init?(parsing text: String) {
        switch String(text.lowercased().drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed()) {
        case "absolute", "activation", "imported": self = .absolute
        case "max-activation", "max_activation", "max_activations", "max-activations", "maxactivation", "relative":
            self = .maxActivation
        case "factor", "scale", "scale-factor", "scale_factor": self = .factor
        default: return nil
        }
    }

    /// The CLI strings accepted for `--units` (the raw values), for help and error messages.
    public static var cliNames: [String] { allCases.map(\.rawValue) }

    /// What an axis of this unit is labelled with: "× max activation", "activation" or "scale factor".
    public var axisLabel: String {
        switch self {
        case .absolute: "activation"
        case .maxActivation: "× max activation"
        case .factor: "scale factor"
        }
    }

    /// The unit whose `axisLabel` or `comparisonLabel` is `label` (a report's stored label back to its unit).
    public init?(axisLabel label: String) {
        guard let unit = MagnitudeUnit.allCases.first(where: { $0.axisLabel == label }) else { return nil }
        self = unit
    }

    /// Whether a magnitude in this unit is already a multiple of the feature's max activation (so comparable
    /// across features without dividing by it).
    public var isRelative: Bool { self == .maxActivation }

    /// Whether a value in this unit is an activation (absolute or relative to the max activation), as `clamp`
    /// and `add` need; a `factor` is not.
    public var isActivation: Bool { self != .factor }

    /// The unit a method's magnitudes are in when the user names none: factors for `scale`, multiples of the
    /// max activation for `clamp` and `add`. `method` is the edit method's name (`clamp`, `add`, `scale`).
    public static func defaultUnit(forMethod method: String) -> MagnitudeUnit {
        method == "scale" ? .factor : .maxActivation
    }

    /// Whether magnitudes in this unit make sense for `method` (`clamp`, `add`, `scale`): a scale factor has no
    /// unit, and a clamp or an addition needs an activation.
    public func applies(toMethod method: String) -> Bool { (self == .factor) == (method == "scale") }

    /// The divisor that makes magnitudes of this unit comparable across features (robustness, RQ3; see
    /// `comparisonLabel`): the feature's max activation for `absolute` (nil when it is unknown, zero, negative
    /// or not finite: the feature cannot be compared); 1 for `maxActivation` (already relative) and for `factor`
    /// (a′ = m · aᵢ is relative to the feature's own activation; dividing it by the max activation, as earlier
    /// versions did, mixes units).
    public func comparisonDivisor(maxActivation: Double?) -> Double? {
        switch self {
        case .maxActivation, .factor: return 1
        case .absolute:
            guard let m = maxActivation, m.isFinite, m > 0 else { return nil }
            return m
        }
    }

    /// The unit of a magnitude divided by `comparisonDivisor`: "× max activation", or "scale factor".
    public var comparisonLabel: String { self == .factor ? MagnitudeUnit.factor.axisLabel : MagnitudeUnit.maxActivation.axisLabel }
}

/// A steering magnitude: a value and the unit it is written in, from the CLI to the database, the analysis and
/// the report's axes. `value` is the Double the user wrote (0.1 stays 0.1).
public struct Magnitude: Codable, Hashable, Sendable, CustomStringConvertible {
    public var value: Double
    public var unit: MagnitudeUnit

    public init(_ value: Double, _ unit: MagnitudeUnit) { self.value = value; self.unit = unit }
    public init(value: Double, unit: MagnitudeUnit) { self.value = value; self.unit = unit }

    /// "0.5 × max activation", "4.0 activation", "2.0 scale factor" (shortest Double text).
    public var description: String {
        unit == .maxActivation ? "\(value) × max activation" : "\(value) \(unit.axisLabel)"
    }

    /// The absolute target activation the edit applies, for `method` `clamp` or `add`:
    ///
    ///     absolute:        target = value
    ///     max-activation:  target = value × maxActivation
    ///
    /// (`clamp` sets aᵢ to the target, `add` adds it to aᵢ.) Nil for `scale`, whose target a′ = factor × aᵢ
    /// depends on the activation at each position, and for a relative magnitude without a usable max activation
    /// (unknown, zero, negative or not finite). `maxActivation` is in SAE activation units.
    public func absoluteTarget(method: String, maxActivation: Double?) -> Double? {
        guard method != "scale" else { return nil }
        switch unit {
        case .absolute: return value
        case .maxActivation:
            guard let m = maxActivation, m.isFinite, m > 0 else { return nil }
            return value * m
        case .factor: return nil
        }
    }

    /// The magnitude in multiples of the feature's max activation: value for `maxActivation`, value / max
    /// activation for `absolute`; nil for a factor (no activation) or without a usable max activation.
    public func inMaxActivations(maxActivation: Double?) -> Double? {
        unit == .factor ? nil : unit.comparisonDivisor(maxActivation: maxActivation).map { value / $0 }
    }
}
