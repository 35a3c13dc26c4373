import Foundation
import Glibc
import Connections
import Protocols
import Reactor
import ReactorTestSupport
import XCTest

/// Rooms across "processes" (here: groups of loops in one test process, each with its own
/// RedisRelay and its own connections, exactly as two echo processes would have) through a real
/// redis-server: one sequence per room, every message once everywhere, and the outage semantics.
final class RESPRelayTests: XCTestCase {
    typealias RedisServer = RESPRedisServerTests.RedisServer

    final class Recorder: TopicSubscriber, @unchecked Sendable {
        /// Its subscription (written on its loop at subscribe, read there when it publishes).
        var token: SubscriberToken?
        private let lock = NSLock()
        private var _received: [(id: UInt64, text: String)] = []
        var received: [(id: UInt64, text: String)] { lock.lock(); defer { lock.unlock() }; return _received }
        func topic(_ topic: Topic, didPublish message: TopicMessage) {
            lock.lock()
            _received.append((message.id, message.string))
            lock.unlock()
        }
    }

    /// One "process": `loops` event loops sharing a RedisRelay, a recorder in room "r" on each.
    final class Node: @unchecked Sendable {
        let first: EventLoopThread
        let group: EventLoopGroup
        let relay: RedisRelay
        var hubs: [PubSub?]
        var recorders: [Recorder] = []
        let log = Shared<[String]>([])

        init(loops: Int, port: UInt16, maxHeld: Int = 10_000) throws {
            first = try EventLoopThread()
            group = try EventLoopGroup(count: loops, first: first.handle) { _, _ in }
            var configuration = RedisRelay.Configuration()
            configuration.redis = RESPRedisServerTests.configuration()
            configuration.maxHeld = maxHeld
            let log = self.log
            relay = RedisRelay(handles: group.handles, endpoint: RedisEndpoint(host: "127.0.0.1", port: port),
                               address: try SocketAddress(ip: "127.0.0.1", port: port), configuration: configuration,
                               log: LogSink(level: .debug) { _, line in log.with { $0.append(line) } })
            hubs = Array(repeating: nil, count: loops)
            recorders = (0..<loops).map { _ in Recorder() }
            for i in 0..<loops {
                _ = onLoop(group.handles[i]) { [self] loop in
                    let hub = PubSub(loop: loop)
                    relay.register(hub, index: i)
                    recorders[i].token = hub.topic("r").subscribe(recorders[i])
                    hubs[i] = hub
                    return 0
                }
            }
        }

        var connected: Bool { onLoop(group.handles[0]) { [self] _ in relay.isConnected } }

        /// Publishes on loop `i`; the id lands in `ids` (in completion order).
        func publish(_ text: String, on i: Int, ids: Shared<[String: UInt64]>, except: Recorder? = nil) {
            group.handles[i].execute { [self] _ in
                hubs[i]!.topic("r").publish(text, except: except?.token) { id in ids.with { $0[text] = id } }
            }
        }

        func stop() {
            group.stopOthers()
            first.stopAndJoin()
        }
    }

    func waitConnected(_ nodes: [Node]) {
        XCTAssertTrue(eventually(10) { nodes.allSatisfy(\.connected) }, "relays did not connect")
    }

    func testTwoProcessesThreeLoopsOneSequenceEveryMessageOnceInOrder() throws {
        let server = try RedisServer()
        let a = try Node(loops: 2, port: server.port)
        let b = try Node(loops: 1, port: server.port)
        defer { a.stop(); b.stop() }
        waitConnected([a, b])
        let ids = Shared<[String: UInt64]>([:])
        let perPublisher = 100
        for m in 0..<perPublisher {
            a.publish("A0#\(m)", on: 0, ids: ids)
            a.publish("A1#\(m)", on: 1, ids: ids)
            b.publish("B0#\(m)", on: 0, ids: ids)
        }
        let total = 3 * perPublisher
        XCTAssertTrue(eventually(10) { ids.get.count == total })
        let all = a.recorders + b.recorders
        XCTAssertTrue(eventually(10) { all.allSatisfy { $0.received.count == total } }, "\(all.map { $0.received.count })")
        let reference = all[0].received
        XCTAssertEqual(reference.map(\.id), (1...UInt64(total)).map { $0 })
        for r in all { XCTAssertTrue(r.received.elementsEqual(reference) { $0.id == $1.id && $0.text == $1.text }) }
        // Each publisher was answered with the id its message got everywhere.
        for (id, text) in reference { XCTAssertEqual(ids.get[text], id, text) }
        // One publisher's messages keep their order.
        for prefix in ["A0#", "A1#", "B0#"] {
            XCTAssertEqual(reference.map(\.text).filter { $0.hasPrefix(prefix) }, (0..<perPublisher).map { "\(prefix)\($0)" })
        }
    }

