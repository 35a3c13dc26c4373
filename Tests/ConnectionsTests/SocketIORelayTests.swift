import Foundation
import Glibc
import Connections
import Protocols
import Reactor
import ReactorTestSupport
import XCTest

/// Socket.IO broadcasts relayed through a hub's relay (`SocketIOServer.relayBroadcasts`): across
/// the loops of one process (LoopGroupRelay), and across processes through a real redis-server
/// (RedisRelay; here two relays in one test process, as two echo processes would have them). Raw
/// WebSocket clients see the exact packets: a room emit reaches the room's sockets everywhere but
/// the sender's, once each; namespace emits reach everyone; except-rooms hold everywhere; `.local`
/// stays on its loop; binary attachments travel; each loop encodes each frame once.
final class SocketIORelayTests: XCTestCase {
    typealias RedisServer = RESPRedisServerTests.RedisServer

    /// Socket.IO servers, one per loop, each on its own port, relaying through their loop's hub.
    final class Servers: @unchecked Sendable {
        let handles: [EventLoopHandle]
        private(set) var ports: [UInt16] = []
        /// Touched only on loop i.
        private var servers: [SocketIOServer?]
        private var hubs: [PubSub?]
        let errors = Shared<[String]>([])

        /// `relays[i]` and its index for loop i.
        /// `configure` adjusts each server's configuration (a bound under test).
        init(handles: [EventLoopHandle], relays: [(relay: any HubRelay, index: Int)],
             configure: @escaping @Sendable (inout SocketIOConfiguration) -> Void = { _ in }) {
            self.handles = handles
            servers = Array(repeating: nil, count: handles.count)
            hubs = Array(repeating: nil, count: handles.count)
            for (i, handle) in handles.enumerated() {
                let port = onLoop(handle) { [self] loop -> UInt16 in
                    let hub = PubSub(loop: loop)
                    relays[i].relay.register(hub, index: relays[i].index)
                    let router = HTTPRouter()
                    var configuration = SocketIOConfiguration()
                    configuration.engine.pingInterval = .seconds(60)
                    configure(&configuration)
                    let io = SocketIOServer(loop: loop, configuration: configuration)
                    io.log.sink = LogSink(level: .debug) { [errors] _, line in errors.with { $0.append(line) } }
                    io.of("/chat").on("connection") { socket in Self.demo(socket) }
                    io.relayBroadcasts(through: hub)
                    io.install(on: router)
                    servers[i] = io
                    hubs[i] = hub
                    return try! HTTPServer(loop: loop, router: router).listen(on: SocketAddress(ip: "127.0.0.1", port: 0)).address.port
                }
                ports.append(port)
            }
        }

        /// The demo's contract, plus `local` and `news` (a room less an except-room).
        static func demo(_ socket: SocketIOSocket) {
            socket.on("join") { [unowned socket] args, _ in
                let room = args[0]?.stringValue ?? ""
                socket.join(room)
                socket.emit("joined", .string(room))
            }
            socket.on("chat") { [unowned socket] args, _ in
                socket.to(args[0]?["room"]?.stringValue ?? "").emit("chat", SocketIOArguments([args[0]?["text"] ?? .null], attachments: args.attachments))
            }
            socket.on("shout") { [unowned socket] args, _ in socket.namespace.emit("announcement", args) }
            socket.on("local") { [unowned socket] args, _ in socket.namespace.local.emit("local", args) }
            socket.on("news") { [unowned socket] args, _ in
                socket.namespace.to(args[0]?.stringValue ?? "").except(args[1]?.stringValue ?? "").emit("news", args[2] ?? .null)
            }
        }

        /// Runs `body` with loop i's server (on that loop).
        func on<T: Sendable>(_ i: Int, _ body: @escaping @Sendable (SocketIOServer, PubSub) -> T) -> T {
            onLoop(handles[i]) { [self] _ in body(servers[i]!, hubs[i]!) }
        }

        /// Frames, relayed counts in and out, and rejected relayed messages of loop i's /chat.
        func counts(_ i: Int) -> [Int] {
            on(i) { io, _ in
                let ns = io.of("/chat")
                return [io.engine.counters.webSocketFrames, ns.relayedOut, ns.relayedIn, ns.relayedRejected]
            }
        }
    }

    struct HandshakeFailed: Error {}

    /// A raw WebSocket Socket.IO client in /chat whose reads give up (nil) after a timeout
    /// instead of trapping, so a missing packet fails the test.
    struct Client {
        let ws: SocketIOSocketTests.RawWebSocket

        init(port: UInt16) throws {
            ws = try SocketIOSocketTests.RawWebSocket(port: port)
            guard next()?.hasPrefix("0{") == true else { throw HandshakeFailed() }
            ws.send("40/chat,")
            guard next()?.hasPrefix("40/chat,{\"sid\":") == true else { throw HandshakeFailed() }
        }

