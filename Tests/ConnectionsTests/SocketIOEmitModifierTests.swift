import Foundation
import Glibc
@testable import Connections
import Protocols
import Reactor
import ReactorTestSupport
import XCTest

/// Emit modifiers on one socket, over a raw long-polling client on 127.0.0.1: `volatile` drops
/// an emit while no long poll waits and sends it while one does; `timeout` fails an ack nobody
/// sends.
final class SocketIOEmitModifierTests: XCTestCase {
    static func http(_ port: UInt16, _ method: String, _ target: String, body: String = "") throws -> String {
        let client = try BlockingClient(port: port)
        defer { client.close() }
        client.send("\(method) \(target) HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        let response = String(decoding: client.receiveAll(), as: UTF8.self)
        return String(response[response.range(of: "\r\n\r\n")!.upperBound...])
    }

    func testVolatileDropsWhileNoPollWaitsAndSendsWhileOneDoes() throws {
        let port = Shared<UInt16>(0)
        let results = Shared<[String]>([])
        let thread = try EventLoopThread { loop in
            let router = HTTPRouter()
            var configuration = SocketIOConfiguration()
            configuration.engine.pingInterval = .seconds(30)
            let io = SocketIOServer(loop: loop, configuration: configuration)
            io.on("connection") { socket in
                socket.on("tick") { [unowned socket] args, _ in
                    socket.volatile.emit("v", args[0] ?? .null)
                }
                socket.on("ask") { [unowned socket] _, _ in
                    socket.timeout(.milliseconds(100)).emit("question", []) { result in
                        results.with { $0.append(result.failure == .timeout ? "timeout" : "other") }
                    }
                }
            }
            io.install(on: router)
            let http = HTTPServer(loop: loop, router: router)
            port.with { $0 = try! http.listen(on: SocketAddress(ip: "127.0.0.1", port: 0)).address.port }
        }
        defer { thread.stopAndJoin() }
        let p = port.get
        let open = try Self.http(p, "GET", "/socket.io/?EIO=4&transport=polling")
        let sid = try XCTUnwrap(try JSONValue.parse(String(open.dropFirst()))["sid"]?.stringValue)
        let target = "/socket.io/?EIO=4&transport=polling&sid=\(sid)"
        XCTAssertEqual(try Self.http(p, "POST", target, body: "40"), "ok")
        XCTAssertTrue(try Self.http(p, "GET", target).hasPrefix("40{"))
        // No poll waits: the volatile emit is dropped.
        XCTAssertEqual(try Self.http(p, "POST", target, body: "42[\"tick\",1]"), "ok")
        // A poll waits (held: nothing queued), then a tick: its emit answers that poll.
        let answer = Shared<String>("")
        let poller = Thread { answer.with { $0 = (try? Self.http(p, "GET", target)) ?? "error" } }
        poller.start()
        usleep(200_000)
        XCTAssertEqual(try Self.http(p, "POST", target, body: "42[\"tick\",2]"), "ok")
        let deadline = ContinuousClock.now + .seconds(3)
        while answer.get.isEmpty && ContinuousClock.now < deadline { usleep(1_000) }
        XCTAssertEqual(answer.get, "42[\"v\",2]", "the first tick's emit was dropped, the second sent")
        // timeout: the question goes out with an ack id, nobody answers, the callback says so.
        XCTAssertEqual(try Self.http(p, "POST", target, body: "42[\"ask\"]"), "ok")
        XCTAssertTrue(try Self.http(p, "GET", target).hasPrefix("42"))
        let asked = ContinuousClock.now + .seconds(3)
        while results.get.isEmpty && ContinuousClock.now < asked { usleep(1_000) }
        XCTAssertEqual(results.get, ["timeout"])
    }
}

private extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
