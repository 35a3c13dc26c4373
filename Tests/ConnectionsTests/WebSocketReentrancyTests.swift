import Connections
import Protocols
import Reactor
import ReactorTestSupport
import XCTest

/// What a handler may do from inside a message callback, while the socket's message layer is
/// still reading the frames of that read: read the socket's configuration, send, close, and drop
/// the connection at once. Each must work and leave the server serving others.
final class WebSocketReentrancyTests: XCTestCase {
    /// Answers "config" with its maximum message size, echoes "echo...", and for "drop" drops the
    /// connection without a close frame (the loop closes it inside the callback).
    final class Reentrant: WebSocketHandler {
        func webSocket(_ ws: WebSocket, didReceiveText text: UnsafeRawBufferPointer) {
            switch String(decoding: text, as: UTF8.self) {
            case "config": ws.send(text: "\(ws.configuration.limits.maxMessageSize)")
            case "close": ws.close(code: .normal, reason: "asked")
            case "drop": ws.connection.close(reason: .local, flush: false)
            case let other: ws.send(text: other)
            }
        }
    }

    private func startServer() throws -> (EventLoopThread, UInt16) {
        let port = Shared<UInt16>(0)
        let thread = try EventLoopThread { loop in
            var configuration = WebSocketConfiguration()
            configuration.limits.maxMessageSize = 12345
            let handler = Reentrant()
            let router = HTTPRouter()
            router.get("/r") { req, res in WebSocket.upgrade(req, res, configuration: configuration, handler: handler) }
            port.with { $0 = try! HTTPServer(loop: loop, router: router).listen(on: SocketAddress(ip: "127.0.0.1", port: 0)).address.port }
        }
        return (thread, port.get)
    }

    /// A client that sends `messages` once open and records what comes back. It opens inside the
    /// read of the 101, whose sends the loop gathers into one write, so the server reads them
    /// together.
    final class Client: WebSocketHandler {
        struct Log { var texts: [String] = []; var closed: UInt16? }
        let log: Shared<Log>
        let messages: [String]
        init(_ log: Shared<Log>, _ messages: [String]) { self.log = log; self.messages = messages }
        func webSocketDidOpen(_ ws: WebSocket) {
            for m in messages { ws.send(text: m) }
        }
        func webSocket(_ ws: WebSocket, didReceiveText text: UnsafeRawBufferPointer) {
            log.with { $0.texts.append(String(decoding: text, as: UTF8.self)) }
        }
        func webSocketDidClose(_ ws: WebSocket, code: WebSocketCloseCode, reason: String) {
            log.with { $0.closed = code.rawValue }
        }
    }

    private func run(_ clients: EventLoopThread, port: UInt16, _ messages: [String]) -> Shared<Client.Log> {
        let log = Shared(Client.Log())
        _ = onLoop(clients) { loop in
            _ = try! WebSocket.connect(loop: loop, to: SocketAddress(ip: "127.0.0.1", port: port), path: "/r",
                                       handler: Client(log, messages))
            return 0
        }
        return log
    }

    func testACallbackReadsTheConfigurationClosesAndDropsWhileFramesRemainInTheRead() throws {
        let (server, port) = try startServer()
        defer { server.stopAndJoin() }
        let clients = try EventLoopThread()
        defer { clients.stopAndJoin() }

        let config = run(clients, port: port, ["config", "echo-1"])
        XCTAssertTrue(eventually { config.get.texts.count == 2 }, "\(config.get)")
        XCTAssertEqual(config.get.texts, ["12345", "echo-1"])

        // The close frame goes out; the frames behind it in the same read are not delivered.
        let closed = run(clients, port: port, ["echo-2", "close", "echo-3"])
        XCTAssertTrue(eventually { closed.get.closed != nil }, "\(closed.get)")
        XCTAssertEqual(closed.get.texts, ["echo-2"])
        XCTAssertEqual(closed.get.closed, 1000)

        // Dropped inside the callback, with a fragment of the next message still in the read.
        let dropped = run(clients, port: port, ["echo-4", "drop", String(repeating: "x", count: 5000)])
        // (Its echo of "echo-4" is dropped with it when the two came in one read: `flush: false`
        // drops what the read's cork gathered.)
        XCTAssertTrue(eventually { dropped.get.closed != nil }, "\(dropped.get)")
        XCTAssertTrue(dropped.get.texts == [] || dropped.get.texts == ["echo-4"], "\(dropped.get)")
        XCTAssertEqual(dropped.get.closed, 1006)

        // And the server still serves.
        let after = run(clients, port: port, ["echo-5"])
        XCTAssertTrue(eventually { after.get.texts == ["echo-5"] }, "\(after.get)")
    }
}
