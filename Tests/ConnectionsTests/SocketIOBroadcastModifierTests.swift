import Foundation
import Glibc
@testable import Connections
import Protocols
import Reactor
import ReactorTestSupport
import XCTest

/// `volatile` on a broadcast (a socket with no long poll waiting misses it, one with a poll held
/// gets it) and `compress(false)` on a long-polling client (its poll answer is not gzip-coded,
/// where the same packet with compression is), over raw polling clients on 127.0.0.1.
final class SocketIOBroadcastModifierTests: XCTestCase {
    func startServer() throws -> (EventLoopThread, UInt16) {
        let port = Shared<UInt16>(0)
        let thread = try EventLoopThread { loop in
            let router = HTTPRouter()
            var configuration = SocketIOConfiguration()
            configuration.engine.pingInterval = .seconds(30)
            let io = SocketIOServer(loop: loop, configuration: configuration)
            io.on("connection") { socket in
                socket.on("tick") { [unowned socket] args, _ in socket.namespace.volatile.emit("v", args[0] ?? .null) }
                socket.on("plain") { [unowned socket] _, _ in socket.namespace.emit("p") }
                socket.on("big") { [unowned socket] args, _ in
                    let text = JSONValue.string(String(repeating: "x", count: 4000))
                    if args[0]?["broadcast"]?.boolValue == true {
                        socket.namespace.compress(args[0]?["compress"]?.boolValue ?? true).emit("big", text)
                    } else {
                        socket.compress(args[0]?["compress"]?.boolValue ?? true).emit("big", text)
                    }
                }
            }
            io.install(on: router)
            let http = HTTPServer(loop: loop, router: router)
            port.with { $0 = try! http.listen(on: SocketAddress(ip: "127.0.0.1", port: 0)).address.port }
        }
        return (thread, port.get)
    }

    /// The whole response: head and body.
    static func exchange(_ port: UInt16, _ method: String, _ target: String, body: String = "", headers: String = "") throws -> (head: String, body: [UInt8]) {
        let client = try BlockingClient(port: port)
        defer { client.close() }
        client.send("\(method) \(target) HTTP/1.1\r\nHost: x\r\n\(headers)Connection: close\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        let response = client.receiveAll()
        let end = try XCTUnwrap(response.indices.first { i in response[i...].starts(with: Array("\r\n\r\n".utf8)) })
        return (String(decoding: response[..<end], as: UTF8.self).lowercased(), Array(response[(end + 4)...]))
    }

    static func http(_ port: UInt16, _ method: String, _ target: String, body: String = "") throws -> String {
        String(decoding: try exchange(port, method, target, body: body).body, as: UTF8.self)
    }

    static func connect(_ port: UInt16) throws -> String {
        let open = try http(port, "GET", "/socket.io/?EIO=4&transport=polling")
        let sid = try XCTUnwrap(try JSONValue.parse(String(open.dropFirst()))["sid"]?.stringValue)
        let target = "/socket.io/?EIO=4&transport=polling&sid=\(sid)"
        XCTAssertEqual(try http(port, "POST", target, body: "40"), "ok")
        XCTAssertTrue(try http(port, "GET", target).hasPrefix("40{"))
        return target
    }

    func testAVolatileBroadcastSkipsTheSocketsWithNoPollWaiting() throws {
        let (thread, p) = try startServer()
        defer { thread.stopAndJoin() }
        let a = try Self.connect(p), b = try Self.connect(p)
        // A holds a poll; B does not.
        let answer = Shared<String>("")
        let poller = Thread { answer.with { $0 = (try? Self.http(p, "GET", a)) ?? "error" } }
        poller.start()
        usleep(200_000)
        XCTAssertEqual(try Self.http(p, "POST", b, body: "42[\"tick\",1]"), "ok")
        XCTAssertTrue(eventually(3) { !answer.get.isEmpty })
        XCTAssertEqual(answer.get, "42[\"v\",1]")
        // B missed it: what B gets next is the broadcast made after, which is not volatile.
        XCTAssertEqual(try Self.http(p, "POST", b, body: "42[\"plain\"]"), "ok")
        XCTAssertEqual(try Self.http(p, "GET", b), "42[\"p\"]")
    }

    func testCompressFalseLeavesThePollAnswerUncoded() throws {
        let (thread, p) = try startServer()
        defer { thread.stopAndJoin() }
        let target = try Self.connect(p)
        for (arguments, coded) in [("{\"compress\":true}", true), ("{\"compress\":false}", false),
                                   ("{\"compress\":true,\"broadcast\":true}", true), ("{\"compress\":false,\"broadcast\":true}", false)] {
            XCTAssertEqual(try Self.http(p, "POST", target, body: "42[\"big\",\(arguments)]"), "ok")
            let (head, body) = try Self.exchange(p, "GET", target, headers: "Accept-Encoding: gzip\r\n")
            XCTAssertEqual(head.contains("content-encoding: gzip"), coded, arguments)
            if !coded { XCTAssertTrue(String(decoding: body, as: UTF8.self).hasPrefix("42[\"big\",\"xxxx"), arguments) }
            XCTAssertEqual(body.count < 1000, coded, "4000 x's gzip to a few dozen bytes")
        }
    }
}