    func testTheSenderIsSkippedOnlyOnItsOwnLoop() throws {
        let server = try RedisServer()
        let a = try Node(loops: 2, port: server.port)
        let b = try Node(loops: 1, port: server.port)
        defer { a.stop(); b.stop() }
        waitConnected([a, b])
        let ids = Shared<[String: UInt64]>([:])
        a.publish("not to myself", on: 1, ids: ids, except: a.recorders[1])
        XCTAssertTrue(eventually(5) { ids.get.count == 1 && a.recorders[0].received.count == 1 && b.recorders[0].received.count == 1 })
        usleep(100_000)
        XCTAssertEqual(a.recorders[1].received.count, 0)
    }

    /// Redis killed (SIGKILL, no persistence) and restarted empty. What is and is not delivered:
    /// - published before the outage: delivered once (before the kill);
    /// - published during the outage, on either process: held, not answered, not delivered while
    ///   Redis is down; when it is back, numbered after every earlier id (the counters are
    ///   re-seeded from the processes), delivered exactly once, in one order, everywhere, and the
    ///   publishers are answered with those ids.
    func testOutageHoldsPublishesAndDeliversThemOnceInOrderWhenRedisReturns() throws {
        let server = try RedisServer()
        let a = try Node(loops: 2, port: server.port)
        let b = try Node(loops: 1, port: server.port)
        defer { a.stop(); b.stop() }
        waitConnected([a, b])
        let ids = Shared<[String: UInt64]>([:])
        for m in 0..<5 {
            a.publish("before A\(m)", on: 0, ids: ids)
            b.publish("before B\(m)", on: 0, ids: ids)
        }
        let all = a.recorders + b.recorders
        XCTAssertTrue(eventually(5) { all.allSatisfy { $0.received.count == 10 } })

        server.kill()
        XCTAssertTrue(eventually(5) { !a.connected && !b.connected })
        for m in 0..<5 {
            a.publish("during A0-\(m)", on: 0, ids: ids)
            a.publish("during A1-\(m)", on: 1, ids: ids)
            b.publish("during B\(m)", on: 0, ids: ids)
        }
        usleep(500_000)
        XCTAssertEqual(ids.get.count, 10, "no publisher is answered while Redis is down")
        XCTAssertTrue(all.allSatisfy { $0.received.count == 10 }, "nothing is delivered while Redis is down")

        try server.start()
        XCTAssertTrue(eventually(10) { ids.get.count == 25 }, "answered \(ids.get.count)")
        XCTAssertTrue(eventually(10) { all.allSatisfy { $0.received.count == 25 } }, "\(all.map { $0.received.count })")
        let reference = all[0].received
        XCTAssertEqual(reference.map(\.id), (1...25).map { UInt64($0) })
        for r in all { XCTAssertTrue(r.received.elementsEqual(reference) { $0.id == $1.id && $0.text == $1.text }) }
        for (id, text) in reference { XCTAssertEqual(ids.get[text], id) }
        for prefix in ["during A0-", "during A1-", "during B"] {
            XCTAssertEqual(reference.map(\.text).filter { $0.hasPrefix(prefix) }, (0..<5).map { "\(prefix)\($0)" })
        }
        // Logged once per change, and the held messages were reported.
        XCTAssertEqual(a.log.get.filter { $0.contains("unreachable") }.count, 1, "\(a.log.get)")
        XCTAssertTrue(a.log.get.contains { $0.contains("sent 10 messages held while it was down") }, "\(a.log.get)")
    }

