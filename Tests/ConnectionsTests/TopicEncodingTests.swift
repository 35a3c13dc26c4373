import Connections
import Protocols
import Reactor
import XCTest

/// Each transport's encoding of a topic's messages (WebSocketTopicEncoding, SSETopicEncoding):
/// made once per message whatever the number of subscribers, cached on the message beside the
/// other transport's, and charged to the replay log.
final class TopicEncodingTests: XCTestCase {
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
        for f in framers { room.subscribe(f) }
        room.publish("broadcast")
        XCTAssertEqual(hub.encodeCount, 2, "one WebSocket frame and one SSE event for 1,000 subscribers")
        XCTAssertEqual(Set(framers.flatMap(\.frames)).count, 1, "every subscriber got the same bytes")
        XCTAssertEqual(hub.deliveryCount, 1000)
        let frame = room.messages(after: 0).messages[0].webSocketFrame.bytes
        XCTAssertEqual(frame, [0x81, 9] + Array("broadcast".utf8))
    }

    /// Half the room on each transport, as the chat has it: one frame and one event per message,
    /// each shared by its transport's subscribers, both cached on the message the log keeps.
    func testTwoTransportsInOneRoomShareOneEncodingEach() {
        final class Subscriber: TopicSubscriber {
            let webSocket: Bool
            var sent: [ObjectIdentifier] = []
            init(webSocket: Bool) { self.webSocket = webSocket }
            func topic(_ topic: Topic, didPublish m: TopicMessage) {
                sent.append(ObjectIdentifier(webSocket ? m.webSocketFrame : m.sseEvent))
            }
        }
        let counters = PubSubCounters()
        let room = Topic(name: "r", counters: counters)
        let subscribers = (0..<1000).map { Subscriber(webSocket: $0 % 2 == 0) }
        for s in subscribers { room.subscribe(s) }
        for i in 1...3 { room.publish("m\(i)") }
        XCTAssertEqual(counters.encoded, 6, "two encodings per message, not one per subscriber")
        for (i, ws) in [true, false].enumerated() {
            let group = subscribers.filter { $0.webSocket == ws }
            XCTAssertEqual(Set(group.map(\.sent)).count, 1, "transport \(i): the same three blocks for all")
            XCTAssertEqual(Set(group[0].sent).count, 3)
        }
        let m = room.messages(after: 2).messages[0]
        XCTAssertEqual(m.webSocketFrame.bytes, [0x81, 2] + Array("m3".utf8))
        XCTAssertEqual(m.sseEvent.bytes, Array("data: m3\nid: 3\n\n".utf8))
        XCTAssertEqual(counters.encoded, 6, "read back from the cache")
        XCTAssertEqual(m.retainedBytes, 2 + 4 + 16, "text, frame and event")
        XCTAssertEqual(room.replayBytes, 3 * 128 + 3 * (2 + 4 + 16), "the log charged each message's encodings")
    }
}
