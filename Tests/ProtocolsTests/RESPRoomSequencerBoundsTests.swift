import Protocols
import XCTest

/// The Redis relay's per-room ordering state is bounded: idle rooms are forgotten past
/// `maxRooms`, and a forgotten room continues from a seed instead of reading its stream again.
final class RESPRoomSequencerBoundsTests: XCTestCase {
    func testIdleRoomsAreForgottenPastTheBound() {
        var s = RedisRoomSequencer<String>(maxRooms: 8)
        var delivered = 0
        for i in 0..<100 {
            XCTAssertNil(s.received(room: "r\(i)", id: 1, payload: "x", deliver: { _, _ in delivered += 1 }))
        }
        XCTAssertEqual(delivered, 100)
        XCTAssertLessThanOrEqual(s.roomNames.count, 8)
    }

    func testARoomFillingAGapIsNotForgotten() {
        var s = RedisRoomSequencer<String>(maxRooms: 2)
        XCTAssertNotNil(s.received(room: "gap", id: 5, payload: "x", deliver: { _, _ in }), "a gap: a read is asked for")
        for i in 0..<20 { _ = s.received(room: "r\(i)", id: 1, payload: "x", deliver: { _, _ in }) }
        XCTAssertTrue(s.knows("gap"), "a room with a read in flight stays")
    }

    func testASeededRoomContinuesWithoutReadingItsStream() {
        var s = RedisRoomSequencer<String>()
        s.seed("r", last: 57)
        var ids: [UInt64] = []
        XCTAssertNil(s.received(room: "r", id: 58, payload: "x", deliver: { id, _ in ids.append(id) }))
        XCTAssertEqual(ids, [58])
        XCTAssertNil(s.received(room: "r", id: 3, payload: "old", deliver: { id, _ in ids.append(id) }), "older ids are duplicates")
        XCTAssertEqual(ids, [58])
    }
}
