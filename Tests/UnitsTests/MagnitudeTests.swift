import Testing
import Units

@Suite struct MagnitudeUnitTests {
    @Test func parsesTheCLINamesAndEarlierSpellings() {
        #expect(MagnitudeUnit(parsing: "absolute") == .absolute)
        #expect(MagnitudeUnit(parsing: "max-activation") == .maxActivation)
        #expect(MagnitudeUnit(parsing: "factor") == .factor)
        // Spellings stored by earlier versions and tests (`max_activation`), and imported sweeps.
        #expect(MagnitudeUnit(parsing: "max_activation") == .maxActivation)
        #expect(MagnitudeUnit(parsing: " Max-Activation ") == .maxActivation)
        #expect(MagnitudeUnit(parsing: "imported") == .absolute)
        #expect(MagnitudeUnit(parsing: "volts") == nil)
        #expect(MagnitudeUnit(parsing: "") == nil)
        #expect(MagnitudeUnit.cliNames == ["absolute", "max-activation", "factor"])
    }

    @Test func axisLabelsAndBack() {
        #expect(MagnitudeUnit.maxActivation.axisLabel == "× max activation")
        #expect(MagnitudeUnit.absolute.axisLabel == "activation")
        #expect(MagnitudeUnit.factor.axisLabel == "scale factor")
        for u in MagnitudeUnit.allCases { #expect(MagnitudeUnit(axisLabel: u.axisLabel) == u) }
        #expect(MagnitudeUnit(axisLabel: "max-activation") == nil)
    }

    @Test func relativeAndMethods() {
        #expect(MagnitudeUnit.maxActivation.isRelative)
        #expect(!MagnitudeUnit.absolute.isRelative && !MagnitudeUnit.factor.isRelative)
        #expect(MagnitudeUnit.defaultUnit(forMethod: "scale") == .factor)
        #expect(MagnitudeUnit.defaultUnit(forMethod: "clamp") == .maxActivation)
        #expect(MagnitudeUnit.factor.applies(toMethod: "scale"))
        #expect(!MagnitudeUnit.factor.applies(toMethod: "add"))
        #expect(!MagnitudeUnit.absolute.applies(toMethod: "scale"))
    }

    /// clamp/add: target = value (absolute) or value × max activation; scale: none (a′ = factor · aᵢ).
    @Test func absoluteTarget() {
        #expect(Magnitude(1.5, .maxActivation).absoluteTarget(method: "clamp", maxActivation: 40) == 60)
        #expect(Magnitude(1.5, .maxActivation).absoluteTarget(method: "add", maxActivation: 40) == 60)
        #expect(Magnitude(1.5, .absolute).absoluteTarget(method: "clamp", maxActivation: 40) == 1.5)
        #expect(Magnitude(1.5, .absolute).absoluteTarget(method: "add", maxActivation: nil) == 1.5)
        #expect(Magnitude(2, .factor).absoluteTarget(method: "scale", maxActivation: 40) == nil)
        #expect(Magnitude(1.5, .maxActivation).absoluteTarget(method: "clamp", maxActivation: nil) == nil)
        #expect(Magnitude(1.5, .maxActivation).absoluteTarget(method: "clamp", maxActivation: 0) == nil)
        #expect(Magnitude(1.5, .maxActivation).absoluteTarget(method: "clamp", maxActivation: .infinity) == nil)
    }

    /// Robustness across features: absolute magnitudes are divided by the max activation, relative ones and
    /// scale factors are not (a factor divided by a max activation mixes units).
    @Test func comparisonDivisor() {
        #expect(MagnitudeUnit.absolute.comparisonDivisor(maxActivation: 8) == 8)
        #expect(MagnitudeUnit.absolute.comparisonDivisor(maxActivation: nil) == nil)
        #expect(MagnitudeUnit.absolute.comparisonDivisor(maxActivation: -1) == nil)
        #expect(MagnitudeUnit.maxActivation.comparisonDivisor(maxActivation: 8) == 1)
        #expect(MagnitudeUnit.factor.comparisonDivisor(maxActivation: 8) == 1)
        #expect(MagnitudeUnit.factor.comparisonLabel == "scale factor")
        #expect(MagnitudeUnit.absolute.comparisonLabel == "× max activation")
        #expect(Magnitude(4, .absolute).inMaxActivations(maxActivation: 8) == 0.5)
        #expect(Magnitude(4, .factor).inMaxActivations(maxActivation: 8) == nil)
    }

    @Test func descriptionAndCodable() throws {
        #expect(Magnitude(0.1, .maxActivation).description == "0.1 × max activation")
        #expect(Magnitude(4, .absolute).description == "4.0 activation")
        #expect(MagnitudeUnit(rawValue: "max-activation") == .maxActivation)
    }
}