        /// The next frame's payload as text (binary frames as "binary:<bytes>").
        func next() -> String? {
            let c = ws.client
            let h = c.receive(exactly: 2)
            guard h.count == 2 else { return nil }
            var length = Int(h[1] & 0x7F)
            if length == 126 {
                let l = c.receive(exactly: 2)
                guard l.count == 2 else { return nil }
                length = Int(l[0]) << 8 | Int(l[1])
            }
            let payload = c.receive(exactly: length)
            guard payload.count == length else { return nil }
            return h[0] & 0x0F == 2 ? "binary:\(payload)" : String(decoding: payload, as: UTF8.self)
        }

        func emit(_ packetData: String) { ws.send("42/chat," + packetData) }

        func join(_ room: String) {
            emit("[\"join\",\"\(room)\"]")
            XCTAssertEqual(next(), "42/chat,[\"joined\",\"\(room)\"]")
        }

        func close() { ws.client.close() }
    }

    /// The scenario, whatever carries the broadcasts: `servers` has at least three loops, and the
    /// sender (loop 1) is on a loop apart from both receivers' (0 and 2).
    func checkBroadcasts(_ servers: Servers, file: StaticString = #filePath, line: UInt = #line) throws {
        let sender = try Client(port: servers.ports[1])
        let mate0 = try Client(port: servers.ports[0])
        let mate2 = try Client(port: servers.ports[2])
        let other = try Client(port: servers.ports[2])  // another room, same loop as a mate
        defer { [sender, mate0, mate2, other].forEach { $0.close() } }
        for c in [sender, mate0, mate2] { c.join("r") }
        other.join("elsewhere")
        mate2.join("muted")
        let framesBefore = (0..<3).map { servers.counts($0)[0] }

        // To the room, all but the sender: the mates on both other loops, once each.
        sender.emit(#"["chat",{"room":"r","text":"hello"}]"#)
        XCTAssertEqual(mate0.next(), #"42/chat,["chat","hello"]"#, file: file, line: line)
        XCTAssertEqual(mate2.next(), #"42/chat,["chat","hello"]"#, file: file, line: line)

        // A room less an except-room, emitted from the loop where neither receiver is.
        sender.emit(#"["news","r","muted","extra"]"#)
        XCTAssertEqual(mate0.next(), #"42/chat,["news","extra"]"#, file: file, line: line)
        XCTAssertEqual(sender.next(), #"42/chat,["news","extra"]"#, file: file, line: line)

        // Binary attachments travel with the packet.
        sender.ws.send(#"451-/chat,["chat",{"room":"r","text":{"_placeholder":true,"num":0}}]"#)
        sender.ws.client.send(clientFrame(0x2, [7, 8, 9]))
        for mate in [mate0, mate2] {
            XCTAssertEqual(mate.next(), #"451-/chat,["chat",{"_placeholder":true,"num":0}]"#, file: file, line: line)
            XCTAssertEqual(mate.next(), "binary:[7, 8, 9]", file: file, line: line)
        }

        // To the namespace, sender included: everyone, once. Being the next packet of the sender
        // and of the client in another room, it also shows they got none of the room's packets,
        // and being the next of mate2, that the except-room held on its loop.
        mate0.emit(#"["shout","all"]"#)
        for c in [sender, mate0, mate2, other] {
            XCTAssertEqual(c.next(), #"42/chat,["announcement","all"]"#, file: file, line: line)
        }

        // `.local` stays on the sender's loop: loop 2's two clients only.
        other.emit(#"["local","here"]"#)
        XCTAssertEqual(mate2.next(), #"42/chat,["local","here"]"#, file: file, line: line)
        XCTAssertEqual(other.next(), #"42/chat,["local","here"]"#, file: file, line: line)
        // ... and nothing arrived twice: the next packet everyone gets is this one.
        sender.emit(#"["shout","last"]"#)
        for c in [sender, mate0, mate2, other] {
            XCTAssertEqual(c.next(), #"42/chat,["announcement","last"]"#, file: file, line: line)
        }

        // Each loop framed each message once, however many of its sockets got it: loop 2 sent
        // chat, binary chat (2 messages), announcement x2, local to its two clients: 6 frames;
        // loop 0 chat, news, binary (2), announcements x2: 6; loop 1 news, announcements x2: 3.
        let framesAfter = (0..<3).map { servers.counts($0)[0] }
        XCTAssertEqual(zip(framesAfter, framesBefore).map { $0 - $1 }, [6, 3, 6], file: file, line: line)
        // Sent: loop 1 chat, news, binary chat, last; loop 0 all; loop 2 nothing (local stays).
        XCTAssertEqual((0..<3).map { servers.counts($0)[1] }, [1, 4, 0], file: file, line: line)
        XCTAssertEqual((0..<3).map { servers.counts($0)[3] }, [0, 0, 0], file: file, line: line)
    }

    func testBroadcastsCrossTheLoopsOfOneProcess() throws {
        let first = try EventLoopThread()
        let group = try EventLoopGroup(count: 3, first: first.handle) { _, _ in }
        defer {
            group.stopOthers()
            first.stopAndJoin()
        }
        let relay = LoopGroupRelay(handles: group.handles)
        let servers = Servers(handles: group.handles, relays: (0..<3).map { (relay, $0) })
        try checkBroadcasts(servers)
        // Each loop received what the others sent (loop 0 one, loop 1 four).
        XCTAssertEqual((0..<3).map { servers.counts($0)[2] }, [4, 1, 5])
    }

    func testBroadcastsCrossProcessesThroughRedis() throws {
        let redis = try RedisServer()
        // "Process" A: loops 0 and 1 with one relay; "process" B: loop 2 with another.
        let first = try EventLoopThread()
        let groupA = try EventLoopGroup(count: 2, first: first.handle) { _, _ in }
        let firstB = try EventLoopThread()
        defer {
            groupA.stopOthers()
            first.stopAndJoin()
            firstB.stopAndJoin()
        }
        let relayA = Self.makeRedisRelay(groupA.handles, redis.port)
        let relayB = Self.makeRedisRelay([firstB.handle], redis.port)
        let servers = Servers(handles: groupA.handles + [firstB.handle], relays: [(relayA, 0), (relayA, 1), (relayB, 0)])
        XCTAssertTrue(eventually(10) {
            onLoop(groupA.handles[0]) { _ in relayA.isConnected } && onLoop(firstB.handle) { _ in relayB.isConnected }
        })
        try checkBroadcasts(servers)
        XCTAssertEqual((0..<3).map { servers.counts($0)[2] }, [4, 1, 5])
        // Both processes' channels are subscribed in Redis, one per namespace with a listener.
        let numsub = redis.command(["PUBSUB", "NUMSUB", RedisRelay.redisChannel("socket.io#/chat#")])
        XCTAssertEqual(numsub?.elements?.last?.integer, 2, "\(String(describing: numsub))")
    }

    func testAMalformedRelayedBroadcastIsDroppedAndLogged() throws {
        let first = try EventLoopThread()
        let group = try EventLoopGroup(count: 2, first: first.handle) { _, _ in }
        defer {
            group.stopOthers()
            first.stopAndJoin()
        }
        let relay = LoopGroupRelay(handles: group.handles)
        let servers = Servers(handles: group.handles, relays: [(relay, 0), (relay, 1)])
        let client = try Client(port: servers.ports[1])
        defer { client.close() }
        servers.on(0) { _, hub in
            hub.broadcastElsewhere(SharedBytes("not an envelope"), on: "socket.io#/chat#")
            // Well formed, but for another namespace than the channel's.
            let stray = SocketIOBroadcastEnvelope(namespace: "/", packet: Array(#"2["x"]"#.utf8))
            hub.broadcastElsewhere(SharedBytes(stray.encoded), on: "socket.io#/chat#")
        }
        XCTAssertTrue(eventually { servers.counts(1)[3] == 2 })
        XCTAssertEqual(servers.errors.get.count, 2)
        XCTAssertTrue(servers.errors.get[0].contains("unknownFormat"), servers.errors.get[0])
        // The client got nothing from either: its next packet is a real broadcast.
        servers.on(0) { io, _ in io.of("/chat").emit("after", "ok") }
        XCTAssertEqual(client.next(), #"42/chat,["after","ok"]"#)
    }

    func testWithoutARelayAnEmitStaysLocalAndEncodesNothingForIt() throws {
        let thread = try EventLoopThread()
        defer { thread.stopAndJoin() }
        let counts = onLoop(thread) { loop -> [Int] in
            let hub = PubSub(loop: loop)  // no relay
            let io = SocketIOServer(loop: loop)
            io.relayBroadcasts(through: hub)
            io.of("/chat").emit("nobody", "listens")
            return [io.of("/chat").relayedOut, io.engine.counters.webSocketFrames]
        }
        XCTAssertEqual(counts, [0, 0])
    }

    static func makeRedisRelay(_ handles: [EventLoopHandle], _ port: UInt16) -> RedisRelay {
        var configuration = RedisRelay.Configuration()
        configuration.redis = RESPRedisServerTests.configuration()
        return RedisRelay(handles: handles, endpoint: RedisEndpoint(host: "127.0.0.1", port: port),
                          address: try! SocketAddress(ip: "127.0.0.1", port: port), configuration: configuration, log: .discard)
    }
}
