import Testing
import Analysis

/// `SpecialFunctions.studentTCriticalValue` against independent values (scipy.stats.t.ppf(0.975, ν) and
/// t.ppf(0.995, ν), printed to 16 digits).
@Suite struct StudentTCriticalValueTests {
    @Test(arguments: [(1.0, 12.706204736174694), (4, 2.7764451051977934), (10, 2.228138851986274),
                      (30, 2.0422724563012378), (1000, 1.9623390808264083)])
    func quantile975(df: Double, expected: Double) {
        #expect(abs(SpecialFunctions.studentTCriticalValue(alpha: 0.05, degreesOfFreedom: df) - expected) < 1e-9 * expected)
    }

    @Test func quantile995() {
        #expect(abs(SpecialFunctions.studentTCriticalValue(alpha: 0.01, degreesOfFreedom: 5) - 4.032142983555228) < 1e-8)
    }
}
