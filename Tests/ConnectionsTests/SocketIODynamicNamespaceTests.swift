import Foundation
import Glibc
@testable import Connections
import Protocols
import Reactor
import ReactorTestSupport
import XCTest

/// Dynamic namespaces (`of(matching:)`) over a real server on 127.0.0.1, spoken to in raw
/// Engine.IO polling: a child made on first connect with the parent's middlewares and handlers,
/// rules asked in order (one answering later, one never), rooms kept per child, the parent's
/// broadcast reaching every child, the bounds (children per server, namespaces per client, name
/// bytes) and the drop of an empty child; then the relay envelope's modifier flags.
final class SocketIODynamicNamespaceTests: XCTestCase {
    func startServer(_ configure: @escaping @Sendable (inout SocketIOConfiguration) -> Void = { _ in },
                     _ setUp: @escaping @Sendable (SocketIOServer) -> Void) throws -> (EventLoopThread, UInt16, Shared<SocketIOServer?>) {
        let port = Shared<UInt16>(0)
        let server = Shared<SocketIOServer?>(nil)
        let thread = try EventLoopThread { loop in
            let router = HTTPRouter()
            var configuration = SocketIOConfiguration()
            configuration.engine.pingInterval = .seconds(30)
            configuration.connectTimeout = .milliseconds(400)
            configure(&configuration)
            let io = SocketIOServer(loop: loop, configuration: configuration)
            setUp(io)
            io.install(on: router)
            server.with { $0 = io }
            let http = HTTPServer(loop: loop, router: router)
            port.with { $0 = try! http.listen(on: SocketAddress(ip: "127.0.0.1", port: 0)).address.port }
        }
        return (thread, port.get, server)
    }

