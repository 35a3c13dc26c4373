import XCTest
@testable import Reactor
import ReactorTestSupport

/// The wheel on its own: arm, cancel, expiry across revolutions, repeating timers.
final class TimerWheelTests: XCTestCase {
    func drain(_ wheel: inout TimerWheel) -> [UInt64] {
        var fired: [UInt64] = []
        while let (_, payload) = wheel.popDue() { fired.append(payload) }
        return fired
    }

    func testExpiresInDeadlineOrderAcrossTicks() {
        var wheel = TimerWheel(startTick: 0)
        _ = wheel.arm(at: 30, periodTicks: 0, payload: 3)
        _ = wheel.arm(at: 10, periodTicks: 0, payload: 1)
        _ = wheel.arm(at: 20, periodTicks: 0, payload: 2)
        var order: [UInt64] = []
        for tick in stride(from: UInt64(5), through: 35, by: 5) {
            wheel.collectExpired(now: tick)
            order += drain(&wheel)
        }
        XCTAssertEqual(order, [1, 2, 3])
        XCTAssertEqual(wheel.armedCount, 0)
    }

    /// Nodes are taken from the free list before new ones, and through a growth (64, then 128,
    /// 256 nodes) every timer keeps its place and fires; an id past the nodes ever used is not
    /// armed (the untouched part of the array is never read).
    func testGrowthKeepsTimersAndReleasedNodesAreReusedFirst() {
        var wheel = TimerWheel(startTick: 0)
        var ids = (0..<200).map { wheel.arm(at: 10 + UInt64($0 % 7), periodTicks: 0, payload: UInt64($0)) }
        XCTAssertEqual(Set(ids.map(\.index)).count, 200)
        XCTAssertEqual(ids.map(\.index).max(), 199)
        for id in ids.prefix(50) { XCTAssertTrue(wheel.cancel(id)) }
        ids = (0..<50).map { wheel.arm(at: 30, periodTicks: 0, payload: 1000 + UInt64($0)) }
        XCTAssertEqual(ids.map(\.index).max(), 49, "released nodes first, no new ones")
        XCTAssertFalse(wheel.isArmed(TimerID(index: 200, generation: 0)), "a node never used")
        wheel.collectExpired(now: 40)
        XCTAssertEqual(Set(drain(&wheel)), Set((50..<200).map { UInt64($0) } + (0..<50).map { 1000 + UInt64($0) }))
        XCTAssertEqual(wheel.armedCount, 0)
    }

    /// A connection with a timeout holds a node: its bytes count per idle connection (issue 18).
    func testANodeIs32Bytes() {
        XCTAssertEqual(MemoryLayout<TimerWheel.Node>.stride, 32)
    }

    /// A node moved by `postpone` stays in its first slot; one already due cannot be postponed,
    /// and the sweep that reaches the first slot carries the postponed one on to fire on time.
    func testPostponeKnowsDueNodesByTheirDeadline() {
        var wheel = TimerWheel(startTick: 0)
        let a = wheel.arm(at: 10, periodTicks: 0, payload: 1)
        let b = wheel.arm(at: 10, periodTicks: 0, payload: 2)
        XCTAssertTrue(wheel.postpone(a, to: 25))
        wheel.collectExpired(now: 12)
        XCTAssertFalse(wheel.postpone(b, to: 40), "b is on the due list")
        XCTAssertEqual(drain(&wheel), [2])
        wheel.collectExpired(now: 24)
        XCTAssertEqual(drain(&wheel), [])
        XCTAssertTrue(wheel.isArmed(a))
        wheel.collectExpired(now: 25)
        XCTAssertEqual(drain(&wheel), [1])
        XCTAssertFalse(wheel.isArmed(a))
    }

    func testCancelledTimerNeverFiresAndStaleCancelIsHarmless() {
        var wheel = TimerWheel(startTick: 0)
        let a = wheel.arm(at: 5, periodTicks: 0, payload: 1)
        let b = wheel.arm(at: 5, periodTicks: 0, payload: 2)
        XCTAssertTrue(wheel.cancel(a))
        XCTAssertFalse(wheel.cancel(a), "second cancel of the same id")
        wheel.collectExpired(now: 10)
        XCTAssertEqual(drain(&wheel), [2])
        XCTAssertFalse(wheel.isArmed(b), "a fired one-shot is stale")
        XCTAssertFalse(wheel.cancel(b))
        // The freed node is reused; the old id must not cancel the new timer.
        let c = wheel.arm(at: 20, periodTicks: 0, payload: 3)
        XCTAssertFalse(wheel.cancel(a))
        XCTAssertTrue(wheel.isArmed(c))
    }

