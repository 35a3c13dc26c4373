import Connections
import Protocols
import Reactor
import XCTest

final class TopicTests: XCTestCase {
    final class Collector: TopicSubscriber {
        var ids: [UInt64] = []
        var texts: [String] = []
        func topic(_ topic: Topic, didPublish message: TopicMessage) {
            ids.append(message.id)
            texts.append(message.string)
        }
    }

    func testIdsAreConsecutiveAndExceptSkipsTheSender() throws {
        let loop = try EventLoop()
        let hub = PubSub(loop: loop)
        let room = hub.topic("r")
        let a = Collector(), b = Collector()
        room.subscribe(a)
        room.subscribe(b)
        XCTAssertEqual(room.publish("one"), 1)
        XCTAssertEqual(room.publish("two", except: a), 2)
        XCTAssertEqual(a.ids, [1])
        XCTAssertEqual(b.ids, [1, 2])
        XCTAssertEqual(b.texts, ["one", "two"])
        XCTAssertTrue(hub.topic("r") === room)
        XCTAssertEqual(hub.topic("other").lastID, 0, "rooms are separate")
    }

    func testUnsubscribeIsConstantTimeAndKeepsTheOthers() throws {
        let loop = try EventLoop()
        let room = PubSub(loop: loop).topic("r")
        let subscribers = (0..<100).map { _ in Collector() }
        subscribers.forEach(room.subscribe)
        for (i, s) in subscribers.enumerated() where i % 2 == 0 { room.unsubscribe(s) }
        room.unsubscribe(subscribers[0])  // twice: harmless
        XCTAssertEqual(room.subscriberCount, 50)
        room.publish("x")
        for (i, s) in subscribers.enumerated() { XCTAssertEqual(s.ids, i % 2 == 0 ? [] : [1]) }
    }

    func testEncodesOncePerWireFormat() throws {
        let loop = try EventLoop()
        let hub = PubSub(loop: loop)
        final class Framer: TopicSubscriber {
            var frames: [ObjectIdentifier] = []
            func topic(_ topic: Topic, didPublish m: TopicMessage) {
                frames.append(ObjectIdentifier(m.webSocketFrame))
                _ = m.sseEvent
            }
        }
        let room = hub.topic("r")
        let framers = (0..<1000).map { _ in Framer() }
        framers.forEach(room.subscribe)
        room.publish("broadcast")
        XCTAssertEqual(hub.encodeCount, 2, "one WebSocket frame and one SSE event for 1,000 subscribers")
        XCTAssertEqual(Set(framers.flatMap(\.frames)).count, 1, "every subscriber got the same bytes")
        XCTAssertEqual(hub.deliveryCount, 1000)
        let frame = room.messages(after: 0).messages[0].webSocketFrame.bytes
        XCTAssertEqual(frame, [0x81, 9] + Array("broadcast".utf8))
    }

    func testReplayLogAndGaps() throws {
        let loop = try EventLoop()
        let room = PubSub(loop: loop, replayCapacity: 5).topic("r")
        for i in 1...12 { room.publish("m\(i)") }
        // The log holds 8...12.
        XCTAssertEqual(room.messages(after: 10).messages.map(\.id), [11, 12])
        XCTAssertFalse(room.messages(after: 10).gap)
        XCTAssertEqual(room.messages(after: 7).messages.map(\.id), [8, 9, 10, 11, 12])
        XCTAssertFalse(room.messages(after: 7).gap, "7 was seen, 8 is the oldest kept: nothing lost")
        XCTAssertEqual(room.messages(after: 3).messages.map(\.id), [8, 9, 10, 11, 12])
        XCTAssertTrue(room.messages(after: 3).gap, "4...7 are gone")
        XCTAssertEqual(room.messages(after: 12).messages.count, 0)
        XCTAssertFalse(room.messages(after: 12).gap)
        XCTAssertTrue(room.messages(after: 50).gap, "an id from the future: the room was reset")
    }
}
