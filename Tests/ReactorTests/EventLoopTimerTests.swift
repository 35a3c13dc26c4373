import XCTest
@testable import Reactor
import ReactorTestSupport

/// Timers through the loop's public API, the loop driven by `runOnce` on the test's thread
/// (the embedding mode).
final class EventLoopTimerTests: XCTestCase {
    func run(_ loop: EventLoop, until condition: () -> Bool, seconds: Double = 5) {
        let deadline = loop.now + UInt64(seconds * 1e9)
        while !condition() && loop.now < deadline { loop.runOnce(timeout: .milliseconds(50)) }
    }

    func testTimersFireInOrderAndCancelledOnesDoNot() throws {
        let loop = try EventLoop()
        var fired: [Int] = []
        loop.schedule(after: .milliseconds(30)) { fired.append(30) }
        loop.schedule(after: .milliseconds(10)) { fired.append(10) }
        let cancelled = loop.schedule(after: .milliseconds(15)) { fired.append(15) }
        loop.schedule(after: .milliseconds(20)) { fired.append(20) }
        loop.cancel(cancelled)
        run(loop) { fired.count == 3 }
        loop.runOnce(timeout: .milliseconds(30))
        XCTAssertEqual(fired, [10, 20, 30])
        XCTAssertEqual(loop.armedTimerCount, 0)
    }

    func testTimerMayCancelAnotherDueInTheSameIteration() throws {
        let loop = try EventLoop()
        var fired: [String] = []
        var second: TimerID?
        loop.schedule(after: .milliseconds(5)) {
            fired.append("first")
            if let second { loop.cancel(second) }
        }
        second = loop.schedule(after: .milliseconds(5)) { fired.append("second") }
        let start = loop.now
        run(loop, until: { loop.now - start > 40_000_000 })
        // Both were due together; whichever ran first, the cancelled one must not also run after.
        XCTAssertEqual(fired.count, 1, "\(fired)")
    }

    func testRepeatingTimerAndItsCancellation() throws {
        let loop = try EventLoop()
        var ticks = 0
        var id: TimerID?
        id = loop.scheduleRepeating(every: .milliseconds(5)) {
            ticks += 1
            if ticks == 4 { loop.cancel(id!) }
        }
        let start = loop.now
        run(loop, until: { loop.now - start > 80_000_000 })
        XCTAssertEqual(ticks, 4)
        XCTAssertFalse(loop.isArmed(id!))
    }

    func testTimerDoesNotFireEarly() throws {
        let loop = try EventLoop()
        let start = Sys.monotonicNanoseconds()
        var firedAt: UInt64 = 0
        loop.schedule(after: .milliseconds(25)) { firedAt = Sys.monotonicNanoseconds() }
        run(loop) { firedAt != 0 }
        XCTAssertGreaterThanOrEqual(firedAt - start, 25_000_000)
    }

    func testIdleLoopSleepsUntilItsTimer() throws {
        let loop = try EventLoop()
        var fired = false
        loop.schedule(after: .milliseconds(200)) { fired = true }
        let before = loop.iterationCount
        run(loop) { fired }
        XCTAssertTrue(fired)
        // A loop that computed its timeout wrongly would spin thousands of times here.
        XCTAssertLessThan(loop.iterationCount - before, 20)
    }
}
