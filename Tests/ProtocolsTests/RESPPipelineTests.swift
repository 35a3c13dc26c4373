import Protocols
import XCTest

/// Matching replies to commands (pipelining, subscriptions, RESP2 and RESP3 messages), without I/O.
final class RESPPipelineTests: XCTestCase {
    func bulk(_ s: String) -> RESPValue { .bulkString(Array(s.utf8)) }

    func testRepliesCompleteCommandsInOrder() {
        var p = RedisPipeline<Int>(version: .resp2)
        for i in 1...3 { p.sent(i) }
        XCTAssertEqual(p.pendingCount, 3)
        for (i, v) in [RESPValue.simpleString("OK"), .error("ERR x"), .integer(5)].enumerated() {
            guard case .reply(let ctx, let got) = p.receive(v) else { return XCTFail("not a reply") }
            XCTAssertEqual(ctx, i + 1)
            XCTAssertEqual(got, v)
        }
        guard case .unexpected = p.receive(.simpleString("OK")) else { return XCTFail("a reply with no command must be unexpected") }
    }

    func testRESP2SubscribeAcknowledgesEachNameThenMessagesArrive() {
        var p = RedisPipeline<String>(version: .resp2)
        p.sent("sub", kind: .subscription(names: 2))
        XCTAssertTrue(p.isInRESP2SubscribedMode)
        guard case .acknowledged = p.receive(.array([bulk("subscribe"), bulk("a"), .integer(1)])) else { return XCTFail() }
        guard case .reply("sub", _) = p.receive(.array([bulk("subscribe"), bulk("b"), .integer(2)])) else { return XCTFail() }
        XCTAssertEqual(p.subscriptionCount, 2)
        XCTAssertTrue(p.isInRESP2SubscribedMode)
        guard case .message(let m) = p.receive(.array([bulk("message"), bulk("a"), bulk("hi")])) else { return XCTFail() }
        XCTAssertEqual(m, RedisPubSubMessage(channel: Array("a".utf8), payload: Array("hi".utf8)))
        guard case .message(let pm) = p.receive(.array([bulk("pmessage"), bulk("a*"), bulk("ab"), bulk("yo")])) else { return XCTFail() }
        XCTAssertEqual(pm.pattern, Array("a*".utf8))
        XCTAssertEqual(pm.channel, Array("ab".utf8))
        // PING while subscribed (RESP2) answers ["pong", ""].
        p.sent("ping")
        guard case .reply("ping", _) = p.receive(.array([bulk("pong"), bulk("")])) else { return XCTFail() }
        // Unsubscribing everything leaves subscribed mode.
        p.sent("unsub", kind: .subscription(names: 2))
        guard case .acknowledged = p.receive(.array([bulk("unsubscribe"), bulk("a"), .integer(1)])) else { return XCTFail() }
        guard case .reply("unsub", _) = p.receive(.array([bulk("unsubscribe"), bulk("b"), .integer(0)])) else { return XCTFail() }
        XCTAssertFalse(p.isInRESP2SubscribedMode)
        // Now an array starting with "message" is an ordinary reply (LRANGE of such a list).
        p.sent("lrange")
        guard case .reply("lrange", _) = p.receive(.array([bulk("message"), bulk("a"), bulk("b")])) else { return XCTFail() }
    }

    func testRESP3PushesAreMessagesBetweenReplies() {
        var p = RedisPipeline<String>(version: .resp3)
        p.sent("sub", kind: .subscription(names: 1))
        p.sent("get")
        guard case .reply("sub", _) = p.receive(.push([bulk("subscribe"), bulk("c"), .integer(1)])) else { return XCTFail() }
        guard case .message(let m) = p.receive(.push([bulk("message"), bulk("c"), bulk("x")])) else { return XCTFail() }
        XCTAssertEqual(m.payload, Array("x".utf8))
        XCTAssertFalse(p.isInRESP2SubscribedMode)
        // An array reply is a reply even if it looks like a message.
        guard case .reply("get", _) = p.receive(.array([bulk("message"), bulk("c"), bulk("x")])) else { return XCTFail() }
        // Other pushes are handed over as pushes.
        guard case .push = p.receive(.push([bulk("invalidate"), .array([bulk("k")])])) else { return XCTFail() }
        // A subscribe acknowledgement nobody asked for (the server unsubscribed us) too.
        guard case .push = p.receive(.push([bulk("sunsubscribe"), bulk("c"), .integer(0)])) else { return XCTFail() }
    }

    func testAnErrorReplyCompletesASubscription() {
        var p = RedisPipeline<String>(version: .resp3)
        p.sent("sub", kind: .subscription(names: 3))
        guard case .reply("sub", .error) = p.receive(.error("NOPERM no channel permission")) else { return XCTFail() }
        XCTAssertEqual(p.pendingCount, 0)
    }

    func testAbandonAllReturnsPendingInOrder() {
        var p = RedisPipeline<Int>()
        for i in 0..<100 { p.sent(i) }
        for _ in 0..<70 { _ = p.receive(.simpleString("OK")) }
        XCTAssertEqual(p.abandonAll(), Array(70..<100))
        XCTAssertEqual(p.pendingCount, 0)
    }

    // MARK: Backoff

