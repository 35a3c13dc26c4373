import Connections
import Protocols
import Reactor
import ReactorTestSupport
import XCTest

/// WebSocket with async/await on both sides, over real sockets on 127.0.0.1.
final class AsyncWebSocketTests: XCTestCase {
    /// `/echo-async` written with the async API; an async client sends text and binary and gets
    /// them back in order; the client's close ends the server's loop, and its `closeCode` says 1000.
    func testAnAsyncEchoWithAnAsyncClient() async throws {
        let serverCloses = Shared<[UInt16]>([])
        let (server, port) = try startHTTPServer { router, _ in
            router.get("/echo-async") { req, res in
                WebSocket.upgrade(req, res) { ws in
                    for try await message in ws.messages { try await ws.send(message) }
                    let code = ws.closeCode
                    serverCloses.with { $0.append(code?.rawValue ?? 0) }
                }
            }
        }
        defer { server.stopAndJoin() }
        let clients = try EventLoopThread()
        defer { clients.stopAndJoin() }
        let ws = try await AsyncWebSocket.connect(to: SocketAddress(ip: "127.0.0.1", port: port), path: "/echo-async", on: clients.handle)
        var sent: [WebSocketMessage] = []
        for i in 0..<20 {
            let m: WebSocketMessage = i % 2 == 0 ? .text("message \(i) ✓") : .binary(pattern(1000 + i, seed: i))
            sent.append(m)
            try await ws.send(m)
        }
        var received: [WebSocketMessage] = []
        for try await m in ws.messages {
            received.append(m)
            if received.count == sent.count { break }
        }
        XCTAssertEqual(received, sent)
        await ws.close()
        XCTAssertTrue(eventually { serverCloses.get == [1000] }, "\(serverCloses.get)")
    }

    /// A server whose body does not read holds at most its inbound watermark: past it the socket
    /// is not read, so a client sending without pause sees its own writes suspend.
    func testASlowReaderHoldsBoundedMessagesAndSuspendsTheSender() async throws {
        let release = Shared(false)
        let total = Shared(0)
        let (server, port) = try startHTTPServer { router, _ in
            router.get("/slow") { req, res in
                WebSocket.upgrade(req, res, inboundHighWatermark: 64 << 10, inboundLowWatermark: 16 << 10) { ws in
                    while !release.get { try await Task.sleep(for: .milliseconds(10)) }
                    for try await message in ws.messages {
                        if case .binary(let b) = message { total.with { $0 += b.count } }
                        if total.get == 400 * 16_384 { break }
                    }
                }
            }
        }
        defer { server.stopAndJoin() }
        let clients = try EventLoopThread()
        defer { clients.stopAndJoin() }
        let ws = try await AsyncWebSocket.connect(to: SocketAddress(ip: "127.0.0.1", port: port), path: "/slow", on: clients.handle)
        let sentCount = Shared(0)
        let chunk = pattern(16_384)
        let sender = Task {
            for _ in 0..<400 {
                try await ws.send(binary: chunk)
                sentCount.with { $0 += 1 }
            }
        }
        try await Task.sleep(for: .milliseconds(400))
        XCTAssertLessThan(sentCount.get, 400, "the sender is suspended while the server does not read")
        release.with { $0 = true }
        try await sender.value
        XCTAssertTrue(eventually { total.get == 400 * 16_384 }, "\(total.get)")
    }

    /// The body's task cancelled while it waits for a message (the connection still open, no
    /// message coming): its `receive` throws `CancellationError` at once, it does not hang.
    func testCancellingTheBodyWakesAWaitingReceive() async throws {
        let outcome = Shared("")
        let (server, port) = try startHTTPServer { router, _ in
            router.get("/cancel") { req, res in
                WebSocket.upgrade(req, res) { ws in
                    _ = try await ws.receive()  // the client's one message: the body is running
                    withUnsafeCurrentTask { $0?.cancel() }
                    do {
                        let message = try await ws.receive()
                        outcome.with { $0 = "received \(String(describing: message))" }
                    } catch is CancellationError {
                        outcome.with { $0 = "cancelled" }
                    }
                }
            }
        }
        defer { server.stopAndJoin() }
        let clients = try EventLoopThread()
        defer { clients.stopAndJoin() }
        let ws = try await AsyncWebSocket.connect(to: SocketAddress(ip: "127.0.0.1", port: port), path: "/cancel", on: clients.handle)
        try await ws.send(text: "start")
        XCTAssertTrue(eventually { outcome.get == "cancelled" }, outcome.get)
        // The body returned, so the server closed the socket normally.
        for try await _ in ws.messages {}
        let code = await ws.closeCode
        XCTAssertEqual(code, .normal)
    }
}
