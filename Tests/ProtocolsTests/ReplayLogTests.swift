@testable import Protocols
import XCTest

/// The replay log on its own: by count and by bytes, ids found by search, pages that continue
/// from their last id, a ring that shrinks; and a topic whose numbering starts again.
final class ReplayLogTests: XCTestCase {
    let counters = PubSubCounters()

    func message(_ id: UInt64, bytes: Int = 10) -> TopicMessage {
        TopicMessage(id: id, text: SharedBytes([UInt8](repeating: 0x61, count: bytes)), counters: counters)
    }

    func testEvictsByBytesKeepingTheNewestAndFindsIdsAfterward() {
        let cost = MessageRing<TopicMessage>.cost(of: message(0, bytes: 1000))
        var log = ReplayLog<TopicMessage>(capacity: 100, maxBytes: 3 * cost)
        for id: UInt64 in 1...10 { _ = log.append(message(id, bytes: 1000)) }
        XCTAssertEqual(log.count, 3)
        XCTAssertEqual(log.bytes, 3 * cost)
        XCTAssertEqual(log.oldestID, 8)
        XCTAssertEqual(log.messages(after: 8).map(\.id), [9, 10])
        XCTAssertEqual(log.messages(after: 2).map(\.id), [8, 9, 10])
        XCTAssertEqual(log.messages(after: 10).map(\.id), [])
        // One message over the whole cap is still kept, alone.
        _ = log.append(message(11, bytes: 10 * cost))
        XCTAssertEqual(log.messages(after: 0).map(\.id), [11])
    }

    func testIdsNeedNotBeConsecutive() {
        var log = ReplayLog<TopicMessage>(capacity: 10)
        for id: UInt64 in [3, 4, 9, 10, 20] { _ = log.append(message(id)) }
        XCTAssertEqual(log.messages(after: 4).map(\.id), [9, 10, 20])
        XCTAssertEqual(log.messages(after: 5).map(\.id), [9, 10, 20])
        XCTAssertEqual(log.message(after: 10)?.id, 20)
        XCTAssertNil(log.message(after: 20))
    }

    func testPagesStopAtTheCountOrTheBytesButNeverComeBackEmpty() {
        var log = ReplayLog<TopicMessage>(capacity: 100)
        for id: UInt64 in 1...10 { _ = log.append(message(id, bytes: 100)) }
        XCTAssertEqual(log.page(after: 0, maxCount: 4, maxBytes: 1 << 20).map(\.id), [1, 2, 3, 4])
        XCTAssertEqual(log.page(after: 4, maxCount: 100, maxBytes: 250).map(\.id), [5, 6])
        XCTAssertEqual(log.page(after: 6, maxCount: 100, maxBytes: 10).map(\.id), [7], "a message larger than a page comes alone")
        XCTAssertEqual(log.page(after: 10, maxCount: 100, maxBytes: 250).map(\.id), [])
    }

    func testTheRingShrinksWhenMostlyEmpty() {
        var ring = MessageRing<TopicMessage>()
        for id: UInt64 in 1...1000 { ring.append(message(id)) }
        XCTAssertGreaterThanOrEqual(ring.slotCount, 1000)
        for _ in 0..<995 { ring.removeFirst() }
        XCTAssertLessThanOrEqual(ring.slotCount, 32)
        XCTAssertEqual((0..<ring.count).map { ring[$0].id }, [996, 997, 998, 999, 1000])
        while ring.removeFirst() != nil {}
        XCTAssertEqual(ring.slotCount, 0)
        XCTAssertEqual(ring.bytes, 0)
    }

    func testANumberingThatStartsAgainClearsTheHistoryAndTellsSubscribers() throws {
        final class Watcher: TopicSubscriber {
            var restarts = 0
            var ids: [UInt64] = []
            func topic(_ topic: Topic, didPublish message: TopicMessage) { ids.append(message.id) }
            func topicDidRestart(_ topic: Topic) { restarts += 1 }
        }
        let room = Topic(name: "r")
        let w = Watcher()
        room.subscribe(w)
        for id: UInt64 in 1...5 { room.deliver(id: id, text: SharedBytes("m")) }
        room.deliver(id: 1, text: SharedBytes("new history"))
        XCTAssertEqual(w.restarts, 1)
        XCTAssertEqual(room.lastID, 1)
        XCTAssertEqual(room.messages(after: 0).messages.map(\.string), ["new history"])
    }
}
