@testable import Protocols
import XCTest

/// The topic on its own (no hub, no loop): ids, subscriptions by token, the gate it applies to
/// every subscriber, and its log.
final class TopicTests: XCTestCase {
    final class Collector: TopicSubscriber {
        var ids: [UInt64] = []
        var texts: [String] = []
        func topic(_ topic: Topic, didPublish message: TopicMessage) {
            ids.append(message.id)
            texts.append(message.string)
        }
    }

    /// A subscriber whose "connection" is writable or not as the test says, recording what the
    /// topic's gate hands it.
    final class Gated: TopicSubscriber {
        var isWritable = true
        var ids: [UInt64] = []
        var markers: [Int] = []
        var disconnected = 0
        func topic(_ topic: Topic, didPublish message: TopicMessage) { ids.append(message.id) }
        func topic(_ topic: Topic, didDrop count: Int) { markers.append(count) }
        func topicDidDisconnectSlowConsumer(_ topic: Topic) { disconnected += 1 }
    }

    func testIdsAreConsecutiveAndExceptSkipsTheSender() {
        let room = Topic(name: "r")
        let a = Collector(), b = Collector()
        let ta = room.subscribe(a)
        room.subscribe(b)
        XCTAssertEqual(room.publish("one"), 1)
        XCTAssertEqual(room.publish("two", except: ta), 2)
        XCTAssertEqual(a.ids, [1])
        XCTAssertEqual(b.ids, [1, 2])
        XCTAssertEqual(b.texts, ["one", "two"])
    }

    func testUnsubscribeIsConstantTimeAndKeepsTheOthers() {
        let room = Topic(name: "r")
        let subscribers = (0..<100).map { _ in Collector() }
        let tokens = subscribers.map { room.subscribe($0) }
        for (i, t) in tokens.enumerated() where i % 2 == 0 { room.unsubscribe(t) }
        room.unsubscribe(tokens[0])  // twice: harmless
        XCTAssertEqual(room.subscriberCount, 50)
        room.publish("x")
        for (i, s) in subscribers.enumerated() { XCTAssertEqual(s.ids, i % 2 == 0 ? [] : [1]) }
        for (i, t) in tokens.enumerated() { XCTAssertEqual(room.isSubscribed(t), i % 2 == 1) }
    }

