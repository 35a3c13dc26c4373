import Connections
import Foundation
import Reactor
import ReactorTestSupport
import TLS
import XCTest

/// A blocking TLS client over a real socket: the TLS machine of the `TLS` target on the client
/// side (an independent client, Python's ssl, judges the server in Tests/Conformance/tls.sh).
private final class TLSTestClient {
    let socket: BlockingClient
    let tls: TLSConnection
    private var plaintext: [UInt8] = []

    init(port: UInt16, timeoutSeconds: Int = 5, trusting ca: String = TestCertificate.files.certificate,
         serverName: String = "localhost") throws {
        socket = try BlockingClient(port: port, timeoutSeconds: timeoutSeconds)
        let context = try TLSContext(client: TLSClientConfiguration(trustedCAFile: ca))
        tls = try TLSConnection(context: context, buffers: TLSBuffers(plaintextCapacity: 256 * 1024), serverName: serverName)
    }

    /// Runs the handshake to the end; false if it failed or the server closed.
    func handshake() -> Bool {
        feed([])
        while tls.state == .handshaking {
            guard readSome() else { return false }
        }
        return tls.isOpen
    }

    func send(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { _ = tls.send(plaintext: $0) { socket.send(Array($0)) } }
    }

    /// Plaintext until `count` bytes came (fewer at EOF or timeout).
    func receive(exactly count: Int) -> [UInt8] {
        while plaintext.count < count, readSome() {}
        let n = min(count, plaintext.count)
        defer { plaintext.removeFirst(n) }
        return Array(plaintext.prefix(n))
    }

    /// Reads until the server closes (EOF, reset or timeout): true if it did within the timeout.
    func serverClosed() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(socket.fd, $0.baseAddress!, 16384, 0) }
            if n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { return true }
            if n < 0 { return false }  // timeout: still open
        }
    }

    private func readSome() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(socket.fd, $0.baseAddress!, 65536, 0) }
        guard n > 0 else { return false }
        feed(Array(chunk[0..<n]))
        return true
    }

    private func feed(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { plaintext += tls.receive(ciphertext: $0) { socket.send(Array($0)) } }
        while tls.hasPendingInput {
            plaintext += tls.receive(ciphertext: UnsafeRawBufferPointer(start: nil, count: 0)) { socket.send(Array($0)) }
        }
    }
}

final class TLSServerTests: XCTestCase {
    private func tlsServer(handshakeTimeout: Duration = .seconds(10), log: LogSink = .discard) throws -> TLSServer {
        let files = TestCertificate.files
        return try TLSServer(configuration: TLSConfiguration(certificateChainFile: files.certificate, privateKeyFile: files.key),
                             handshakeTimeout: handshakeTimeout, log: log)
    }

    /// An HTTP server whose listener is wrapped by `tls`: the HTTP glue is unchanged.
    private func startHTTPS(_ tls: TLSServer) throws -> (EventLoopThread, UInt16) {
        let port = Shared<UInt16>(0)
        let thread = try EventLoopThread { loop in
            let router = HTTPRouter()
            router.get("/plaintext") { _, res in res.respond(contentType: "text/plain", body: "Hello, World!" as StaticString) }
            let server = HTTPServer(loop: loop, router: router)
            let listener = try loop.listen(on: SocketAddress(ip: "127.0.0.1", port: 0),
                                           makeHandler: tls.makeHandler(wrapping: { server.makeHandler(for: $0) }))
            port.with { $0 = listener.address.port }
        }
        return (thread, port.get)
    }

    private func startEcho(_ tls: TLSServer) throws -> (EventLoopThread, UInt16) {
        let port = Shared<UInt16>(0)
        let thread = try EventLoopThread { loop in
            let echo = EchoHandler()
            let listener = try loop.listen(on: SocketAddress(ip: "127.0.0.1", port: 0),
                                           makeHandler: tls.makeHandler(wrapping: { _ in echo }))
            port.with { $0 = listener.address.port }
        }
        return (thread, port.get)
    }

