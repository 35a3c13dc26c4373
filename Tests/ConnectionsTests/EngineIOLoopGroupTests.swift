import Connections
import Foundation
import Glibc
import Protocols
import Reactor
import ReactorTestSupport
import XCTest

/// Polling on any loop (EngineIOLoopGroup), over real sockets: two loops, each with its own
/// Engine.IO server on its own port, joined in one group. A session opened on loop 0 is reached
/// through loop 1's port (a long poll, a POST, the WebSocket upgrade), as requests spread by
/// SO_REUSEPORT land; ids that name no member, or a member that does not know them, get the
/// "Session ID unknown" 400.
final class EngineIOLoopGroupTests: XCTestCase {
    typealias Reader = HTTPServerTests.Reader
    typealias Response = HTTPServerTests.Response

    /// Sends every message back, and counts its sessions (read on its loop).
    final class Echo: EngineIOSessionDelegate {
        func engineIOSession(_ session: EngineIOSession, didReceiveText text: UnsafeRawBufferPointer) { session.sendText { $0 += text } }
        func engineIOSession(_ session: EngineIOSession, didReceiveBinary data: UnsafeRawBufferPointer) { session.send(binary: data) }
        func engineIOSessionDidClose(_ session: EngineIOSession, reason: EngineIOCloseReason) {}
    }

    struct Loop {
        let thread: EventLoopThread
        let port: UInt16
        let engine: LoopBound<EngineIOServer>
    }

    private func startGroup() throws -> [Loop] {
        let group = EngineIOLoopGroup(count: 2)
        return try (0..<2).map { index in
            let engine = Shared<LoopBound<EngineIOServer>?>(nil)
            let (thread, port) = try startHTTPServer { router, loop in
                var configuration = EngineIOConfiguration()
                configuration.pingInterval = .seconds(60)  // no ping answers a held poll here
                let server = EngineIOServer(loop: loop, configuration: configuration)
                server.join(group, index: index)
                let echo = Echo()
                server.onConnection = { $0.delegate = echo }
                server.install(on: router)
                engine.with { $0 = LoopBound(server, on: loop) }
            }
            return Loop(thread: thread, port: port, engine: engine.get!)
        }
    }

    private func sessionCount(_ loop: Loop) -> Int {
        let engine = loop.engine
        return onLoop(loop.thread) { _ in engine.value.sessionCount }
    }

    private func request(_ port: UInt16, _ head: String, body: String = "") throws -> Response {
        let client = try BlockingClient(port: port)
        defer { close(client.fd) }
        client.send(head + body)
        return try XCTUnwrap(Reader(client).response())
    }

    private func get(_ port: UInt16, _ query: String, _ headers: String = "") throws -> Response {
        try request(port, "GET /engine.io/?EIO=4&transport=\(query) HTTP/1.1\r\nHost: t\r\n\(headers)\r\n")
    }

    private func post(_ port: UInt16, sid: String, _ body: String) throws -> Response {
        try request(port, "POST /engine.io/?EIO=4&transport=polling&sid=\(sid) HTTP/1.1\r\nHost: t\r\nContent-Length: \(body.utf8.count)\r\n\r\n", body: body)
    }

    private func open(_ port: UInt16) throws -> String {
        let answer = try get(port, "polling")
        XCTAssertEqual(answer.status, 200, answer.text)
        return try XCTUnwrap(try JSONValue.parse(String(answer.text.dropFirst()))["sid"]?.stringValue)
    }

    func testAPollAndAPostOnTheOtherLoopReachTheSession() throws {
        let loops = try startGroup()
        defer { for l in loops { l.thread.stopAndJoin() } }
        let sid = try open(loops[0].port)
        XCTAssertEqual(EngineIOHandshake.loopIndex(ofSessionID: sid), 0, "the id names the loop that opened it")
        XCTAssertEqual(sessionCount(loops[0]), 1)

        let posted = try post(loops[1].port, sid: sid, "4hello\u{1E}4world")
        XCTAssertEqual(posted.status, 200)
        XCTAssertEqual(posted.text, "ok")
        let polled = try get(loops[1].port, "polling&sid=\(sid)")
        XCTAssertEqual(polled.status, 200)
        XCTAssertEqual(polled.text, "4hello\u{1E}4world", "echoed by the session on loop 0, answered on loop 1")
        XCTAssertEqual(sessionCount(loops[1]), 0, "no session was made on loop 1")

        // And on the session's own loop, as before.
        XCTAssertEqual(try post(loops[0].port, sid: sid, "4again").text, "ok")
        XCTAssertEqual(try get(loops[0].port, "polling&sid=\(sid)").text, "4again")
    }

    func testAHeldPollOnTheOtherLoopIsAnsweredWhenDataArrives() throws {
        let loops = try startGroup()
        defer { for l in loops { l.thread.stopAndJoin() } }
        let sid = try open(loops[0].port)
        let client = try BlockingClient(port: loops[1].port)
        defer { close(client.fd) }
        client.send("GET /engine.io/?EIO=4&transport=polling&sid=\(sid) HTTP/1.1\r\nHost: t\r\n\r\n")
        usleep(100_000)  // held on loop 0 for loop 1's request: nothing is queued
        XCTAssertEqual(try post(loops[0].port, sid: sid, "4late").text, "ok")
        let answer = try XCTUnwrap(Reader(client).response())
        XCTAssertEqual(answer.text, "4late")
    }

    func testAnAbandonedPollOnTheOtherLoopEndsTheSessionAsALocalOneDoes() throws {
        let loops = try startGroup()
        defer { for l in loops { l.thread.stopAndJoin() } }
        let sid = try open(loops[0].port)
        let client = try BlockingClient(port: loops[1].port)
        client.send("GET /engine.io/?EIO=4&transport=polling&sid=\(sid) HTTP/1.1\r\nHost: t\r\n\r\n")
        usleep(100_000)
        XCTAssertEqual(sessionCount(loops[0]), 1)
        close(client.fd)
        XCTAssertTrue(eventually { sessionCount(loops[0]) == 0 }, "loop 1 told loop 0 its poll's connection went away")
    }