    func testReplayLogAndGaps() {
        var limits = PubSubLimits()
        limits.replayCapacity = 5
        let room = Topic(name: "r", limits: limits)
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

    // MARK: Tokens

    func testAStaleTokenNeverNamesTheSubscriberThatReusedItsSlot() {
        let room = Topic(name: "r")
        let old = Collector()
        let stale = room.subscribe(old)
        room.unsubscribe(stale)
        // The new subscriber takes the freed slot (and, were it allocated there, could take the
        // old one's address: a token is not an address).
        let fresh = Collector()
        let current = room.subscribe(fresh)
        XCTAssertNotEqual(stale, current)
        XCTAssertFalse(room.isSubscribed(stale))
        XCTAssertTrue(room.isSubscribed(current))
        // A publish leaving out the old token still reaches the new subscriber ...
        room.publish("to the newcomer", except: stale)
        XCTAssertEqual(fresh.texts, ["to the newcomer"])
        XCTAssertEqual(old.ids, [])
        // ... and leaving with the old token leaves the newcomer subscribed.
        room.unsubscribe(stale)
        XCTAssertEqual(room.subscriberCount, 1)
        room.publish("still here")
        XCTAssertEqual(fresh.texts, ["to the newcomer", "still here"])
    }

    func testTokensOfARoomMadeAgainNameNobodyInTheNewOne() {
        // One hub's topics share the counters, and so the generations: a room dropped and made
        // again under the same name does not hand out the old room's tokens again.
        let counters = PubSubCounters()
        let first = Topic(name: "r", counters: counters)
        let stale = first.subscribe(Collector())
        let again = Topic(name: "r", counters: counters)
        let newcomer = Collector()
        let current = again.subscribe(newcomer)
        XCTAssertFalse(again.isSubscribed(stale))
        again.publish("hello", except: stale)
        XCTAssertEqual(newcomer.texts, ["hello"])
        XCTAssertTrue(again.isSubscribed(current))
    }

    func testAnEmptiedRoomLetsGoOfItsTablesAndStillRefusesOldTokens() {
        let room = Topic(name: "r")
        let tokens = (0..<1000).map { _ in room.subscribe(Collector()) }
        for t in tokens { room.unsubscribe(t) }
        XCTAssertEqual(room.subscriberCount, 0)
        let c = Collector()
        let t = room.subscribe(c)
        XCTAssertTrue(tokens.allSatisfy { !room.isSubscribed($0) })
        room.publish("x", except: tokens[0])
        XCTAssertEqual(c.ids, [1])
        XCTAssertTrue(room.isSubscribed(t))
    }

    // MARK: The gate, applied by the topic

    func testTheTopicGatesEverySubscriberDropOldestWithAMarker() {
        let room = Topic(name: "r")
        let slow = Gated(), fast = Gated()
        let cost = MessageRing<TopicMessage>.cost(of: TopicMessage(id: 0, text: SharedBytes([UInt8](repeating: 0x61, count: 1000)), counters: PubSubCounters()))
        let token = room.subscribe(slow, policy: .dropOldest(maxPending: 100, maxPendingBytes: 3 * cost))
        room.subscribe(fast, policy: .dropOldest(maxPending: 100, maxPendingBytes: 3 * cost))
        let body = SharedBytes([UInt8](repeating: 0x61, count: 1000))
        room.publish(body)
        slow.isWritable = false
        for _ in 2...10 { room.publish(body) }
        XCTAssertEqual(fast.ids, Array(1...10), "the others are never slowed")
        XCTAssertEqual(slow.ids, [1])
        XCTAssertEqual(room.held(by: token).count, 3, "bounded in bytes: three messages' cost")
        XCTAssertLessThanOrEqual(room.held(by: token).bytes, 3 * cost)
        // Still full: nothing is handed back.
        room.writabilityChanged(token, isWritable: false)
        XCTAssertEqual(slow.markers, [])
        slow.isWritable = true
        room.writabilityChanged(token, isWritable: true)
        XCTAssertEqual(slow.markers, [6], "2...7 were dropped")
        XCTAssertEqual(slow.ids, [1, 8, 9, 10])
        XCTAssertEqual(room.held(by: token).bytes, 0)
        room.publish(body)
        XCTAssertEqual(slow.ids, [1, 8, 9, 10, 11], "drained: straight through again")
        XCTAssertEqual(slow.disconnected, 0)
    }

    func testTheTopicGatesEverySubscriberDisconnectLeavesTheTopic() {
        let room = Topic(name: "r")
        let slow = Gated(), other = Gated()
        let token = room.subscribe(slow)  // .disconnect, the default
        room.subscribe(other)
        room.publish("1")
        slow.isWritable = false
        room.publish("2")
        room.publish("3")
        XCTAssertEqual(slow.ids, [1])
        XCTAssertEqual(slow.disconnected, 1, "told once, then gone")
        XCTAssertFalse(room.isSubscribed(token))
        XCTAssertEqual(room.subscriberCount, 1)
        XCTAssertEqual(other.ids, [1, 2, 3])
    }

    func testASubscriberThatLeftDuringADeliveryIsNotDeliveredTo() {
        final class Evictor: TopicSubscriber {
            var victim: SubscriberToken?
            func topic(_ topic: Topic, didPublish message: TopicMessage) {
                if let victim { topic.unsubscribe(victim) }
            }
        }
        let room = Topic(name: "r")
        let evictor = Evictor()
        room.subscribe(evictor)
        let victim = Collector()
        evictor.victim = room.subscribe(victim)
        room.publish("x")
        XCTAssertEqual(victim.ids, [], "removed before its turn in the same publish")
        XCTAssertEqual(room.subscriberCount, 1)
    }

    // MARK: Encodings

    enum Upper: TopicEncoding {
        static func encode(_ message: TopicMessage) -> SharedBytes { SharedBytes(message.string.uppercased()) }
    }
    enum Framed: TopicEncoding {
        static func encode(_ message: TopicMessage) -> SharedBytes { SharedBytes("[\(message.id)]" + message.string) }
    }

    func testEachEncodingIsMadeOncePerMessageAndChargedToTheLog() {
        let counters = PubSubCounters()
        let room = Topic(name: "r", counters: counters)
        final class Both: TopicSubscriber {
            var seen: [ObjectIdentifier] = []
            func topic(_ topic: Topic, didPublish m: TopicMessage) {
                seen.append(ObjectIdentifier(m.encoded(as: Upper.self)))
                seen.append(ObjectIdentifier(m.encoded(as: Framed.self)))
            }
        }
        let subscribers = (0..<100).map { _ in Both() }
        for s in subscribers { room.subscribe(s) }
        room.publish("hi")
        XCTAssertEqual(counters.encoded, 2, "two formats, one encoding each, for 100 subscribers")
        XCTAssertEqual(Set(subscribers.flatMap(\.seen)).count, 2)
        let m = room.messages(after: 0).messages[0]
        XCTAssertEqual(m.encoded(as: Upper.self).bytes, Array("HI".utf8))
        XCTAssertEqual(m.encoded(as: Framed.self).bytes, Array("[1]hi".utf8))
        XCTAssertEqual(counters.encoded, 2)
        XCTAssertEqual(m.retainedBytes, 2 + 2 + 5)
        XCTAssertEqual(room.replayBytes, MessageRing<TopicMessage>.cost(of: m), "the log recharged the encodings")
    }
}
