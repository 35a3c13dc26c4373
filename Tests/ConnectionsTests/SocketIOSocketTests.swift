import Foundation
import Glibc
import Connections
import Protocols
import Reactor
import ReactorTestSupport
import XCTest

/// The Socket.IO server over real sockets on 127.0.0.1, spoken by hand (raw HTTP long polling and
/// raw WebSocket frames) so the test sees the exact bytes and the server's encoding counters.
final class SocketIOSocketTests: XCTestCase {
    /// Starts a server on its own loop thread; `configure` runs on the loop.
    func startServer(_ configure: @escaping @Sendable (SocketIOServer) -> Void) throws -> (EventLoopThread, UInt16, Shared<SocketIOServer?>) {
        let port = Shared<UInt16>(0)
        let io = Shared<SocketIOServer?>(nil)
        let thread = try EventLoopThread { loop in
            let router = HTTPRouter()
            var configuration = SocketIOConfiguration()
            configuration.engine.pingInterval = .seconds(30)
            let server = SocketIOServer(loop: loop, configuration: configuration)
            configure(server)
            server.install(on: router)
            io.with { $0 = server }
            let http = HTTPServer(loop: loop, router: router)
            port.with { $0 = try! http.listen(on: SocketAddress(ip: "127.0.0.1", port: 0)).address.port }
        }
        return (thread, port.get, io)
    }

    // MARK: A raw HTTP client