    func testIdsNamingNoMemberOrUnknownThereGetSessionIDUnknown() throws {
        let loops = try startGroup()
        defer { for l in loops { l.thread.stopAndJoin() } }
        let sid = Array(try open(loops[0].port).utf8)
        // The same id with its loop index edited: 1 (a member that does not know it), 2 and 4095
        // (no member), and a shape that carries no index at all.
        func edited(_ c0: Character, _ c1: Character) -> String { String(c0) + String(c1) + String(decoding: sid.dropFirst(2), as: UTF8.self) }
        for forged in [edited("A", "B"), edited("A", "C"), edited("_", "_"), "short", String(decoding: sid, as: UTF8.self) + "x"] {
            for port in [loops[0].port, loops[1].port] {
                let answer = try get(port, "polling&sid=\(forged)")
                XCTAssertEqual(answer.status, 400, forged)
                XCTAssertEqual(answer.text, #"{"code":1,"message":"Session ID unknown"}"#, forged)
                let posted = try post(port, sid: forged, "4x")
                XCTAssertEqual(posted.status, 400, forged)
            }
        }
        XCTAssertEqual(sessionCount(loops[0]), 1, "the real session is untouched")
    }

    func testTheUpgradeOnTheOtherLoopCarriesTheSession() throws {
        let loops = try startGroup()
        defer { for l in loops { l.thread.stopAndJoin() } }
        let sid = try open(loops[0].port)
        let ws = try BlockingClient(port: loops[1].port)
        defer { close(ws.fd) }
        ws.send("GET /engine.io/?EIO=4&transport=websocket&sid=\(sid) HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n"
                + "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
        XCTAssertEqual(readHTTPResponse(ws)?.status, 101)  // byte by byte: no frame is read with it

        ws.send(clientFrame(0x1, Array("2probe".utf8)))
        XCTAssertEqual(readTextFrame(ws), "3probe")
        // Polling still works until the upgrade completes: a held poll gets the noop then.
        let poller = try BlockingClient(port: loops[1].port)
        defer { close(poller.fd) }
        poller.send("GET /engine.io/?EIO=4&transport=polling&sid=\(sid) HTTP/1.1\r\nHost: t\r\n\r\n")
        usleep(100_000)
        ws.send(clientFrame(0x1, Array("5".utf8)))
        XCTAssertEqual(try XCTUnwrap(Reader(poller).response()).text, "6", "the held poll is answered with a noop")

        ws.send(clientFrame(0x1, Array("4over the socket".utf8)))
        XCTAssertEqual(readTextFrame(ws), "4over the socket", "echoed by the session on loop 0 over loop 1's socket")
        ws.send(clientFrame(0x2, [1, 2, 3]))
        XCTAssertEqual(readFrame(ws)?.payload, [1, 2, 3])

        // The socket closing ends the session there.
        ws.send(clientFrame(0x8, [0x03, 0xE8]))
        XCTAssertTrue(eventually { sessionCount(loops[0]) == 0 })
    }

    func testAnUpgradeOnTheOtherLoopIsRefusedAsALocalOneIs() throws {
        let loops = try startGroup()
        defer { for l in loops { l.thread.stopAndJoin() } }
        let sid = try open(loops[0].port)
        var unknown = Array(sid.utf8)
        unknown[19] = unknown[19] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")  // still loop 0, unknown there
        func upgrade(_ sid: String) throws -> Response {
            try get(loops[1].port, "websocket&sid=\(sid)", "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")
        }
        let refused = try upgrade(String(decoding: unknown, as: UTF8.self))
        XCTAssertEqual(refused.status, 400)
        XCTAssertEqual(refused.text, #"{"code":1,"message":"Session ID unknown"}"#)

        // A session already probing takes no second upgrade: "Bad request", decided on loop 0.
        let first = try BlockingClient(port: loops[1].port)
        defer { close(first.fd) }
        first.send("GET /engine.io/?EIO=4&transport=websocket&sid=\(sid) HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n"
                   + "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
        XCTAssertEqual(readHTTPResponse(first)?.status, 101)
        first.send(clientFrame(0x1, Array("2probe".utf8)))
        XCTAssertEqual(readTextFrame(first), "3probe")
        first.send(clientFrame(0x1, Array("5".utf8)))
        first.send(clientFrame(0x1, Array("4upgraded".utf8)))
        XCTAssertEqual(readTextFrame(first), "4upgraded")
        let second = try upgrade(sid)
        XCTAssertEqual(second.status, 400)
        XCTAssertEqual(second.text, #"{"code":3,"message":"Bad request"}"#)
        XCTAssertEqual(sessionCount(loops[0]), 1)
    }

    // MARK: Server frames (unmasked, short)

    private func readFrame(_ client: BlockingClient) -> (opcode: UInt8, payload: [UInt8])? {
        let head = client.receive(exactly: 2)
        guard head.count == 2 else { return nil }
        var length = Int(head[1] & 0x7F)
        if length == 126 {
            let ext = client.receive(exactly: 2)
            guard ext.count == 2 else { return nil }
            length = Int(ext[0]) << 8 | Int(ext[1])
        }
        return (head[0] & 0x0F, client.receive(exactly: length))
    }

    private func readTextFrame(_ client: BlockingClient) -> String? {
        guard let frame = readFrame(client), frame.opcode == 0x1 else { return nil }
        return String(decoding: frame.payload, as: UTF8.self)
    }
}