    func testDeadlineBeyondOneRevolutionWaitsForItsTurn() {
        var wheel = TimerWheel(startTick: 0)
        let far = UInt64(TimerWheel.slotCount) + 100
        _ = wheel.arm(at: far, periodTicks: 0, payload: 7)
        wheel.collectExpired(now: 100)  // same slot, earlier revolution
        XCTAssertEqual(drain(&wheel), [])
        wheel.collectExpired(now: far - 1)
        XCTAssertEqual(drain(&wheel), [])
        wheel.collectExpired(now: far)
        XCTAssertEqual(drain(&wheel), [7])
    }

    func testLongSleepSweepsEverySlotOnce() {
        var wheel = TimerWheel(startTick: 0)
        for i in 1...50 { _ = wheel.arm(at: UInt64(i * 997), periodTicks: 0, payload: UInt64(i)) }
        wheel.collectExpired(now: 1_000_000)
        XCTAssertEqual(Set(drain(&wheel)), Set((1...50).map(UInt64.init)))
    }

    func testRepeatingTimerRearmsUntilCancelled() {
        var wheel = TimerWheel(startTick: 0)
        let id = wheel.arm(at: 10, periodTicks: 10, payload: 9)
        var fired = 0
        for tick in stride(from: UInt64(10), through: 50, by: 10) {
            wheel.collectExpired(now: tick)
            fired += drain(&wheel).count
        }
        XCTAssertEqual(fired, 5)
        XCTAssertTrue(wheel.cancel(id))
        wheel.collectExpired(now: 100)
        XCTAssertEqual(drain(&wheel), [])
    }

    func testNextWakeTickIsNeverLate() {
        var wheel = TimerWheel(startTick: 0)
        XCTAssertNil(wheel.nextWakeTick())
        _ = wheel.arm(at: 500, periodTicks: 0, payload: 1)
        let first = wheel.nextWakeTick()!
        XCTAssertLessThanOrEqual(first, 500)
        _ = wheel.arm(at: 40, periodTicks: 0, payload: 2)
        XCTAssertLessThanOrEqual(wheel.nextWakeTick()!, 40, "arming an earlier timer moves the wake-up")
    }

    /// A postponed timer fires on its new tick, not its old one and not a revolution late: the
    /// sweep of its old slot moves it on. Postponing a stale, due or earlier timer is refused.
    func testPostponedTimerFiresOnItsNewDeadline() {
        var wheel = TimerWheel(startTick: 0)
        let id = wheel.arm(at: 10, periodTicks: 0, payload: 1)
        XCTAssertTrue(wheel.postpone(id, to: 30))
        XCTAssertTrue(wheel.postpone(id, to: 35))
        XCTAssertFalse(wheel.postpone(id, to: 20), "earlier: the caller re-arms")
        wheel.collectExpired(now: 10)
        XCTAssertEqual(drain(&wheel), [], "not on the old deadline")
        XCTAssertLessThanOrEqual(wheel.nextWakeTick()!, 35)
        wheel.collectExpired(now: 34)
        XCTAssertEqual(drain(&wheel), [])
        wheel.collectExpired(now: 35)
        XCTAssertEqual(drain(&wheel), [1])
        XCTAssertFalse(wheel.postpone(id, to: 100), "fired: stale")

        // Postponed by more than a revolution, in steps, and swept tick by tick.
        let far = UInt64(TimerWheel.slotCount) * 2 + 7
        let jump = UInt64(TimerWheel.slotCount) * 2 - 300
        let slow = wheel.arm(at: 140, periodTicks: 0, payload: 2)
        var firedAt: UInt64?
        for tick in UInt64(36)...(far + 5) {
            if tick % 100 == 0, tick < jump { XCTAssertTrue(wheel.postpone(slow, to: tick + 200)) }
            if tick == jump { XCTAssertTrue(wheel.postpone(slow, to: far)) }
            wheel.collectExpired(now: tick)
            if !drain(&wheel).isEmpty { firedAt = firedAt ?? tick }
        }
        XCTAssertEqual(firedAt, far)

        let due = wheel.arm(at: far + 10, periodTicks: 0, payload: 3)
        wheel.collectExpired(now: far + 10)
        XCTAssertFalse(wheel.postpone(due, to: far + 50), "already due: it fires")
        XCTAssertEqual(drain(&wheel), [3])
    }
}
