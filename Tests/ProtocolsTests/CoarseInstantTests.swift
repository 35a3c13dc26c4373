import Protocols
import XCTest

final class CoarseInstantTests: XCTestCase {
    private let ms: UInt64 = 1_000_000

    func testWholeMillisecondsAreExact() {
        XCTAssertEqual(CoarseInstant(1_000 * ms).elapsed(until: 31_000 * ms), .seconds(30))
        XCTAssertEqual(CoarseInstant(7 * ms).elapsed(until: 7 * ms), .zero)
    }

    func testItRoundsUpNeverDown() {
        // The instant drops its 999,999 ns; the span read back is longer by that, never shorter.
        let then: UInt64 = 5 * ms + 999_999
        let now: UInt64 = 10 * ms + 1
        XCTAssertEqual(CoarseInstant(then).elapsed(until: now), .nanoseconds(now - 5 * ms))
        XCTAssertGreaterThanOrEqual(CoarseInstant(then).elapsed(until: now), .nanoseconds(now - then))
        XCTAssertLessThan(CoarseInstant(then).elapsed(until: now), .nanoseconds(now - then) + .milliseconds(1))
    }

    func testSpansAcrossTheWrapOf32BitsAreRight() {
        // 2^32 ms after the clock's origin the count wraps to 0: a span across it still reads true.
        let wrap = (UInt64(1) << 32) * ms
        XCTAssertEqual(CoarseInstant(wrap - 2_000 * ms).elapsed(until: wrap + 3_000 * ms), .seconds(5))
        XCTAssertEqual(CoarseInstant(wrap * 3 - 1 * ms).elapsed(until: wrap * 3), .milliseconds(1))
    }

    func testItIsFourBytes() {
        // Two of them in every idle WebSocket (issue 18); nil takes one byte more.
        XCTAssertEqual(MemoryLayout<CoarseInstant>.size, 4)
        XCTAssertEqual(MemoryLayout<CoarseInstant?>.size, 5)
    }
}
