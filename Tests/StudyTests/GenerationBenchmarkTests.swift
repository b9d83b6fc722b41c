import Testing
@testable import Study

/// The pure parts of `semprog bench generate` (`GenerationBenchmark`); the timings themselves are not tested.
@Suite struct GenerationBenchmarkTests {
    @Test func listsOfPositiveIntegers() {
        #expect(GenerationBenchmark.positiveIntegers("64,512") == [64, 512])
        #expect(GenerationBenchmark.positiveIntegers(" 1, 8 ,32") == [1, 8, 32])
        for bad in ["", ",", "0", "8,-1", "8,x"] { #expect(GenerationBenchmark.positiveIntegers(bad) == nil, "\(bad)") }
    }

    @Test func medianIsTheMiddleOfTheSortedRuns() {
        #expect(GenerationBenchmark.median([3, 1, 2]) == 2)
        #expect(GenerationBenchmark.median([5]) == 5)
        #expect(GenerationBenchmark.median([4, 1, 3, 2]) == 3)   // even count: the upper middle value
    }

    @Test func peakMemoryComesFromVmHWM() {
        let status = "Name:\tsemprog\nVmPeak:\t  999999 kB\nVmHWM:\t    2048 kB\nVmRSS:\t 1024 kB\n"
        #expect(GenerationBenchmark.peakResidentMiB(status: status) == 2)
        #expect(GenerationBenchmark.peakResidentMiB(status: "Name:\tx\n").isNaN)
        #expect(GenerationBenchmark.peakResidentMiB(status: nil).isNaN)
    }
}
