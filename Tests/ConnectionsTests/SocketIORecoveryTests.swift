import Connections
import Foundation
import Glibc
import Protocols
import Reactor
import ReactorTestSupport
import XCTest

/// Connection state recovery at the packet level, over real sockets (polling, as a raw client
/// speaks it): the CONNECT answer's `pid`, an offset on every event, a dropped session, messages
/// published meanwhile, and the reconnect with `pid` and `offset` that gets the socket id, its
/// rooms and the missed packets back; outside the window, or with an offset the server does not
/// know, a fresh socket.
final class SocketIORecoveryTests: XCTestCase {
    typealias Reader = HTTPServerTests.Reader
    typealias Response = HTTPServerTests.Response

    private func start(window: Duration = .seconds(2), skipMiddlewares: Bool = true,
                       refuseUnrecovered: Bool = false) throws -> (EventLoopThread, UInt16, LoopBound<SocketIOServer>) {
        let io = Shared<LoopBound<SocketIOServer>?>(nil)
        let (thread, port) = try startHTTPServer { router, loop in
            var configuration = SocketIOConfiguration()
            configuration.engine.pingInterval = .seconds(60)
            configuration.connectionStateRecovery = SocketIOConnectionStateRecovery(maxDisconnectionDuration: window, skipMiddlewares: skipMiddlewares)
            let server = SocketIOServer(loop: loop, configuration: configuration)
            if refuseUnrecovered {
                // Refuses every CONNECT whose auth lacks a token: a recovered socket skips it.
                server.sockets.use { socket in socket.auth["token"] == nil ? SocketIOConnectError("no token") : nil }
            }
            server.on("connection") { socket in
                socket.emit("welcome", .bool(socket.recovered))
                socket.on("join") { [unowned socket] args, ack in
                    socket.join(args[0]?.stringValue ?? "")
                    ack?("ok")
                }
            }
            server.install(on: router)
            io.with { $0 = LoopBound(server, on: loop) }
        }
        return (thread, port, io.get!)
    }

    /// A raw Engine.IO polling client of the test's own.
    final class Client {
        let port: UInt16
        let sid: String
        init(port: UInt16) throws {
            self.port = port
            let open = try Client.request(port, "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: t\r\n\r\n")
            sid = try XCTUnwrap(try JSONValue.parse(String(open.text.dropFirst()))["sid"]?.stringValue)
        }

        static func request(_ port: UInt16, _ text: String) throws -> Response {
            let client = try BlockingClient(port: port)
            defer { close(client.fd) }
            client.send(text)
            return try XCTUnwrap(Reader(client).response())
        }

        func post(_ packets: String...) throws {
            let body = packets.joined(separator: "\u{1E}")
            let answer = try Client.request(port, "POST /socket.io/?EIO=4&transport=polling&sid=\(sid) HTTP/1.1\r\nHost: t\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            XCTAssertEqual(answer.text, "ok")
        }

        /// The Socket.IO packets of one long poll (Engine.IO's `4` taken off).
        func poll() throws -> [String] {
            let answer = try Client.request(port, "GET /socket.io/?EIO=4&transport=polling&sid=\(sid) HTTP/1.1\r\nHost: t\r\n\r\n")
            return answer.text.split(separator: "\u{1E}").map { String($0.dropFirst()) }
        }

        /// Polls until `count` packets have come.
        func packets(_ count: Int) throws -> [String] {
            var out: [String] = []
            while out.count < count { out += try poll() }
            return out
        }
    }

    /// An event packet's arguments (`2["name",…]`).
    private func event(_ packet: String) throws -> [JSONValue] {
        XCTAssertTrue(packet.hasPrefix("2["), packet)
        return try XCTUnwrap(try JSONValue.parse(String(packet.dropFirst())).arrayValue)
    }

    private func emit(_ io: LoopBound<SocketIOServer>, on thread: EventLoopThread, _ body: @escaping @Sendable (SocketIOServer) -> Void) {
        onLoop(thread) { _ in body(io.value) }
    }