    func http(_ port: UInt16, _ method: String, _ target: String, body: String = "") throws -> (Int, String) {
        let client = try BlockingClient(port: port)
        defer { client.close() }
        client.send("\(method) \(target) HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        let response = String(decoding: client.receiveAll(), as: UTF8.self)
        let status = Int(response.split(separator: " ", maxSplits: 2)[1]) ?? 0
        let bodyStart = response.range(of: "\r\n\r\n")!.upperBound
        return (status, String(response[bodyStart...]))
    }

    func pollingClient(_ port: UInt16) throws -> String {
        let (status, open) = try http(port, "GET", "/socket.io/?EIO=4&transport=polling")
        XCTAssertEqual(status, 200)
        let sid = try XCTUnwrap(try JSONValue.parse(String(open.dropFirst()))["sid"]?.stringValue)
        XCTAssertEqual(try http(port, "POST", "/socket.io/?EIO=4&transport=polling&sid=\(sid)", body: "40").1, "ok")
        let (_, connected) = try http(port, "GET", "/socket.io/?EIO=4&transport=polling&sid=\(sid)")
        XCTAssertTrue(connected.hasPrefix("40{\"sid\":\""), connected)
        return sid
    }

    // MARK: A raw WebSocket client

    struct RawWebSocket {
        let client: BlockingClient

        init(port: UInt16) throws {
            client = try BlockingClient(port: port)
            client.send("GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            var head: [UInt8] = []
            while !head.suffix(4).elementsEqual("\r\n\r\n".utf8) { head += client.receive(exactly: 1) }
        }

        func send(_ text: String) { client.send(clientFrame(0x1, Array(text.utf8))) }

        /// The next frame: (opcode, payload).
        func receive() -> (UInt8, [UInt8]) {
            let h = client.receive(exactly: 2)
            var length = Int(h[1] & 0x7F)
            if length == 126 {
                let l = client.receive(exactly: 2)
                length = Int(l[0]) << 8 | Int(l[1])
            } else if length == 127 {
                length = client.receive(exactly: 8).reduce(0) { $0 << 8 | Int($1) }
            }
            return (h[0] & 0x0F, client.receive(exactly: length))
        }

        func receiveText() -> String {
            let (opcode, payload) = receive()
            XCTAssertEqual(opcode, 1)
            return String(decoding: payload, as: UTF8.self)
        }
    }

    func webSocketClient(_ port: UInt16) throws -> RawWebSocket {
        let ws = try RawWebSocket(port: port)
        XCTAssertTrue(ws.receiveText().hasPrefix("0{\"sid\":"))
        ws.send("40")
        XCTAssertTrue(ws.receiveText().hasPrefix("40{\"sid\":\""))
        return ws
    }

    // MARK: Tests

    func testBroadcastToARoomIsEncodedOncePerTransport() throws {
        let (thread, port, io) = try startServer { io in
            io.on("connection") { socket in socket.join("room") }
        }
        defer { thread.stopAndJoin() }
        let polling = try (0..<3).map { _ in try pollingClient(port) }
        let webSockets = try (0..<2).map { _ in try webSocketClient(port) }
        defer { webSockets.forEach { $0.client.close() } }

        let counts = onLoop(thread) { _ -> [Int] in
            let server = io.get!
            var args: SocketIOArguments = ["hello"]
            args.append(binary: [1, 2, 3])
            server.to("room").emit("news", args)
            return [server.engine.counters.webSocketFrames, server.sockets.socketIDs(in: "room").count]
        }
        // Five recipients; two Engine.IO messages (the packet and its attachment), each framed
        // once for every WebSocket recipient together.
        XCTAssertEqual(counts, [2, 5])

        for ws in webSockets {
            XCTAssertEqual(ws.receiveText(), "451-[\"news\",\"hello\",{\"_placeholder\":true,\"num\":0}]")
            let (opcode, payload) = ws.receive()
            XCTAssertEqual(opcode, 2)
            XCTAssertEqual(payload, [1, 2, 3])
        }
        for sid in polling {
            let (status, body) = try http(port, "GET", "/socket.io/?EIO=4&transport=polling&sid=\(sid)")
            XCTAssertEqual(status, 200)
            XCTAssertEqual(body, "451-[\"news\",\"hello\",{\"_placeholder\":true,\"num\":0}]\u{1E}bAQID")
        }
        // The polling form is made when the first poll takes it, once for all three.
        let after = onLoop(thread) { _ in [io.get!.engine.counters.webSocketFrames, io.get!.engine.counters.pollingPackets] }
        XCTAssertEqual(after, [2, 2])
    }

    func testServerAckTimesOutWhenTheClientDoesNotAnswer() throws {
        let result = Shared<String?>(nil)
        let (thread, port, _) = try startServer { io in
            io.on("connection") { socket in
                socket.on("ask-me") { _, _ in
                    socket.emitWithAck("question", ["?"], timeout: .milliseconds(200)) { r in
                        result.with { $0 = "\(r)" }
                    }
                }
            }
        }
        defer { thread.stopAndJoin() }
        let ws = try webSocketClient(port)
        defer { ws.client.close() }
        ws.send("42[\"ask-me\"]")
        XCTAssertEqual(ws.receiveText(), "420[\"question\",\"?\"]")
        XCTAssertTrue(eventually(3) { result.get != nil })
        XCTAssertEqual(result.get, "failure(Protocols.SocketIOAckError.timeout)")
    }

    func testServerAckIsAnswered() throws {
        let result = Shared<String?>(nil)
        let (thread, port, _) = try startServer { io in
            io.of("/admin").on("connection") { socket in
                socket.emitWithAck("question", ["?"], timeout: .seconds(5)) { r in
                    if case .success(let args) = r { result.with { $0 = args.description } }
                }
            }
        }
        defer { thread.stopAndJoin() }
        let ws = try RawWebSocket(port: port)
        defer { ws.client.close() }
        _ = ws.receiveText()
        ws.send("40/admin,")
        XCTAssertTrue(ws.receiveText().hasPrefix("40/admin,{\"sid\":"))
        XCTAssertEqual(ws.receiveText(), "42/admin,0[\"question\",\"?\"]")
        ws.send("43/admin,0[\"yes\",2]")
        XCTAssertTrue(eventually(3) { result.get != nil })
        XCTAssertEqual(result.get, "[\"yes\",2]")
    }

    func testMiddlewareRefusalIsAConnectError() throws {
        let (thread, port, _) = try startServer { io in
            io.of("/private").use { socket in
                socket.auth["token"]?.stringValue == "secret" ? nil : SocketIOConnectError("not authorized", data: ["hint": "token"])
            }
        }
        defer { thread.stopAndJoin() }
        let ws = try RawWebSocket(port: port)
        defer { ws.client.close() }
        _ = ws.receiveText()
        ws.send("40/private,{\"token\":\"guess\"}")
        XCTAssertEqual(ws.receiveText(), "44/private,{\"message\":\"not authorized\",\"data\":{\"hint\":\"token\"}}")
        ws.send("40/private,{\"token\":\"secret\"}")
        XCTAssertTrue(ws.receiveText().hasPrefix("40/private,{\"sid\":"))
    }
}
