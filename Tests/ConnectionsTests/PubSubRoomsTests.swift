@testable import Connections
@testable import Protocols
import Reactor
import XCTest

/// The hub's rooms: kept while something holds them, bounded by count, by bytes per room and over
/// the hub, least recently used first. (The replay log alone: ProtocolsTests/ReplayLogTests.)
final class PubSubRoomsTests: XCTestCase {
    let counters = PubSubCounters()

    func message(_ id: UInt64, bytes: Int = 10) -> TopicMessage {
        TopicMessage(id: id, text: SharedBytes([UInt8](repeating: 0x61, count: bytes)), counters: counters)
    }

    // MARK: Rooms on the hub

    func testOneNameOneTopicAndRoomsAreSeparate() throws {
        let hub = PubSub(loop: try EventLoop())
        let room = hub.topic("r")
        XCTAssertEqual(room.publish("one"), 1)
        XCTAssertTrue(hub.topic("r") === room)
        XCTAssertEqual(hub.topic("other").lastID, 0, "rooms are separate")
    }

    func testARoomThatKeepsNothingGoesWithTheLastReference() throws {
        let hub = PubSub(loop: try EventLoop())
        do {
            let t = hub.topic("read-only")
            XCTAssertTrue(hub.topic("read-only") === t, "one name, one topic while it is held")
            XCTAssertEqual(t.page(after: 0).messages.count, 0)
        }
        XCTAssertNil(hub.existingTopic("read-only"))
        XCTAssertEqual(hub.topicCount, 0)
        for i in 0..<1000 { _ = hub.topic("r\(i)").page(after: 0) }
        XCTAssertEqual(hub.topicCount, 0, "reading unknown rooms leaves nothing behind")

        // A subscriber keeps a room; leaving it empty lets it go.
        final class Sink: TopicSubscriber { func topic(_ topic: Topic, didPublish message: TopicMessage) {} }
        let sink = Sink()
        let token = hub.topic("sub").subscribe(sink)
        XCTAssertEqual(hub.topicCount, 1)
        hub.existingTopic("sub")!.unsubscribe(token)
        XCTAssertEqual(hub.topicCount, 0)

        // A message keeps a room.
        hub.topic("kept").publish("hello")
        XCTAssertEqual(hub.existingTopic("kept")?.lastID, 1)
    }

    func testRoomsKeepingHistoryAreBoundedInCountLeastRecentlyUsedFirst() throws {
        var limits = PubSub.Limits()
        limits.maxRooms = 3
        let hub = PubSub(loop: try EventLoop(), limits: limits)
        for name in ["a", "b", "c"] { hub.topic(name).publish("x") }
        _ = hub.existingTopic("a")!.page(after: 0)  // a read makes "a" the most recently used
        hub.topic("d").publish("x")
        XCTAssertNil(hub.existingTopic("b"), "the least recently used room is dropped")
        XCTAssertEqual(Set(["a", "c", "d"].filter { hub.existingTopic($0) != nil }), ["a", "c", "d"])
        XCTAssertEqual(hub.historyRoomCount, 3)
        // Used again, "b" starts a new history: an old id is from the future.
        let b = hub.topic("b")
        XCTAssertEqual(b.lastID, 0)
        XCTAssertTrue(b.isGap(after: 1))
        XCTAssertEqual(b.publish("again"), 1)
    }

    func testHubBudgetEvictsTheOldestMessagesOfTheLeastRecentlyUsedRoom() throws {
        let body = SharedBytes([UInt8](repeating: 0x62, count: 1000))
        let cost = MessageRing<TopicMessage>.cost(of: TopicMessage(id: 1, text: body, counters: counters))
        var limits = PubSub.Limits()
        limits.maxReplayBytes = 10 * cost
        limits.maxRoomReplayBytes = 6 * cost
        let hub = PubSub(loop: try EventLoop(), limits: limits)
        for _ in 0..<8 { hub.topic("old").publish(body) }
        XCTAssertEqual(hub.existingTopic("old")!.replayCount, 6, "the room's own byte cap")
        for _ in 0..<6 { hub.topic("new").publish(body) }
        XCTAssertEqual(hub.replayBytes, 10 * cost)
        XCTAssertEqual(hub.existingTopic("new")!.replayCount, 6)
        do {
            let old = hub.existingTopic("old")!
            XCTAssertEqual(old.replayCount, 4, "the least recently used room gave up its oldest")
            XCTAssertEqual(old.oldestKeptID, 5)
            XCTAssertTrue(old.isGap(after: 3))
            XCTAssertFalse(old.isGap(after: 4))
        }
        for _ in 0..<4 { hub.topic("third").publish(body) }
        XCTAssertNil(hub.existingTopic("old"), "a room whose history is all gone, with no subscriber, is dropped")
        XCTAssertEqual(hub.existingTopic("new")!.replayCount, 6)
        XCTAssertEqual(hub.replayBytes, hub.existingTopic("new")!.replayBytes + hub.existingTopic("third")!.replayBytes)
        XCTAssertEqual(hub.replayBytes, 10 * cost)
    }

    func testReplayStepsReportAGapWhenTheRestLeftTheLog() throws {
        let hub = PubSub(loop: try EventLoop(), replayCapacity: 3)
        let room = hub.topic("r")
        for i in 1...3 { room.publish("m\(i)") }
        guard case .message(let m) = room.next(after: 0) else { return XCTFail("message 1") }
        XCTAssertEqual(m.id, 1)
        for i in 4...5 { room.publish("m\(i)") }
        guard case .gap = room.next(after: 1) else { return XCTFail("2 has left the log") }
        guard case .message(let m3) = room.next(after: 2) else { return XCTFail("3 is still there") }
        XCTAssertEqual(m3.id, 3)
        guard case .caughtUp = room.next(after: 5) else { return XCTFail("nothing after 5") }
        guard case .gap = room.next(after: 9) else { return XCTFail("from the future") }
    }
}