    func testADroppedClientGetsItsIdRoomsAndMissedPacketsBack() throws {
        let (thread, port, io) = try start()
        defer { thread.stopAndJoin() }
        let first = try Client(port: port)
        try first.post("40")
        let connected = try first.packets(2)
        let answer = try JSONValue.parse(String(connected[0].dropFirst()))
        let sid = try XCTUnwrap(answer["sid"]?.stringValue)
        let pid = try XCTUnwrap(answer["pid"]?.stringValue, "the CONNECT answer carries a private id with recovery on")
        XCTAssertNotEqual(pid, sid)
        let welcome = try event(connected[1])
        XCTAssertEqual(welcome.count, 3, "the event, its argument, and the offset")
        XCTAssertEqual(welcome[1], .bool(false))
        try first.post(#"420["join","r1"]"#)
        XCTAssertEqual(try first.packets(1), [#"30["ok"]"#], "an ack carries no offset")

        emit(io, on: thread) { $0.to("r1").emit("news", "m1") }
        let m1 = try event(try first.packets(1)[0])
        XCTAssertEqual(m1[0...1], ["news", "m1"])
        let offset = try XCTUnwrap(m1.last?.stringValue)

        // The transport drops (Engine.IO close, not a Socket.IO disconnect): the socket is kept.
        try first.post("1")
        XCTAssertTrue(eventually { onLoop(thread) { _ in io.value.sockets.socketCount } == 0 })
        emit(io, on: thread) { io in
            io.to("r1").emit("news", "m2")
            io.to("elsewhere").emit("news", "not for it")
            io.emit("all", "m3")
            io.to("r1").except("r1").emit("news", "excluded")
        }

        let second = try Client(port: port)
        try second.post(#"40{"pid":"\#(pid)","offset":"\#(offset)"}"#)
        let back = try second.packets(4)
        let again = try JSONValue.parse(String(back[0].dropFirst()))
        XCTAssertEqual(again["sid"]?.stringValue, sid, "the same socket id")
        XCTAssertEqual(again["pid"]?.stringValue, pid)
        XCTAssertEqual(try event(back[1]).dropLast(), ["news", "m2"], "what it missed, in order, rooms honoured")
        XCTAssertEqual(try event(back[2]).dropLast(), ["all", "m3"])
        XCTAssertEqual(try event(back[3]).dropLast(), ["welcome", true], "socket.recovered, seen by the connection handler")
        // Its rooms came back with it.
        emit(io, on: thread) { $0.to("r1").emit("news", "m4") }
        XCTAssertEqual(try event(try second.packets(1)[0]).dropLast(), ["news", "m4"])
        // A session is recovered once.
        let third = try Client(port: port)
        try third.post(#"40{"pid":"\#(pid)","offset":"\#(offset)"}"#)
        let fresh = try third.packets(2)
        XCTAssertNotEqual(try JSONValue.parse(String(fresh[0].dropFirst()))["sid"]?.stringValue, sid)
        XCTAssertEqual(try event(fresh[1]).dropLast(), ["welcome", false])
    }

    func testOutsideTheWindowOrWithAnUnknownOffsetTheClientGetsAFreshSocket() throws {
        let (thread, port, io) = try start(window: .milliseconds(300))
        defer { thread.stopAndJoin() }
        func dropped() throws -> (sid: String, pid: String, offset: String) {
            let client = try Client(port: port)
            try client.post("40")
            let connected = try client.packets(2)
            let answer = try JSONValue.parse(String(connected[0].dropFirst()))
            let offset = try XCTUnwrap(try event(connected[1]).last?.stringValue)
            let before = onLoop(thread) { _ in io.value.sockets.socketCount }
            try client.post("1")
            XCTAssertTrue(eventually { onLoop(thread) { _ in io.value.sockets.socketCount } == before - 1 })
            return (answer["sid"]!.stringValue!, answer["pid"]!.stringValue!, offset)
        }
        func reconnect(pid: String, offset: String) throws -> (sid: String?, recovered: JSONValue) {
            let client = try Client(port: port)
            try client.post(#"40{"pid":"\#(pid)","offset":"\#(offset)"}"#)
            let packets = try client.packets(2)
            return (try JSONValue.parse(String(packets[0].dropFirst()))["sid"]?.stringValue, try event(packets[1])[1])
        }
        let late = try dropped()
        usleep(600_000)
        let afterWindow = try reconnect(pid: late.pid, offset: late.offset)
        XCTAssertNotEqual(afterWindow.sid, late.sid)
        XCTAssertEqual(afterWindow.recovered, .bool(false))

        let unknown = try dropped()
        let badOffset = try reconnect(pid: unknown.pid, offset: "999999")
        XCTAssertNotEqual(badOffset.sid, unknown.sid)
        XCTAssertEqual(badOffset.recovered, .bool(false))

        let garbage = try reconnect(pid: "no such pid", offset: "1")
        XCTAssertEqual(garbage.recovered, .bool(false))
    }

    func testARecoveredSocketSkipsTheMiddlewaresUnlessAskedNotTo() throws {
        for skip in [true, false] {
            let (thread, port, io) = try start(skipMiddlewares: skip, refuseUnrecovered: true)
            defer { thread.stopAndJoin() }
            let client = try Client(port: port)
            try client.post(#"40{"token":"t"}"#)
            let connected = try client.packets(2)
            let pid = try XCTUnwrap(try JSONValue.parse(String(connected[0].dropFirst()))["pid"]?.stringValue)
            let offset = try XCTUnwrap(try event(connected[1]).last?.stringValue)
            try client.post("1")
            XCTAssertTrue(eventually { onLoop(thread) { _ in io.value.sockets.socketCount } == 0 })
            let back = try Client(port: port)
            try back.post(#"40{"pid":"\#(pid)","offset":"\#(offset)"}"#)
            let first = try back.packets(1)[0]
            if skip {
                XCTAssertTrue(first.hasPrefix("0{"), first)
            } else {
                XCTAssertEqual(first, #"4{"message":"no token"}"#, "the middleware ran, and refused")
            }
        }
    }

    func testAClientDisconnectingOnPurposeIsNotKept() throws {
        let (thread, port, io) = try start()
        defer { thread.stopAndJoin() }
        let client = try Client(port: port)
        try client.post("40")
        _ = try client.packets(2)
        try client.post("41")  // a namespace disconnect: meant, not recoverable
        XCTAssertTrue(eventually { onLoop(thread) { _ in io.value.sockets.socketCount } == 0 })
        XCTAssertEqual(onLoop(thread) { _ in io.value.sockets.recoveryState?.sessions }, 0)
        XCTAssertEqual(onLoop(thread) { _ in io.value.sockets.recoveryState?.packets }, 1, "the welcome")
    }

    // MARK: Across loops

    /// Two loops, each with its own port, joined as `--threads 2` joins them: one loop group, one
    /// relay, and one configuration value (so one recovery store).
    final class TwoLoops: @unchecked Sendable {
        let stop: () -> Void
        let handles: [EventLoopHandle]
        private(set) var ports: [UInt16] = []
        private var servers: [SocketIOServer?] = [nil, nil]  // servers[i] touched only on loop i

        init() throws {
            let first = try EventLoopThread()
            let group = try EventLoopGroup(count: 2, first: first.handle) { _, _ in }
            stop = { group.stopOthers(); first.stopAndJoin() }
            handles = group.handles
            let relay = LoopGroupRelay(handles: group.handles)
            let engines = EngineIOLoopGroup(count: 2)
            var configuration = SocketIOConfiguration()
            configuration.engine.pingInterval = .seconds(60)
            configuration.connectionStateRecovery = SocketIOConnectionStateRecovery(maxDisconnectionDuration: .seconds(5))
            for i in 0..<2 {
                ports.append(onLoop(handles[i]) { [self, configuration] loop -> UInt16 in
                    let hub = PubSub(loop: loop)
                    relay.register(hub, index: i)
                    let io = SocketIOServer(loop: loop, configuration: configuration)
                    io.engine.join(engines, index: i)
                    io.on("connection") { socket in
                        socket.emit("welcome", .bool(socket.recovered))
                        socket.on("join") { [unowned socket] args, ack in
                            socket.join(args[0]?.stringValue ?? "")
                            ack?("ok")
                        }
                    }
                    io.relayBroadcasts(through: hub)
                    let router = HTTPRouter()
                    io.install(on: router)
                    servers[i] = io
                    return try! HTTPServer(loop: loop, router: router).listen(on: SocketAddress(ip: "127.0.0.1", port: 0)).address.port
                })
            }
        }

        func on<T: Sendable>(_ i: Int, _ body: @escaping @Sendable (SocketIOServer) -> T) -> T {
            onLoop(handles[i]) { [self] _ in body(servers[i]!) }
        }
    }

    func testAClientThatDroppedFromOneLoopRecoversOnTheOther() throws {
        let loops = try TwoLoops()
        defer { loops.stop() }
        let first = try Client(port: loops.ports[0])
        XCTAssertEqual(EngineIOHandshake.loopIndex(ofSessionID: first.sid), 0)
        try first.post("40")
        let connected = try first.packets(2)
        let answer = try JSONValue.parse(String(connected[0].dropFirst()))
        let sid = try XCTUnwrap(answer["sid"]?.stringValue), pid = try XCTUnwrap(answer["pid"]?.stringValue)
        try first.post(#"420["join","r1"]"#)
        XCTAssertEqual(try first.packets(1), [#"30["ok"]"#])
        loops.on(1) { $0.to("r1").emit("news", "m1") }  // made on loop 1, relayed to loop 0
        let m1 = try event(try first.packets(1)[0])
        XCTAssertEqual(m1.dropLast(), ["news", "m1"])
        let offset = try XCTUnwrap(m1.last?.stringValue)

        try first.post("1")
        XCTAssertTrue(eventually { loops.on(0) { $0.sockets.socketCount } == 0 })
        loops.on(0) { $0.to("r1").emit("news", "m2") }
        loops.on(1) { $0.to("r1").emit("news", "m3") }

        // Back through loop 1's port: a session of loop 1, which finds the state loop 0 kept.
        let second = try Client(port: loops.ports[1])
        XCTAssertEqual(EngineIOHandshake.loopIndex(ofSessionID: second.sid), 1)
        try second.post(#"40{"pid":"\#(pid)","offset":"\#(offset)"}"#)
        let back = try second.packets(4)
        XCTAssertEqual(try JSONValue.parse(String(back[0].dropFirst()))["sid"]?.stringValue, sid)
        let m2 = try event(back[1]), m3 = try event(back[2])
        XCTAssertEqual(m2.dropLast(), ["news", "m2"])
        XCTAssertEqual(m3.dropLast(), ["news", "m3"])
        XCTAssertNotEqual(m2.last, m3.last, "one offset sequence across the loops")
        XCTAssertEqual(try event(back[3]).dropLast(), ["welcome", true])
        // Its room now holds it on loop 1: a broadcast from loop 0 reaches it there.
        loops.on(0) { $0.to("r1").emit("news", "m4") }
        XCTAssertEqual(try event(try second.packets(1)[0]).dropLast(), ["news", "m4"])
    }
}
