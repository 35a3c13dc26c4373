import Foundation
import Glibc
@testable import Connections
import Protocols
import Reactor
import ReactorTestSupport
import XCTest

/// Namespace middlewares (`use`): the chain on its own (order, an error stops it, answers that
/// come later, twice, or after a cancel), then over a real server on 127.0.0.1 (a refusal with
/// its data, a middleware answering from a timer, an async one, one that never answers and meets
/// the connect timeout, and the handshake they see).
final class SocketIOMiddlewareTests: XCTestCase {
    typealias Run = SocketIOMiddlewareRun<String, SocketIOConnectError>

    // MARK: The chain

    func testMiddlewaresRunInOrderAndTheRunEndsWithNil() {
        var seen: [String] = []
        var result: SocketIOConnectError?? = .none
        let run = Run([
            { subject, next in seen.append("a:" + subject); next(nil) },
            { subject, next in seen.append("b:" + subject); next(nil) },
        ], subject: "s") { result = .some($0) }
        run.start()
        XCTAssertEqual(seen, ["a:s", "b:s"])
        XCTAssertEqual(result, .some(nil))
        XCTAssertTrue(run.isFinished)
    }

    func testAnErrorStopsTheChainAndIsTheResult() {
        var seen: [String] = []
        var result: SocketIOConnectError?
        let run = Run([
            { _, next in seen.append("a"); next(SocketIOConnectError("no", data: ["why": "test"])) },
            { _, next in seen.append("b"); next(nil) },
        ], subject: "s") { result = $0 }
        run.start()
        XCTAssertEqual(seen, ["a"])
        XCTAssertEqual(result, SocketIOConnectError("no", data: ["why": "test"]))
    }

    func testALaterAnswerContinuesTheChainAndASecondOneIsIgnored() {
        var saved: ((SocketIOConnectError?) -> Void)?
        var seen: [String] = []
        var results: [SocketIOConnectError?] = []
        let run = Run([
            { _, next in seen.append("a"); saved = next },
            { _, next in seen.append("b"); next(nil) },
        ], subject: "s") { results.append($0) }
        run.start()
        XCTAssertEqual(seen, ["a"], "the chain waits for the first middleware")
        XCTAssertTrue(results.isEmpty)
        saved?(nil)
        XCTAssertEqual(seen, ["a", "b"])
        XCTAssertEqual(results.count, 1)
        saved?(SocketIOConnectError("late"))
        saved?(nil)
        XCTAssertEqual(seen, ["a", "b"], "a second answer runs nothing")
        XCTAssertEqual(results.count, 1, "done is called once")
    }

    func testAnAnswerAfterCancelIsIgnored() {
        var saved: ((SocketIOConnectError?) -> Void)?
        var called = false
        let run = Run([{ _, next in saved = next }], subject: "s") { _ in called = true }
        run.start()
        run.cancel()
        saved?(nil)
        XCTAssertFalse(called)
        XCTAssertTrue(run.isFinished)
    }

    func testNoMiddlewaresFinishesAtOnce() {
        var result: SocketIOConnectError?? = .none
        Run([], subject: "s") { result = .some($0) }.start()
        XCTAssertEqual(result, .some(nil))
    }

    // MARK: Over a server

    func startServer(connectTimeout: Duration = .seconds(5), _ configure: @escaping @Sendable (SocketIOServer) -> Void) throws -> (EventLoopThread, UInt16) {
        let port = Shared<UInt16>(0)
        let thread = try EventLoopThread { loop in
            let router = HTTPRouter()
            var configuration = SocketIOConfiguration()
            configuration.engine.pingInterval = .seconds(30)
            configuration.connectTimeout = connectTimeout
            configuration.maxPendingPacketsPerSocket = 3
            let server = SocketIOServer(loop: loop, configuration: configuration)
            configure(server)
            server.install(on: router)
            let http = HTTPServer(loop: loop, router: router)
            port.with { $0 = try! http.listen(on: SocketAddress(ip: "127.0.0.1", port: 0)).address.port }
        }
        return (thread, port.get)
    }