    func http(_ port: UInt16, _ method: String, _ target: String, body: String = "") throws -> String {
        let client = try BlockingClient(port: port)
        defer { client.close() }
        client.send("\(method) \(target) HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        let response = String(decoding: client.receiveAll(), as: UTF8.self)
        return String(response[response.range(of: "\r\n\r\n")!.upperBound...])
    }

    func open(_ port: UInt16) throws -> String {
        let open = try http(port, "GET", "/socket.io/?EIO=4&transport=polling")
        return try XCTUnwrap(try JSONValue.parse(String(open.dropFirst()))["sid"]?.stringValue)
    }

    func post(_ port: UInt16, _ sid: String, _ packets: String) throws {
        XCTAssertEqual(try http(port, "POST", "/socket.io/?EIO=4&transport=polling&sid=\(sid)", body: packets), "ok")
    }

    func poll(_ port: UInt16, _ sid: String) throws -> [String] {
        try http(port, "GET", "/socket.io/?EIO=4&transport=polling&sid=\(sid)").split(separator: "\u{1e}").map(String.init)
    }

    /// Polls until a packet starting with `prefix` comes (several polls: acks and emits may come
    /// in separate answers), and returns it.
    func pollUntil(_ port: UInt16, _ sid: String, _ prefix: String) throws -> String {
        for _ in 0..<5 {
            if let found = try poll(port, sid).first(where: { $0.hasPrefix(prefix) }) { return found }
        }
        XCTFail("no packet starting with \(prefix)")
        return ""
    }

    func count(_ thread: EventLoopThread, _ server: Shared<SocketIOServer?>) -> Int {
        onLoop(thread) { _ in server.get!.childNamespaceCount }
    }

    func testAMatchingNameMakesAChildWithTheParentsMiddlewaresAndHandlers() throws {
        let connected = Shared<[String]>([])
        let (thread, port, server) = try startServer { io in
            let dynamic = io.of(matching: { name, _ in name.hasPrefix("/dyn-") })
            dynamic.use { socket in socket.auth["token"]?.stringValue == "ok" ? nil : SocketIOConnectError("unauthorized") }
            dynamic.on("connection") { socket in
                let parentIsKnown = socket.namespace.parent != nil
                connected.with { $0.append(socket.namespace.name + (parentIsKnown ? "" : "?")) }
            }
        }
        defer { thread.stopAndJoin() }
        let sid = try open(port)
        try post(port, sid, "40/dyn-a,{\"token\":\"ok\"}")
        XCTAssertTrue(try poll(port, sid)[0].hasPrefix("40/dyn-a,{\"sid\":\""))
        XCTAssertEqual(connected.get, ["/dyn-a"])
        XCTAssertEqual(count(thread, server), 1)
        // The parent's middleware runs in the child: a refusal, then the child has no socket
        // from this client, and the unknown name is refused as the reference does.
        let other = try open(port)
        try post(port, other, "40/dyn-a,{\"token\":\"no\"}\u{1e}40/elsewhere,")
        XCTAssertEqual(try poll(port, other), ["44/dyn-a,{\"message\":\"unauthorized\"}", "44/elsewhere,{\"message\":\"Invalid namespace\"}"])
        XCTAssertEqual(count(thread, server), 1, "the refused client made no second child")
        // The same name goes straight to the existing child.
        try post(port, other, "40/dyn-a,{\"token\":\"ok\"}")
        XCTAssertTrue(try poll(port, other)[0].hasPrefix("40/dyn-a,{\"sid\":\""))
        XCTAssertEqual(connected.get, ["/dyn-a", "/dyn-a"])
        XCTAssertEqual(count(thread, server), 1)
    }

    func testRulesAreAskedInOrderAndOneMayAnswerLater() throws {
        let asked = Shared<[String]>([])
        let (thread, port, _) = try startServer { io in
            io.of(matching: { name, _, next in
                asked.with { $0.append("first " + name) }
                _ = io.loop.schedule(after: .milliseconds(50)) { next(name == "/late") }
            }).on("connection") { socket in socket.emit("from", "first") }
            io.of(matching: { name, auth in
                asked.with { $0.append("second " + name) }
                return auth["pass"]?.boolValue == true
            }).on("connection") { socket in socket.emit("from", "second") }
            io.of(matching: { _, _, _ in }).on("connection") { socket in socket.emit("from", "never") }  // never answers
        }
        defer { thread.stopAndJoin() }
        let sid = try open(port)
        try post(port, sid, "40/late,")
        XCTAssertEqual(try pollUntil(port, sid, "42/late,"), "42/late,[\"from\",\"first\"]")
        try post(port, sid, "40/x,{\"pass\":true}")
        XCTAssertEqual(try pollUntil(port, sid, "42/x,"), "42/x,[\"from\",\"second\"]")
        // No rule says yes and the last never answers: the connect timeout refuses the name.
        try post(port, sid, "40/y,")
        XCTAssertEqual(try pollUntil(port, sid, "44/y,"), "44/y,{\"message\":\"Invalid namespace\"}")
        XCTAssertEqual(asked.get, ["first /late", "first /x", "second /x", "first /y", "second /y"])
    }

    func testChildrenKeepTheirOwnRoomsAndTheParentsEmitReachesEveryChild() throws {
        let (thread, port, _) = try startServer { io in
            let dynamic = io.of(matching: { name, _ in name.hasPrefix("/dyn-") })
            dynamic.on("connection") { socket in
                socket.join("r")
                socket.on("to-room") { [unowned socket] _, _ in socket.namespace.to("r").emit("room", .string(socket.namespace.name)) }
                socket.on("to-all") { [unowned socket] _, _ in socket.namespace.parent?.emit("all", .string(socket.namespace.name)) }
            }
        }
        defer { thread.stopAndJoin() }
        let a = try open(port), b = try open(port)
        try post(port, a, "40/dyn-a,")
        try post(port, b, "40/dyn-b,")
        _ = try pollUntil(port, a, "40/dyn-a,")
        _ = try pollUntil(port, b, "40/dyn-b,")
        // Room "r" of /dyn-a is not room "r" of /dyn-b.
        try post(port, a, "42/dyn-a,[\"to-room\"]\u{1e}42/dyn-a,[\"to-all\"]")
        XCTAssertEqual(try poll(port, a), ["42/dyn-a,[\"room\",\"/dyn-a\"]", "42/dyn-a,[\"all\",\"/dyn-a\"]"])
        XCTAssertEqual(try poll(port, b), ["42/dyn-b,[\"all\",\"/dyn-a\"]"], "the parent's emit reached the other child, not its room")
    }

    func testChildrenPerServerAndNamespacesPerClientAreBoundedAndAnEmptyChildIsDropped() throws {
        let (thread, port, server) = try startServer({ c in
            c.maxChildNamespaces = 2
            c.maxNamespacesPerClient = 3
            c.maxNamespaceNameBytes = 16
        }) { io in
            _ = io.of(matching: { name, _ in name.hasPrefix("/dyn-") })
            _ = io.of("/static")
        }
        defer { thread.stopAndJoin() }
        let a = try open(port)
        try post(port, a, "40/dyn-1,\u{1e}40/dyn-2,\u{1e}40/dyn-3,")
        let answers = try poll(port, a)
        XCTAssertEqual(answers.count, 3)
        XCTAssertTrue(answers[0].hasPrefix("40/dyn-1,") && answers[1].hasPrefix("40/dyn-2,"))
        XCTAssertEqual(answers[2], "44/dyn-3,{\"message\":\"Too many namespaces\"}")
        XCTAssertEqual(count(thread, server), 2)
        // The client leaves /dyn-1: the child, empty, goes, and its place serves another name.
        try post(port, a, "41/dyn-1,\u{1e}40/dyn-3,")
        XCTAssertTrue(try pollUntil(port, a, "40/dyn-3,").hasPrefix("40/dyn-3,{\"sid\""))
        XCTAssertEqual(count(thread, server), 2)
        XCTAssertFalse(onLoop(thread) { _ in server.get!.existingNamespace("/dyn-1") != nil }, "the empty child was dropped")
        // Per client: "/", /dyn-2 and /dyn-3 make three; a fourth is refused, even one that exists.
        try post(port, a, "40\u{1e}40/static,")
        let more = try poll(port, a)
        XCTAssertTrue(more[0].hasPrefix("40{\"sid\""))
        XCTAssertEqual(more[1], "44/static,{\"message\":\"Too many namespaces\"}")
        // A name past maxNamespaceNameBytes never reaches the rule.
        let b = try open(port)
        try post(port, b, "40/dyn-" + String(repeating: "x", count: 20) + ",")
        XCTAssertEqual(try poll(port, b), ["44/dyn-" + String(repeating: "x", count: 20) + ",{\"message\":\"Invalid namespace\"}"])
    }

    func testAChildWhoseOnlyClientIsRefusedIsDropped() throws {
        let (thread, port, server) = try startServer { io in
            io.of(matching: { _, _ in true }).use { _ in SocketIOConnectError("no") }
        }
        defer { thread.stopAndJoin() }
        let sid = try open(port)
        try post(port, sid, "40/anything,")
        XCTAssertEqual(try poll(port, sid), ["44/anything,{\"message\":\"no\"}"])
        XCTAssertEqual(count(thread, server), 0)
    }

    func testTheRelayEnvelopeCarriesTheModifiersOnlyWhenSet() throws {
        let packet = Array("2/a,[\"e\"]".utf8)
        let plain = SocketIOBroadcastEnvelope(namespace: "/a", packet: packet)
        XCTAssertFalse(plain.encoded.contains(UInt8(ascii: "f")), "no tail without modifiers: the format older readers know")
        for flags in [SocketIOBroadcastEnvelope.Flags(volatile: true), .init(compress: false), .init(volatile: true, compress: false)] {
            var envelope = plain
            envelope.flags = flags
            XCTAssertEqual(try SocketIOBroadcastEnvelope(decoding: envelope.encoded), envelope)
        }
        XCTAssertThrowsError(try SocketIOBroadcastEnvelope(decoding: plain.encoded + Array("f9".utf8)))
        XCTAssertThrowsError(try SocketIOBroadcastEnvelope(decoding: plain.encoded + Array("f1x".utf8)))
    }
}