    func testBeyondTheHoldLimitTheOldestAreDroppedAndAnsweredWithZero() throws {
        let server = try RedisServer()
        let a = try Node(loops: 1, port: server.port, maxHeld: 3)
        defer { a.stop() }
        waitConnected([a])
        server.kill()
        XCTAssertTrue(eventually(5) { !a.connected })
        let ids = Shared<[String: UInt64]>([:])
        for m in 0..<5 { a.publish("m\(m)", on: 0, ids: ids) }
        XCTAssertTrue(eventually(5) { ids.get.count == 2 })
        XCTAssertEqual(ids.get, ["m0": 0, "m1": 0])
        try server.start()
        XCTAssertTrue(eventually(10) { ids.get.count == 5 })
        XCTAssertEqual(a.recorders[0].received.map(\.text), ["m2", "m3", "m4"])
        XCTAssertEqual(a.recorders[0].received.map(\.id), [1, 2, 3])
        XCTAssertTrue(a.log.get.contains { $0.contains("dropping the oldest") }, "\(a.log.get)")
    }

    /// A process whose subscription missed messages (here: published straight into Redis by the
    /// script, as another process would, while this one is not yet subscribed to the room's
    /// events) fills the gap from the room's stream before delivering what follows.
    func testAGapIsFilledFromTheStream() throws {
        let server = try RedisServer()
        // Three messages exist before this process starts.
        for i in 1...3 {
            let reply = server.command(["EVAL", RedisRoomScripts.publish, "2", RedisRoomScripts.counterKey("r"), RedisRoomScripts.streamKey("r"),
                                        RedisRoomScripts.channel, "r", "old\(i)", "other.\(i)", "0", "0", "1000"])
            XCTAssertEqual(reply, .integer(Int64(i)))
        }
        let a = try Node(loops: 1, port: server.port)
        defer { a.stop() }
        waitConnected([a])
        let ids = Shared<[String: UInt64]>([:])
        a.publish("new", on: 0, ids: ids)
        XCTAssertTrue(eventually(5) { a.recorders[0].received.count == 4 })
        XCTAssertEqual(a.recorders[0].received.map(\.text), ["old1", "old2", "old3", "new"])
        XCTAssertEqual(ids.get["new"], 4)
    }

    // MARK: Channel messages (what Socket.IO broadcasts ride on)