    func http(_ port: UInt16, _ method: String, _ target: String, body: String = "", headers: String = "") throws -> String {
        let client = try BlockingClient(port: port)
        defer { client.close() }
        client.send("\(method) \(target) HTTP/1.1\r\nHost: x\r\n\(headers)Connection: close\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        let response = String(decoding: client.receiveAll(), as: UTF8.self)
        return String(response[response.range(of: "\r\n\r\n")!.upperBound...])
    }

    /// Opens a polling session, sends `packets` (one POST), and returns the sid.
    func open(_ port: UInt16, _ packets: String, query: String = "", headers: String = "") throws -> String {
        let open = try http(port, "GET", "/socket.io/?EIO=4&transport=polling" + query, headers: headers)
        let sid = try XCTUnwrap(try JSONValue.parse(String(open.dropFirst()))["sid"]?.stringValue)
        XCTAssertEqual(try http(port, "POST", "/socket.io/?EIO=4&transport=polling&sid=\(sid)", body: packets), "ok")
        return sid
    }

    func poll(_ port: UInt16, _ sid: String) throws -> String {
        try http(port, "GET", "/socket.io/?EIO=4&transport=polling&sid=\(sid)")
    }

    func testARefusalReachesTheClientWithItsMessageAndData() throws {
        let (thread, port) = try startServer { io in
            io.sockets.use { socket in
                socket.auth["token"]?.stringValue == "good" ? nil : SocketIOConnectError("unauthorized", data: ["code": 401])
            }
        }
        defer { thread.stopAndJoin() }
        let refused = try open(port, "40{\"token\":\"bad\"}")
        XCTAssertEqual(try poll(port, refused), "44{\"message\":\"unauthorized\",\"data\":{\"code\":401}}")
        let admitted = try open(port, "40{\"token\":\"good\"}")
        XCTAssertTrue(try poll(port, admitted).hasPrefix("40{\"sid\":\""))
    }

    func testAMiddlewareThatAnswersFromATimerDelaysTheConnectionUntilItDoes() throws {
        let connected = Shared(0)
        let (thread, port) = try startServer { io in
            io.sockets.use { _, next in
                _ = io.loop.schedule(after: .milliseconds(100)) { next(nil) }
            }
            io.sockets.use { socket, next in next(socket.connected ? SocketIOConnectError("connected too early") : nil) }
            io.on("connection") { _ in connected.with { $0 += 1 } }
        }
        defer { thread.stopAndJoin() }
        let start = ContinuousClock.now
        let sid = try open(port, "40")
        XCTAssertTrue(try poll(port, sid).hasPrefix("40{\"sid\":\""))
        XCTAssertGreaterThanOrEqual(ContinuousClock.now - start, .milliseconds(90))
        // The handlers run right after the CONNECT answer is written: give the loop a moment.
        let deadline = ContinuousClock.now + .seconds(2)
        while connected.get == 0 && ContinuousClock.now < deadline { usleep(1_000) }
        XCTAssertEqual(connected.get, 1)
    }

    func testAnAsyncMiddlewareRefusesOrAdmits() throws {
        let (thread, port) = try startServer { io in
            io.sockets.useAsync { socket in
                await Task.yield()
                return socket.auth["token"]?.stringValue == "good" ? nil : SocketIOConnectError("unauthorized")
            }
        }
        defer { thread.stopAndJoin() }
        XCTAssertEqual(try poll(port, try open(port, "40")), "44{\"message\":\"unauthorized\"}")
        XCTAssertTrue(try poll(port, try open(port, "40{\"token\":\"good\"}")).hasPrefix("40{\"sid\":\""))
    }

    /// A middleware that never answers holds its socket until the connect timeout, then the
    /// client gets a connect error for that namespace; its other namespace stays connected.
    func testAMiddlewareThatNeverAnswersMeetsTheConnectTimeout() throws {
        let held = Shared(0)
        let (thread, port) = try startServer(connectTimeout: .milliseconds(300)) { io in
            io.of("/slow").use { _, _ in held.with { $0 += 1 } }  // never calls next
        }
        defer { thread.stopAndJoin() }
        let sid = try open(port, "40\u{1e}40/slow,")
        XCTAssertTrue(try poll(port, sid).hasPrefix("40{\"sid\":\""))
        XCTAssertEqual(try poll(port, sid), "44/slow,{\"message\":\"connect timeout\"}")
        XCTAssertEqual(held.get, 1)
        // The session is still there, its main namespace connected: it can connect again.
        XCTAssertEqual(try http(port, "POST", "/socket.io/?EIO=4&transport=polling&sid=\(sid)", body: "40/slow,"), "ok")
        XCTAssertEqual(held.get, 2)
    }

    func testMiddlewaresSeeTheWholeHandshake() throws {
        let seen = Shared<String>("")
        let (thread, port) = try startServer { io in
            io.sockets.use { socket in
                let h = socket.handshake
                seen.with {
                    $0 = "\(h.url)|\(h.queryItems["user"] ?? "-")|\(h.cookies["session"] ?? "-")|\(h.request.header("X-Test") ?? "-")|"
                        + "\(h.address?.ip ?? "-")|\(h.secure)|\(h.issued > 1_700_000_000_000)|\(h.auth["k"]?.stringValue ?? "-")"
                }
                return nil
            }
        }
        defer { thread.stopAndJoin() }
        let sid = try open(port, "40{\"k\":\"v\"}", query: "&user=a%20b",
                           headers: "Cookie: theme=dark; session=xyz\r\nX-Test: one\r\nx-test: two\r\n")
        XCTAssertTrue(try poll(port, sid).hasPrefix("40{\"sid\":\""))
        XCTAssertEqual(seen.get, "/socket.io/?EIO=4&transport=polling&user=a%20b|a b|xyz|one, two|127.0.0.1|false|true|v")
    }

    // MARK: allowRequest (Engine.IO)

    func status(_ port: UInt16, _ request: String) throws -> (Int, String) {
        let client = try BlockingClient(port: port)
        defer { client.close() }
        client.send(request)
        let response = String(decoding: client.receiveAll(), as: UTF8.self)
        let status = Int(response.split(separator: " ", maxSplits: 2)[1]) ?? 0
        return (status, String(response[response.range(of: "\r\n\r\n")!.upperBound...]))
    }

    func testAllowRequestRefusesAHandshakeByHeaderBeforeASessionExists() throws {
        let sessions = Shared(0)
        let (thread, port) = try startServer { io in
            io.engine.allowRequest = { request in
                request.header("X-Client") == "bad" ? "go \"away\"" : (request.address?.ip == "127.0.0.1" ? nil : "not local")
            }
            io.on("connection") { _ in sessions.with { $0 += 1 } }
        }
        defer { thread.stopAndJoin() }
        let handshake = "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        let (refused, body) = try status(port, handshake + "X-Client: bad\r\n\r\n")
        XCTAssertEqual(refused, 403)
        XCTAssertEqual(body, "{\"code\":4,\"message\":\"go \\\"away\\\"\"}")
        let upgrade = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nX-Client: bad\r\n\r\n"
        let ws = try BlockingClient(port: port)
        ws.send(upgrade)  // kept alive after the answer (no Connection: close): read the status line only
        XCTAssertEqual(String(decoding: ws.receive(exactly: 12), as: UTF8.self), "HTTP/1.1 403", "a WebSocket handshake is vetted too")
        ws.close()
        let (allowed, open) = try status(port, handshake + "X-Client: good\r\n\r\n")
        XCTAssertEqual(allowed, 200)
        XCTAssertTrue(open.hasPrefix("0{\"sid\""), open)
        // Requests of an existing session are not vetted again (the reference asks only at the handshake).
        let sid = try XCTUnwrap(try JSONValue.parse(String(open.dropFirst()))["sid"]?.stringValue)
        XCTAssertEqual(try status(port, "POST /socket.io/?EIO=4&transport=polling&sid=\(sid) HTTP/1.1\r\nHost: x\r\n"
                                  + "Connection: close\r\nX-Client: bad\r\nContent-Length: 2\r\n\r\n40").0, 200)
    }

    // MARK: Packet middlewares (socket.use)

    func testPacketMiddlewaresFailDropOrPassEventsAndBoundWhatTheyHold() throws {
        let log = Shared<[String]>([])
        let (thread, port) = try startServer { io in
            io.on("connection") { socket in
                socket.use { packet in packet.event == "bad" ? SocketIOConnectError("bad event") : nil }
                socket.use { packet, next in
                    switch packet.event {
                    case "drop": return  // next let go: dropped
                    case "hold": _ = io.loop.schedule(after: .milliseconds(100)) { next(nil) }
                    default: next(nil)
                    }
                }
                socket.onError { error in log.with { $0.append("error:" + ((error as? SocketIOConnectError)?.message ?? "?")) } }
                socket.onAny { event, _, _ in log.with { $0.append("any:" + event) } }
                for name in ["bad", "drop", "hold", "ok"] {
                    socket.on(name) { _, _ in log.with { $0.append(name) } }
                }
            }
        }
        defer { thread.stopAndJoin() }
        let sid = try open(port, "40")
        XCTAssertTrue(try poll(port, sid).hasPrefix("40{\"sid\":\""))
        var packets = ["bad", "drop", "ok"]
        packets += Array(repeating: "hold", count: 5)  // the configured bound is 3: two are dropped
        packets += ["ok"]  // dropped too: three events are held, the bound is full
        let body = packets.map { "42[\"\($0)\"]" }.joined(separator: "\u{1e}")
        XCTAssertEqual(try http(port, "POST", "/socket.io/?EIO=4&transport=polling&sid=\(sid)", body: body), "ok")
        let deadline = ContinuousClock.now + .seconds(2)
        while log.get.filter({ $0 == "hold" }).count < 3 && ContinuousClock.now < deadline { usleep(1_000) }
        usleep(200_000)  // time for a fourth or fifth, were they not dropped
        XCTAssertEqual(log.get, ["error:bad event", "any:ok", "ok", "any:hold", "hold", "any:hold", "hold", "any:hold", "hold"])
        // The held events are let go: the bound counts them no more, and new ones are held again.
        XCTAssertEqual(try http(port, "POST", "/socket.io/?EIO=4&transport=polling&sid=\(sid)", body: "42[\"hold\"]"), "ok")
        let again = ContinuousClock.now + .seconds(2)
        while log.get.filter({ $0 == "hold" }).count < 4 && ContinuousClock.now < again { usleep(1_000) }
        XCTAssertEqual(log.get.filter { $0 == "hold" }.count, 4)
    }
}