    func testHTTPSGetAndPipelinedRequests() throws {
        let (thread, port) = try startHTTPS(try tlsServer())
        defer { thread.stopAndJoin() }
        let client = try TLSTestClient(port: port)
        XCTAssertTrue(client.handshake())
        XCTAssertEqual(client.tls.negotiatedProtocol, "http/1.1")
        let request = "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"
        client.send(Array(String(repeating: request, count: 16).utf8))
        let one = "HTTP/1.1 200 OK\r\n"
        var got = ""
        while got.components(separatedBy: "Hello, World!").count - 1 < 16 {
            let b = client.receive(exactly: 1)
            guard !b.isEmpty else { break }
            got += String(decoding: b, as: UTF8.self)
        }
        XCTAssertEqual(got.components(separatedBy: one).count - 1, 16, got)
    }

    func testEchoOfLargeAndSmallWritesBothWays() throws {
        let (thread, port) = try startEcho(try tlsServer())
        defer { thread.stopAndJoin() }
        let client = try TLSTestClient(port: port)
        XCTAssertTrue(client.handshake())
        for size in [1, 32, 16384, 100_000, 1_000_000] {
            let data = pattern(size, seed: size)
            client.send(data)
            let back = client.receive(exactly: size)
            XCTAssertEqual(back.count, size)
            XCTAssertTrue(back == data, "size \(size)")
        }
    }