    /// Makes every hub of `node` listen on `channel`, recording what it receives, per loop.
    func listen(_ node: Node, _ channel: String) -> [Shared<[String]>] {
        (0..<node.hubs.count).map { i in
            let got = Shared<[String]>([])
            _ = onLoop(node.group.handles[i]) { _ in
                node.hubs[i]!.listen(channel: channel) { m in got.with { $0.append(m.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }) } }
                return 0
            }
            return got
        }
    }

    func broadcast(_ node: Node, on i: Int, _ channel: String, _ texts: [String]) {
        node.group.handles[i].execute { _ in
            for t in texts { node.hubs[i]!.broadcastElsewhere(SharedBytes(t), on: channel) }
        }
    }

    func subscribers(_ server: RedisServer, _ channel: String) -> Int64? {
        server.command(["PUBSUB", "NUMSUB", RedisRelay.redisChannel(channel)])?.elements?.last?.integer
    }

    /// Every loop but the sender's, in both processes, once each and in the sender's order; a
    /// channel nobody listens on in a process is not even subscribed there.
    func testChannelMessagesReachEveryOtherLoopOnceInOrder() throws {
        let server = try RedisServer()
        let a = try Node(loops: 2, port: server.port)
        let b = try Node(loops: 1, port: server.port)
        defer { a.stop(); b.stop() }
        let gotA = listen(a, "c"), gotB = listen(b, "c")
        waitConnected([a, b])
        XCTAssertTrue(eventually(5) { subscribers(server, "c") == 2 })
        let fromA1 = (0..<50).map { "a1-\($0)" }, fromB = (0..<50).map { "b-\($0)" }
        broadcast(a, on: 1, "c", fromA1)
        broadcast(b, on: 0, "c", fromB)
        XCTAssertTrue(eventually(10) { gotA[0].get.count == 100 && gotA[1].get.count == 50 && gotB[0].get.count == 50 })
        usleep(200_000)  // anything doubled (our own messages coming back from Redis) arrives by now
        XCTAssertEqual(gotA[0].get.filter { $0.hasPrefix("a1-") }, fromA1)
        XCTAssertEqual(gotA[0].get.filter { $0.hasPrefix("b-") }, fromB)
        XCTAssertEqual(gotA[1].get, fromB, "the sender's loop gets none of its own")
        XCTAssertEqual(gotB[0].get, fromA1)
        XCTAssertEqual(subscribers(server, "unheard"), 0)
    }

    /// Sends one counted channel message from loop `i` and returns how many other processes the
    /// relay says it reached (`.some(nil)`: it could not tell).
    func countedBroadcast(_ node: Node, on i: Int, _ channel: String, _ text: String) -> Int?? {
        let reached = Shared<[Int?]>([])
        node.group.handles[i].execute { _ in
            node.hubs[i]!.broadcastElsewhere(SharedBytes(text), on: channel) { n in reached.with { $0.append(n) } }
        }
        guard eventually(5, { !reached.get.isEmpty }) else { return nil }
        return reached.get.first
    }

    /// The count a counted cluster request waits for (`ClusterTally`): PUBLISH's answer less the
    /// sender's own process, whichever loop sends; a process not listening on the channel is not
    /// counted; while Redis is down, none (the message reached this process only). Each process
    /// has its own id, and says how many loops it has.
    func testCountedChannelMessagesSayHowManyOtherProcessesGotThem() throws {
        let server = try RedisServer()
        let a = try Node(loops: 2, port: server.port)
        let b = try Node(loops: 1, port: server.port)
        let deaf = try Node(loops: 1, port: server.port)
        defer { a.stop(); b.stop(); deaf.stop() }
        let gotA = listen(a, "c"), gotB = listen(b, "c")
        waitConnected([a, b, deaf])
        XCTAssertTrue(eventually(5) { subscribers(server, "c") == 2 })
        XCTAssertEqual(countedBroadcast(a, on: 1, "c", "x"), .some(1))
        XCTAssertEqual(countedBroadcast(a, on: 0, "c", "y"), .some(1))
        XCTAssertEqual(countedBroadcast(b, on: 0, "c", "z"), .some(1))
        XCTAssertEqual(countedBroadcast(deaf, on: 0, "c", "w"), .some(2), "a process not listening reaches both")
        XCTAssertTrue(eventually(5) { gotB[0].get == ["x", "y", "w"] && gotA[0].get == ["x", "z", "w"] && gotA[1].get == ["y", "z", "w"] })
        let ids = [a, b, deaf].map { node in onLoop(node.group.handles[0]) { _ in node.hubs[0]!.processID } }
        XCTAssertEqual(Set(ids).count, 3)
        XCTAssertEqual(onLoop(a.group.handles[1]) { _ in a.hubs[1]!.clusterServer }, ClusterServer(process: ids[0], loop: 1, processLoops: 2))
        server.kill()
        XCTAssertTrue(eventually(5) { !a.connected })
        XCTAssertEqual(countedBroadcast(a, on: 1, "c", "down"), .some(0))
    }

    /// While Redis is down a process's channel messages reach its own loops only (at most once,
    /// as with socket.io-redis-adapter: Redis keeps nothing for an absent subscriber), the log
    /// counts them when Redis is back, and later ones flow again.
    func testChannelMessagesWhileRedisIsDownReachOnlyTheSendersProcess() throws {
        let server = try RedisServer()
        let a = try Node(loops: 2, port: server.port)
        let b = try Node(loops: 1, port: server.port)
        defer { a.stop(); b.stop() }
        let gotA = listen(a, "c"), gotB = listen(b, "c")
        waitConnected([a, b])
        server.kill()
        XCTAssertTrue(eventually(5) { !a.connected && !b.connected })
        broadcast(a, on: 1, "c", ["d1", "d2", "d3"])
        XCTAssertTrue(eventually(5) { gotA[0].get == ["d1", "d2", "d3"] }, "this process's loops do not wait for Redis")
        try server.start()
        waitConnected([a, b])
        XCTAssertTrue(eventually(5) { subscribers(server, "c") == 2 })
        broadcast(a, on: 1, "c", ["after"])
        XCTAssertTrue(eventually(5) { gotB[0].get == ["after"] }, "\(gotB[0].get)")
        XCTAssertEqual(gotA[0].get, ["d1", "d2", "d3", "after"])
        XCTAssertTrue(a.log.get.contains { $0.contains("3 broadcasts made while it was down reached this process only") }, "\(a.log.get)")
    }

    /// Listening on a new channel while connected subscribes to it at once, without reading every
    /// room's stream again (which a re-subscription after a reconnect does, as rooms may then have
    /// missed messages).
    func testAChannelListenedLateIsSubscribedWithoutCatchingUpRooms() throws {
        let server = try RedisServer()
        let a = try Node(loops: 2, port: server.port)
        defer { a.stop() }
        waitConnected([a])
        let ids = Shared<[String: UInt64]>([:])
        a.publish("m", on: 0, ids: ids)
        XCTAssertTrue(eventually(5) { ids.get.count == 1 })
        func xranges() -> Int {
            guard let info = server.command(["INFO", "commandstats"])?.bytes else { return -1 }
            let line = String(decoding: info, as: UTF8.self).split(separator: "\r\n").first { $0.hasPrefix("cmdstat_xrange:") }
            return line.flatMap { Int($0.split(separator: "=")[1].split(separator: ",")[0]) } ?? 0
        }
        let before = xranges()
        let got = listen(a, "late")  // from loop 1 as well as loop 0
        XCTAssertTrue(eventually(5) { subscribers(server, "late") == 1 })
        let b = try Node(loops: 1, port: server.port)
        defer { b.stop() }
        waitConnected([b])
        broadcast(b, on: 0, "late", ["hello"])
        XCTAssertTrue(eventually(5) { got.allSatisfy { $0.get == ["hello"] } })
        XCTAssertEqual(xranges(), before, "no catch-up read for a channel subscribed late")
    }

    /// The publish script: a retry of a publish that ran returns its id and publishes nothing;
    /// after Redis lost its data the floor keeps ids above what the publisher has seen.
    func testPublishScriptRetryAndFloor() throws {
        let server = try RedisServer()
        func publish(_ text: String, origin: String, floor: Int, retry: Bool) -> RESPValue? {
            server.command(["EVAL", RedisRoomScripts.publish, "2", RedisRoomScripts.counterKey("s"), RedisRoomScripts.streamKey("s"),
                            RedisRoomScripts.channel, "s", text, origin, String(floor), retry ? "1" : "0", "1000"])
        }
        XCTAssertEqual(publish("a", origin: "p.1", floor: 0, retry: false), .integer(1))
        XCTAssertEqual(publish("b", origin: "p.2", floor: 0, retry: false), .integer(2))
        XCTAssertEqual(publish("a", origin: "p.1", floor: 2, retry: true), .integer(1))  // ran already
        XCTAssertEqual(publish("c", origin: "p.3", floor: 2, retry: true), .integer(3))  // had not run
        XCTAssertEqual(server.command(["XLEN", RedisRoomScripts.streamKey("s")]), .integer(3))
        // The counter lost (as after a restart without persistence): the floor continues the room.
        _ = server.command(["DEL", RedisRoomScripts.counterKey("s"), RedisRoomScripts.streamKey("s")])
        XCTAssertEqual(publish("d", origin: "p.4", floor: 3, retry: false), .integer(4))
        XCTAssertEqual(server.command(["GET", RedisRoomScripts.counterKey("s")]), .bulkString(Array("4".utf8)))
        // The seed script raises a counter, never lowers it.
        _ = server.command(["EVAL", RedisRoomScripts.seed, "1", RedisRoomScripts.counterKey("s"), "10"])
        _ = server.command(["EVAL", RedisRoomScripts.seed, "1", RedisRoomScripts.counterKey("s"), "7"])
        XCTAssertEqual(publish("e", origin: "p.5", floor: 0, retry: false), .integer(11))
        let entries = RedisRoomEvent.entries(room: "s", xrange: server.command(["XRANGE", RedisRoomScripts.streamKey("s"), "-", "+"])!)
        XCTAssertEqual(entries?.map(\.id), [4, 11])
        XCTAssertEqual(entries?.map { String(decoding: $0.text, as: UTF8.self) }, ["d", "e"])
    }
}