    func testBackoffDoublesToTheCapWithJitterAndResets() {
        var b = ReconnectBackoff(initial: .milliseconds(100), maximum: .seconds(5))
        var lows: [Duration] = [], highs: [Duration] = []
        var copy = b
        for _ in 0..<10 { lows.append(b.nextDelay(random: { 0 })) }
        for _ in 0..<10 { highs.append(copy.nextDelay(random: { 0.999999 })) }
        XCTAssertEqual(lows.prefix(7), [.milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(400),
                                         .milliseconds(800), .milliseconds(1600), .milliseconds(2500)])
        XCTAssertEqual(lows.last, .milliseconds(2500))
        XCTAssertLessThan(highs.last!, .seconds(5))
        XCTAssertGreaterThan(highs.last!, .milliseconds(4999))
        XCTAssertEqual(b.failures, 10)
        b.reset()
        XCTAssertEqual(b.failures, 0)
        XCTAssertEqual(b.nextDelay(random: { 0 }), .milliseconds(50))
    }

    // MARK: URLs

    func testEndpointURLs() throws {
        XCTAssertEqual(try RedisEndpoint(url: "redis://127.0.0.1:6379"), RedisEndpoint(host: "127.0.0.1", port: 6379))
        XCTAssertEqual(try RedisEndpoint(url: "redis://localhost"), RedisEndpoint(host: "localhost", port: 6379))
        XCTAssertEqual(try RedisEndpoint(url: "redis://127.0.0.1:7000/3"), RedisEndpoint(host: "127.0.0.1", port: 7000, database: 3))
        XCTAssertEqual(try RedisEndpoint(url: "redis://[::1]:6380/"), RedisEndpoint(host: "::1", port: 6380))
        XCTAssertEqual(try RedisEndpoint(url: "redis://:s%40cret@10.0.0.5:6379"),
                       RedisEndpoint(host: "10.0.0.5", port: 6379, password: "s@cret"))
        XCTAssertEqual(try RedisEndpoint(url: "redis://app:pw@redis.internal"),
                       RedisEndpoint(host: "redis.internal", username: "app", password: "pw"))
        XCTAssertEqual(try RedisEndpoint(url: "redis://pw@h").password, "pw")
        XCTAssertEqual(try RedisEndpoint(url: "redis://[::1]:6380/2").description, "[::1]:6380/2")
        XCTAssertEqual(try RedisEndpoint(url: "redis://:pw@h:1").description, "h:1")  // never the password
        XCTAssertEqual(try RedisEndpoint(url: "rediss://pw@cache.example:6380/1"),
                       RedisEndpoint(host: "cache.example", port: 6380, database: 1, password: "pw", tls: true))
        XCTAssertEqual(try RedisEndpoint(url: "rediss://h").description, "rediss://h:6379")
        for bad in ["http://x", "rediss://", "redis://", "redis://h:0", "redis://h:99999", "redis://h:x",
                    "redis://h/db", "redis://h/-1", "redis://[::1", "redis://h?x=1", "unix:///tmp/r.sock", "redis://:%zz@h"] {
            XCTAssertThrowsError(try RedisEndpoint(url: bad), bad)
        }
    }

    // MARK: Room events

    func testRoomEventPayloadRoundTrip() {
        for room in ["lobby", "", "a:b", "🙂 room", "12:34"] {
            let e = RedisRoomEvent(room: room, id: 42, origin: Array("ab12.7".utf8), text: Array("x:y\r\n:z".utf8))
            XCTAssertEqual(RedisRoomEvent(payload: e.payload), e)
        }
        // What the Lua script builds for room "r", id 12, origin "t.3", text "a:b".
        XCTAssertEqual(RedisRoomEvent(payload: Array("1:r12:t.3:a:b".utf8)),
                       RedisRoomEvent(room: "r", id: 12, origin: Array("t.3".utf8), text: Array("a:b".utf8)))
        for bad in ["", "x", "5:ab", "1:r:t.3:a", "1:r0:t:x", "1:r12", "1:r12:nocolon", "1234567:r1:o:t"] {
            XCTAssertNil(RedisRoomEvent(payload: Array(bad.utf8)), bad)
        }
    }

    func testStreamEntriesFromXRANGE() {
        let reply = RESPValue.array([
            .array([bulk("5-1"), .array([bulk("o"), bulk("t.1"), bulk("d"), bulk("hello")])]),
            .array([bulk("6-1"), .array([bulk("d"), bulk("x"), bulk("o"), bulk("t.2")])]),
            .array([bulk("7-1"), .array([bulk("other"), bulk("field")])]),  // not ours: skipped
        ])
        XCTAssertEqual(RedisRoomEvent.entries(room: "r", xrange: reply), [
            RedisRoomEvent(room: "r", id: 5, origin: Array("t.1".utf8), text: Array("hello".utf8)),
            RedisRoomEvent(room: "r", id: 6, origin: Array("t.2".utf8), text: Array("x".utf8)),
        ])
        XCTAssertEqual(RedisRoomEvent.entries(room: "r", xrange: .array([])), [])
        XCTAssertNil(RedisRoomEvent.entries(room: "r", xrange: .simpleString("OK")))
    }

    func testScriptShaMatchesRedis() {
        // sha1("return 1"), as `redis-cli SCRIPT LOAD "return 1"` prints it.
        XCTAssertEqual(RedisRoomScripts.sha("return 1"), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db")
    }
}
