import XCTest
@testable import Reactor
import ReactorTestSupport

/// The loop's iteration counters, which `/metrics` exposes: every iteration is counted as it
/// ends, and its duration (from its wait's return to the next wait) when the next one begins.
final class LoopStatisticsTests: XCTestCase {
    func testEveryIterationIsCountedAndTimedByTheNextWait() throws {
        let loop = try EventLoop()
        // A timer that spins for 2 ms inside one iteration: its duration lands in a bucket of
        // iterations of 1,024 µs or more (bucket 11 on; later ones if the thread was preempted).
        var spun = false
        loop.schedule(after: .zero) {
            let start = Sys.monotonicNanoseconds()
            while Sys.monotonicNanoseconds() - start < 2_000_000 {}
            spun = true
        }
        for _ in 0..<10 { loop.runOnce(timeout: .milliseconds(1)) }
        XCTAssertTrue(spun)
        var statistics = loop.statistics
        XCTAssertEqual(statistics.iterations, 10)
        // The tenth is timed only when the eleventh waits.
        XCTAssertEqual(statistics.iterationMicrosecondsBuckets.reduce(0, +), 9)
        loop.runOnce(timeout: .zero)
        statistics = loop.statistics
        XCTAssertEqual(statistics.iterations, 11)
        XCTAssertEqual(statistics.iterationMicrosecondsBuckets.reduce(0, +), 10)
        XCTAssertGreaterThanOrEqual(statistics.iterationMicrosecondsBuckets[11...].reduce(0, +), 1,
                                    "the 2 ms iteration: \(statistics.iterationMicrosecondsBuckets)")
        XCTAssertGreaterThanOrEqual(statistics.iterationNanosecondsTotal, 2_000_000)
    }
}
