import Protocols
import XCTest

/// Putting a room's messages back in order from a subscription and catch-up reads.
final class RESPRoomSequencerTests: XCTestCase {
    struct Run {
        var s = RedisRoomSequencer<String>()
        var delivered: [(UInt64, String)] = []
        var skipped: [ClosedRange<UInt64>] = []

        mutating func live(_ id: UInt64, _ room: String = "r") -> RedisRoomSequencer<String>.Fetch? {
            var out: [(UInt64, String)] = []
            var gaps: [ClosedRange<UInt64>] = []
            let f = s.received(room: room, id: id, payload: "m\(id)", deliver: { out.append(($0, $1)) }, skipped: { gaps.append($0) })
            delivered += out
            skipped += gaps
            return f
        }

        mutating func page(_ ids: [UInt64], last: Bool, _ room: String = "r") -> RedisRoomSequencer<String>.Fetch? {
            var out: [(UInt64, String)] = []
            var gaps: [ClosedRange<UInt64>] = []
            let f = s.fetched(room: room, entries: ids.map { ($0, "m\($0)") }, isLastPage: last,
                              deliver: { out.append(($0, $1)) }, skipped: { gaps.append($0) })
            delivered += out
            skipped += gaps
            return f
        }

        var ids: [UInt64] { delivered.map(\.0) }
    }

    func testInOrderDeliversAtOnceAndDuplicatesAreDropped() {
        var r = Run()
        for id in UInt64(1)...3 { XCTAssertNil(r.live(id)) }
        XCTAssertNil(r.live(2))
        XCTAssertEqual(r.ids, [1, 2, 3])
        XCTAssertEqual(r.delivered.map(\.1), ["m1", "m2", "m3"])
        XCTAssertEqual(r.s.lastID("r"), 3)
    }

    func testGapIsHeldAndFilledFromTheStream() {
        var r = Run()
        XCTAssertNil(r.live(1))
        XCTAssertEqual(r.live(4), .init(room: "r", after: 1))
        XCTAssertNil(r.live(5))   // held; the read in flight covers it
        XCTAssertNil(r.live(2))   // even the next id waits for the read, to keep one order
        XCTAssertEqual(r.ids, [1])
        XCTAssertNil(r.page([2, 3, 4], last: true))
        XCTAssertEqual(r.ids, [1, 2, 3, 4, 5])
        XCTAssertEqual(r.skipped, [])
        XCTAssertNil(r.live(6))
        XCTAssertEqual(r.ids.last, 6)
    }

    func testPagesContinueUntilTheLastAndMissingIdsAreSkipped() {
        var r = Run()
        XCTAssertEqual(r.live(10), .init(room: "r", after: 0))  // a room new to this process
        XCTAssertEqual(r.page([7, 8], last: false), .init(room: "r", after: 8))
        XCTAssertNil(r.page([9], last: true))
        XCTAssertEqual(r.ids, [7, 8, 9, 10])
        XCTAssertEqual(r.skipped, [1...6])  // before the stream's start (the relay does not log these)
        // A gap the stream cannot fill (Redis restarted empty): skipped, delivery goes on.
        XCTAssertEqual(r.live(14), .init(room: "r", after: 10))
        XCTAssertNil(r.page([], last: true))
        XCTAssertEqual(r.ids, [7, 8, 9, 10, 14])
        XCTAssertEqual(r.skipped, [1...6, 11...13])
    }

    func testFailedReadIsRetriedByResync() {
        var r = Run()
        XCTAssertNil(r.live(1))
        XCTAssertNotNil(r.live(3))
        r.s.fetchFailed(room: "r")
        XCTAssertEqual(r.s.resync(onlyStalled: true), [.init(room: "r", after: 1)])
        XCTAssertEqual(r.s.resync(onlyStalled: true), [])  // in flight now
        XCTAssertNil(r.page([2, 3], last: true))
        XCTAssertEqual(r.ids, [1, 2, 3])
    }

    func testResyncReadsEveryRoomAndRereadsOneInFlight() {
        var r = Run()
        XCTAssertNil(r.live(1, "a"))
        XCTAssertNil(r.live(1, "b"))
        XCTAssertNotNil(r.live(3, "b"))  // b has a read in flight
        let fetches = r.s.resync(onlyStalled: false)
        XCTAssertEqual(fetches, [.init(room: "a", after: 1)])
        // b's read in flight may predate the new subscription: it is followed by another.
        XCTAssertEqual(r.page([2, 3], last: true, "b"), .init(room: "b", after: 3))
        XCTAssertNil(r.page([], last: true, "b"))
        XCTAssertNil(r.page([2], last: true, "a"))
        XCTAssertEqual(r.s.lastID("a"), 2)
        XCTAssertEqual(r.s.lastID("b"), 3)
    }

    func testHeldMessagesAreBounded() {
        var r = Run()
        r.s.maxHeldPerRoom = 3
        XCTAssertNil(r.live(1))
        XCTAssertNotNil(r.live(5))
        XCTAssertNil(r.live(6))
        XCTAssertNil(r.live(7))
        XCTAssertEqual(r.ids, [1])
        XCTAssertNil(r.live(8))  // a fourth: everything held goes out across the gap
        XCTAssertEqual(r.ids, [1, 5, 6, 7, 8])
        XCTAssertEqual(r.skipped, [2...4])
        XCTAssertNil(r.page([2, 3, 4], last: true))  // late, and older than what was delivered: dropped
        XCTAssertEqual(r.ids, [1, 5, 6, 7, 8])
    }
}