    func testGarbageInsteadOfAClientHelloClosesThatConnectionOnly() throws {
        let lines = Shared<[String]>([])
        let log = LogSink(level: .debug) { _, line in lines.with { $0.append(line) } }
        let (thread, port) = try startHTTPS(try tlsServer(log: log))
        defer { thread.stopAndJoin() }
        let good = try TLSTestClient(port: port)
        XCTAssertTrue(good.handshake())
        let bad = try BlockingClient(port: port)
        bad.send("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
        let reply = bad.receiveAll()
        XCTAssertFalse(String(decoding: reply, as: UTF8.self).contains("Hello"), "no plaintext answer")
        // The established connection goes on.
        good.send(Array("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        XCTAssertEqual(String(decoding: good.receive(exactly: 17), as: UTF8.self), "HTTP/1.1 200 OK\r\n")
        XCTAssertTrue(eventually { lines.get.contains { $0.contains("tls: ") } }, "one log line: \(lines.get)")
    }

    func testAHandshakeThatNeverFinishesTimesOut() throws {
        let (thread, port) = try startHTTPS(try tlsServer(handshakeTimeout: .milliseconds(300)))
        defer { thread.stopAndJoin() }
        let silent = try BlockingClient(port: port, timeoutSeconds: 5)
        let started = Date()
        XCTAssertTrue(TLSStall(silent).closedByServer())
        XCTAssertLessThan(Date().timeIntervalSince(started), 3, "closed by the 300 ms handshake deadline, not the 10 s header one")
        // Only that connection: the next one handshakes.
        let client = try TLSTestClient(port: port)
        XCTAssertTrue(client.handshake(), "the server still handshakes")
    }

    func testPeerResetMidHandshakeLeavesTheServerServing() throws {
        let (thread, port) = try startHTTPS(try tlsServer())
        defer { thread.stopAndJoin() }
        for _ in 0..<10 {
            let c = try TLSTestClient(port: port)
            _ = c.tls.receive(ciphertext: UnsafeRawBufferPointer(start: nil, count: 0)) { hello in
                c.socket.send(Array(hello.prefix(hello.count / 2)))
            }
            c.socket.reset()
        }
        let client = try TLSTestClient(port: port)
        XCTAssertTrue(client.handshake())
        client.send(Array("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        XCTAssertEqual(String(decoding: client.receive(exactly: 17), as: UTF8.self), "HTTP/1.1 200 OK\r\n")
    }

    func testReloadServesRenewedFilesToNewConnectionsAndKeepsOpenOnes() throws {
        let directory = NSTemporaryDirectory() + "tls-reload-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let certificate = directory + "/cert.pem", key = directory + "/key.pem"
        func install(_ files: TestCertificate.Files) throws {
            for (from, to) in [(files.certificate, certificate), (files.key, key)] {
                try? FileManager.default.removeItem(atPath: to)
                try FileManager.default.copyItem(atPath: from, toPath: to)
            }
        }
        try install(TestCertificate.files)
        let tls = try TLSServer(configuration: TLSConfiguration(certificateChainFile: certificate, privateKeyFile: key), log: .discard)
        let (thread, port) = try startHTTPS(tls)
        defer { thread.stopAndJoin() }
        let before = try TLSTestClient(port: port)
        XCTAssertTrue(before.handshake())

        let renewed = TestCertificate.make(name: "renewed.test")
        try install(renewed)
        try tls.reload()
        let after = try TLSTestClient(port: port, trusting: renewed.certificate, serverName: "renewed.test")
        XCTAssertTrue(after.handshake(), "a new connection gets the renewed certificate")
        let old = try TLSTestClient(port: port)
        XCTAssertFalse(old.handshake(), "the old certificate is no longer served")
        before.send(Array("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        XCTAssertEqual(String(decoding: before.receive(exactly: 17), as: UTF8.self), "HTTP/1.1 200 OK\r\n",
                       "the connection made before the reload goes on")

        try FileManager.default.removeItem(atPath: key)
        XCTAssertThrowsError(try tls.reload(), "a missing key keeps the old certificates")
        let still = try TLSTestClient(port: port, trusting: renewed.certificate, serverName: "renewed.test")
        XCTAssertTrue(still.handshake())
    }

    func testWebSocketClientOverTLS() throws {
        let tls = try tlsServer()
        let port = Shared<UInt16>(0)
        let server = try EventLoopThread { loop in
            let echo = WebSocketSocketTests.Echo()
            let router = HTTPRouter()
            router.get("/echo") { req, res in WebSocket.upgrade(req, res, handler: echo) }
            let http = HTTPServer(loop: loop, router: router)
            let listener = try loop.listen(on: SocketAddress(ip: "127.0.0.1", port: 0),
                                           makeHandler: tls.makeHandler(wrapping: { http.makeHandler(for: $0) }))
            port.with { $0 = listener.address.port }
        }
        defer { server.stopAndJoin() }
        let clients = try EventLoopThread()
        defer { clients.stopAndJoin() }
        let client = try TLSClient(configuration: TLSClientConfiguration(trustedCAFile: TestCertificate.files.certificate), log: .discard)
        let log = Shared(WebSocketSocketTests.Recorder.Log())
        let big = pattern(200_000, seed: 3)
        let serverPort = port.get
        _ = onLoop(clients) { loop in
            _ = try! WebSocket.connect(loop: loop, to: SocketAddress(ip: "127.0.0.1", port: serverPort), host: "localhost:\(serverPort)",
                                       path: "/echo", tls: client, handler: WebSocketSocketTests.Recorder(log) { ws in
                ws.send(text: "over wss")
                ws.send(binary: big)
            })
            return 0
        }
        XCTAssertTrue(eventually { log.get.binaries.count == 1 }, "\(log.get)")
        XCTAssertEqual(log.get.texts, ["over wss"])
        XCTAssertTrue(log.get.binaries.first == big)

        // A client that trusts another CA refuses the server: the handler hears a close, never an open.
        let other = TestCertificate.make(name: "other.test")
        let distrustful = try TLSClient(configuration: TLSClientConfiguration(trustedCAFile: other.certificate), log: .discard)
        let refused = Shared(WebSocketSocketTests.Recorder.Log())
        _ = onLoop(clients) { loop in
            _ = try! WebSocket.connect(loop: loop, to: SocketAddress(ip: "127.0.0.1", port: serverPort), host: "localhost",
                                       path: "/echo", tls: distrustful, handler: WebSocketSocketTests.Recorder(refused))
            return 0
        }
        XCTAssertTrue(eventually { refused.get.closed != nil }, "\(refused.get)")
        XCTAssertFalse(refused.get.opened)
    }

    func testCloseSendsCloseNotify() throws {
        let (thread, port) = try startHTTPS(try tlsServer())
        defer { thread.stopAndJoin() }
        let client = try TLSTestClient(port: port)
        XCTAssertTrue(client.handshake())
        client.send(Array("GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
        _ = client.receive(exactly: 1_000_000)  // to the end
        XCTAssertEqual(client.tls.state, .closed, "the server closed with close_notify, not just a FIN")
    }
}

/// A client that connects and sends nothing.
private struct TLSStall {
    let client: BlockingClient
    init(_ client: BlockingClient) { self.client = client }
    func closedByServer() -> Bool {
        var b = [UInt8](repeating: 0, count: 1024)
        let n = b.withUnsafeMutableBytes { recv(client.fd, $0.baseAddress!, 1024, 0) }
        return n == 0 || (n < 0 && errno == ECONNRESET)
    }
}
