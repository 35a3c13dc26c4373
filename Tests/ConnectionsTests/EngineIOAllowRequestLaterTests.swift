import Foundation
import Glibc
@testable import Connections
import Protocols
import Reactor
import ReactorTestSupport
import XCTest

/// `allowRequestLater` (the reference's `allowRequest(req, callback)`) over 127.0.0.1: a decision
/// made later lets a polling or WebSocket handshake through or refuses it with 403 and its
/// message; handshakes waiting are bounded (`maxPendingHandshakes`: the next one gets 503 at
/// once) and one never decided gets 503 after `allowRequestTimeout`.
final class EngineIOAllowRequestLaterTests: XCTestCase {
    func startServer(maxPending: Int = 1_000, timeout: Duration = .seconds(5)) throws -> (EventLoopThread, UInt16, Shared<Int>) {
        let port = Shared<UInt16>(0)
        let pending = Shared(0)
        let thread = try EventLoopThread { loop in
            let router = HTTPRouter()
            var configuration = EngineIOConfiguration()
            configuration.maxPendingHandshakes = maxPending
            configuration.allowRequestTimeout = timeout
            let engine = EngineIOServer(loop: loop, configuration: configuration)
            engine.allowRequestLater = { request, decide in
                let items = request.queryItems
                if items["hang"] != nil { return }
                _ = loop.schedule(after: .milliseconds(50)) {
                    decide(items["deny"])
                    decide("a second answer is ignored")
                }
            }
            engine.onConnection = { _ in pending.with { $0 = engine.pendingHandshakes } }
            engine.install(on: router)
            let http = HTTPServer(loop: loop, router: router)
            port.with { $0 = try! http.listen(on: SocketAddress(ip: "127.0.0.1", port: 0)).address.port }
        }
        return (thread, port.get, pending)
    }

    func request(_ port: UInt16, _ target: String, headers: String = "") throws -> String {
        let client = try BlockingClient(port: port)
        defer { client.close() }
        client.send("GET \(target) HTTP/1.1\r\nHost: x\r\n\(headers)Connection: close\r\n\r\n")
        return String(decoding: client.receiveAll(), as: UTF8.self)
    }

    func testALaterDecisionLetsThroughOrRefuses() throws {
        let (thread, port, pending) = try startServer()
        defer { thread.stopAndJoin() }
        let allowed = try request(port, "/engine.io/?EIO=4&transport=polling")
        XCTAssertTrue(allowed.hasPrefix("HTTP/1.1 200"), allowed)
        XCTAssertTrue(allowed.contains("\r\n\r\n0{\"sid\":"), allowed)
        XCTAssertEqual(pending.get, 0, "the decision was counted out before the session opened")
        let refused = try request(port, "/engine.io/?EIO=4&transport=polling&deny=banned")
        XCTAssertTrue(refused.hasPrefix("HTTP/1.1 403"), refused)
        XCTAssertTrue(refused.hasSuffix("{\"code\":4,\"message\":\"banned\"}"), refused)
        // A WebSocket handshake waits too, then gets its 101 (or the refusal).
        let upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        let client = try BlockingClient(port: port)
        defer { client.close() }
        client.send("GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n\(upgrade)\r\n")
        let head = String(decoding: client.receive(exactly: 12), as: UTF8.self)
        XCTAssertEqual(head, "HTTP/1.1 101")
        let deniedSocket = try request(port, "/engine.io/?EIO=4&transport=websocket&deny=no", headers: upgrade)
        XCTAssertTrue(deniedSocket.hasPrefix("HTTP/1.1 403"), deniedSocket)
    }

    func testPendingHandshakesAreBoundedAndAnUndecidedOneTimesOut() throws {
        let (thread, port, _) = try startServer(maxPending: 1, timeout: .milliseconds(300))
        defer { thread.stopAndJoin() }
        let first = try BlockingClient(port: port)
        defer { first.close() }
        first.send("GET /engine.io/?EIO=4&transport=polling&hang=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        usleep(100_000)
        let second = try request(port, "/engine.io/?EIO=4&transport=polling")
        XCTAssertTrue(second.hasPrefix("HTTP/1.1 503"), second)
        XCTAssertTrue(second.hasSuffix("\"message\":\"too many handshakes pending\"}"), second)
        let timedOut = String(decoding: first.receiveAll(), as: UTF8.self)
        XCTAssertTrue(timedOut.hasPrefix("HTTP/1.1 503"), timedOut)
        XCTAssertTrue(timedOut.hasSuffix("\"message\":\"allowRequest timed out\"}"), timedOut)
        // Its place is free again.
        XCTAssertTrue(try request(port, "/engine.io/?EIO=4&transport=polling").hasPrefix("HTTP/1.1 200"))
    }
}
