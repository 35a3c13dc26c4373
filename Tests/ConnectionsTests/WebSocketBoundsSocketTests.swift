import Foundation
import Connections
import Protocols
import Reactor
import ReactorTestSupport
import XCTest

/// The bounds the glue enforces over real sockets: the deadline for finishing a message, the
/// loop's budget for incomplete messages returning to zero, and compressed echo without per-socket
/// compression state.
extension WebSocketSocketTests {
    static let upgradeRequest = "GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"

    /// A raw client past the 101; returns it and the response head.
    func rawUpgrade(_ port: UInt16, extra: String = "") throws -> (BlockingClient, String) {
        let client = try BlockingClient(port: port)
        client.send(Self.upgradeRequest + extra + "\r\n")
        var head: [UInt8] = []
        while !head.suffix(4).elementsEqual("\r\n\r\n".utf8) {
            let byte = client.receive(exactly: 1)
            if byte.isEmpty { break }
            head += byte
        }
        return (client, String(decoding: head, as: UTF8.self))
    }

    func heldByIncompleteMessages(_ server: EventLoopThread) -> Int {
        onLoop(server) { loop in loop.local(WebSocketMessageBudget.self) { WebSocketMessageBudget() }.held }
    }

    func testAMessageNotFinishedByItsDeadlineIsClosedWith1008AndRefunded() throws {
        let (server, port) = try startServer { $0.messageTimeout = .milliseconds(300) }
        defer { server.stopAndJoin() }
        let (client, head) = try rawUpgrade(port)
        defer { client.close() }
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 101"), head)
        let start = Date()
        client.send(clientFrame(0x1, Array("the first part".utf8), fin: false))
        XCTAssertTrue(eventually { self.heldByIncompleteMessages(server) > 0 }, "the fragment is held and charged")
        let answer = client.receiveAll()  // the close frame, then EOF
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertGreaterThanOrEqual(elapsed, 0.25)
        XCTAssertLessThan(elapsed, 3)
        XCTAssertGreaterThanOrEqual(answer.count, 4)
        XCTAssertEqual(Array(answer.prefix(1)), [0x88])
        XCTAssertEqual(Array(answer.dropFirst(2).prefix(2)), [0x03, 0xF0], "close code 1008")
        XCTAssertTrue(String(decoding: answer.dropFirst(4), as: UTF8.self).contains("not finished"))
        XCTAssertTrue(eventually { self.heldByIncompleteMessages(server) == 0 })
    }

    func testAMessageFinishedInTimeIsEchoedAndTheDeadlineDoesNotFire() throws {
        let (server, port) = try startServer { $0.messageTimeout = .milliseconds(400) }
        defer { server.stopAndJoin() }
        let (client, _) = try rawUpgrade(port)
        defer { client.close() }
        client.send(clientFrame(0x1, Array("hello, ".utf8), fin: false))
        usleep(200_000)
        client.send(clientFrame(0x0, Array("world".utf8)))
        XCTAssertEqual(client.receive(exactly: 14), [0x81, 12] + Array("hello, world".utf8))
        // A second slow message gets a deadline of its own, from its own first fragment.
        usleep(300_000)
        client.send(clientFrame(0x1, Array("again ".utf8), fin: false))
        usleep(200_000)
        client.send(clientFrame(0x0, Array("ok".utf8)))
        XCTAssertEqual(client.receive(exactly: 10), [0x81, 8] + Array("again ok".utf8))
        XCTAssertEqual(heldByIncompleteMessages(server), 0)
    }

    func testTheBudgetIsRefundedWhenASocketClosesMidMessage() throws {
        let (server, port) = try startServer()
        defer { server.stopAndJoin() }
        var clients: [BlockingClient] = []
        for _ in 0..<3 {
            let (client, _) = try rawUpgrade(port)
            client.send(clientFrame(0x2, pattern(20_000), fin: false))
            clients.append(client)
        }
        XCTAssertTrue(eventually { self.heldByIncompleteMessages(server) >= 60_000 }, "\(heldByIncompleteMessages(server))")
        for client in clients { client.close() }
        XCTAssertTrue(eventually { self.heldByIncompleteMessages(server) == 0 }, "\(heldByIncompleteMessages(server))")
    }

    /// A server that begins a message and never finishes it.
    final class Teaser: WebSocketHandler {
        func webSocketDidOpen(_ ws: WebSocket) {
            _ = ws.connection.send([0x01, 0x03] + Array("abc".utf8))  // text, FIN clear, unmasked
        }
    }

    func testTheClientSideHasTheSameDeadlineAndBudget() throws {
        let port = Shared<UInt16>(0)
        let server = try EventLoopThread { loop in
            let router = HTTPRouter()
            router.get("/tease") { req, res in WebSocket.upgrade(req, res, handler: Teaser()) }
            let http = HTTPServer(loop: loop, router: router)
            port.with { $0 = try! http.listen(on: SocketAddress(ip: "127.0.0.1", port: 0)).address.port }
        }
        defer { server.stopAndJoin() }
        let clients = try EventLoopThread()
        defer { clients.stopAndJoin() }
        var configuration = WebSocketConfiguration()
        configuration.messageTimeout = .milliseconds(300)
        let log = Shared(Recorder.Log())
        connect(clients, port: port.get, path: "/tease", configuration: configuration, log) { _ in }
        XCTAssertTrue(eventually { log.get.opened })
        XCTAssertTrue(eventually { self.heldByIncompleteMessages(clients) > 0 }, "the client's loop charges the fragment")
        XCTAssertTrue(eventually { log.get.closed != nil })
        XCTAssertEqual(log.get.closed?.0, 1008, "\(String(describing: log.get.closed))")
        XCTAssertEqual(heldByIncompleteMessages(clients), 0)
    }

    func testCompressedEchoWithoutContextTakeover() throws {
        let (server, port) = try startServer()
        defer { server.stopAndJoin() }
        let (client, head) = try rawUpgrade(port, extra: "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n")
        defer { client.close() }
        XCTAssertTrue(head.lowercased().contains("permessage-deflate; server_no_context_takeover; client_no_context_takeover"), head)
        let text = String(repeating: "a compressible sentence, ", count: 100)
        let compressor = try XCTUnwrap(WebSocketDeflater(noContextTakeover: true))
        let inflater = try XCTUnwrap(WebSocketInflater(noContextTakeover: true))
        for _ in 0..<3 {
            // Each message on its own: the same bytes compress to the same frame every time.
            let compressed = Array(text.utf8).withUnsafeBytes { compressor.deflate($0) }
            client.send(clientFrame(0x1, compressed, rsv: 0x4))
            let h = client.receive(exactly: 2)
            XCTAssertEqual(h[0], 0xC1, "a compressed text frame")
            let length = Int(h[1] & 0x7F)
            XCTAssertLessThan(length, 126)
            let payload = client.receive(exactly: length)
            XCTAssertEqual(payload, compressed, "our compressor keeps no context either")
            var out: [UInt8] = []
            XCTAssertEqual(payload.withUnsafeBytes { inflater.inflate($0, endOfMessage: true, into: &out, limit: 1 << 20) }, .ok)
            XCTAssertEqual(String(decoding: out, as: UTF8.self), text)
        }
    }
}
