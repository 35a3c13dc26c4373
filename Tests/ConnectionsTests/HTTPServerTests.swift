import Foundation
import Glibc
import Connections
import Protocols
import Reactor
import ReactorTestSupport
import XCTest

/// The HTTP server glue over real sockets: pipelining, deferred and streamed responses, timeouts,
/// keep-alive rules. (The parser's rules are tested without sockets in the parser tests; an
/// independent client, h11, checks the wire format in Tests/Conformance/http.sh.)
final class HTTPServerTests: XCTestCase {
    struct Response {
        var status = 0
        var headers: [String: String] = [:]
        var body: [UInt8] = []
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// A small response reader for our own assertions: Content-Length and chunked bodies.
    final class Reader {
        let client: BlockingClient
        var buffer: [UInt8] = []
        init(_ client: BlockingClient) { self.client = client }

        func fill() -> Bool {
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { recv(client.fd, $0.baseAddress!, 65536, 0) }
            if n <= 0 { return false }
            buffer += chunk[0..<n]
            return true
        }

        func line() -> String? {
            while true {
                if let i = buffer.firstIndex(of: 0x0A) {
                    let l = String(decoding: buffer[0..<i], as: UTF8.self).trimmingCharacters(in: .init(charactersIn: "\r"))
                    buffer.removeFirst(i + 1)
                    return l
                }
                if !fill() { return nil }
            }
        }

        func bytes(_ n: Int) -> [UInt8]? {
            while buffer.count < n { if !fill() { return nil } }
            let out = Array(buffer[0..<n])
            buffer.removeFirst(n)
            return out
        }

        func response(isHead: Bool = false) -> Response? {
            guard let status = line() else { return nil }
            var r = Response()
            r.status = Int(status.split(separator: " ")[1])!
            while let l = line(), !l.isEmpty {
                let parts = l.split(separator: ":", maxSplits: 1)
                r.headers[parts[0].lowercased()] = parts[1].trimmingCharacters(in: .whitespaces)
            }
            if isHead || r.status < 200 || r.status == 204 { return r }
            if let length = r.headers["content-length"].flatMap({ Int($0) }) {
                guard let b = bytes(length) else { return nil }
                r.body = b
            } else if r.headers["transfer-encoding"] == "chunked" {
                while let sizeLine = line(), let size = Int(sizeLine, radix: 16) {
                    if size == 0 { _ = line(); break }
                    r.body += bytes(size) ?? []
                    _ = line()
                }
            } else {
                while fill() {}
                r.body = buffer
                buffer = []
            }
            return r
        }

        /// True when the server closed the connection (no more bytes).
        var isClosed: Bool { buffer.isEmpty && !fill() }
    }

    /// Starts an HTTP server on its own loop thread; `routes` runs there.
    func startHTTP(
        loopConfiguration: EventLoopConfiguration = EventLoopConfiguration(),
        configure: @escaping @Sendable (inout HTTPServerConfiguration) -> Void = { _ in },
        routes: @escaping @Sendable (HTTPRouter, EventLoop) -> Void = { _, _ in }
    ) throws -> (EventLoopThread, UInt16) {
        try startHTTPServer(loopConfiguration: loopConfiguration, configure: configure) { router, loop in
            router.get("/plaintext") { _, res in res.respond(contentType: "text/plain", body: "Hello, World!" as StaticString) }
            router.get("/query") { req, res in res.respond(body: req.queryValue("i") ?? "-") }
            router.post("/echo-body") { req, res in res.respond(body: req.body) }
            routes(router, loop)
        }
    }

    func testPipelinedRequestsAreAnsweredInOrderInOneWrite() throws {
        let (server, port) = try startHTTP()
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        defer { client.close() }
        client.send((0..<16).map { "GET /query?i=\($0) HTTP/1.1\r\nHost: t\r\n\r\n" }.joined())
        let reader = Reader(client)
        for i in 0..<16 {
            let r = reader.response()
            XCTAssertEqual(r?.status, 200)
            XCTAssertEqual(r?.text, "\(i)")
        }
    }

    /// Heads written from templates (HTTPResponseHeadCache): interleaved statuses, content types
    /// (static and computed), extra headers and an HTTP/1.0 request on one connection each get
    /// their own head, not the one before.
    func testEachResponseGetsItsOwnHeadWhateverCameBefore() throws {
        let (server, port) = try startHTTP(routes: { router, _ in
            router.get("/json") { _, res in res.respond(contentType: "application/json", body: "{}" as StaticString) }
            router.get("/created") { _, res in res.respond(.created, contentType: "text/plain", body: "made" as StaticString) }
            router.get("/computed") { _, res in res.respond(contentType: .string("text/x-" + "computed"), body: "c" as StaticString) }
            router.get("/extra") { _, res in res.respond(contentType: "text/plain", headers: [("X-Extra", "1")], body: "e" as StaticString) }
        })
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        defer { client.close() }
        let paths = ["/plaintext", "/json", "/created", "/plaintext", "/computed", "/extra", "/json", "/missing", "/plaintext"]
        client.send((paths + paths).map { "GET \($0) HTTP/1.1\r\nHost: t\r\n\r\n" }.joined() + "GET /json HTTP/1.0\r\n\r\n")
        let reader = Reader(client)
        for path in paths + paths {
            let r = try XCTUnwrap(reader.response(), path)
            let expected: (Int, String?, String) = switch path {
            case "/plaintext": (200, "text/plain", "Hello, World!")
            case "/json": (200, "application/json", "{}")
            case "/created": (201, "text/plain", "made")
            case "/computed": (200, "text/x-computed", "c")
            case "/extra": (200, "text/plain", "e")
            default: (404, r.headers["content-type"], r.text)
            }
            XCTAssertEqual(r.status, expected.0, path)
            XCTAssertEqual(r.headers["content-type"], expected.1, path)
            XCTAssertEqual(r.text, expected.2, path)
            XCTAssertEqual(r.headers["content-length"], String(r.body.count), path)
            XCTAssertEqual(r.headers["x-extra"], path == "/extra" ? "1" : nil, path)
            XCTAssertNil(r.headers["connection"], path)
            XCTAssertNotNil(r.headers["date"], path)
        }
        let last = try XCTUnwrap(reader.response())
        XCTAssertEqual(last.headers["connection"], "close")
        XCTAssertEqual(last.headers["content-type"], "application/json")
        XCTAssertTrue(reader.isClosed)
    }

    func testPipeliningClientThatDoesNotReadIsThrottledNotDisconnected() throws {
        // 300 pipelined requests for 40 KB each (12 MB of answers) against a 1 MB queue cap:
        // the server must stop building answers while the client is not reading, not queue
        // them all and drop the connection as a slow consumer.
        var loopConfiguration = EventLoopConfiguration()
        loopConfiguration.maxQueuedBytes = 1 << 20
        let (server, port) = try startHTTP(loopConfiguration: loopConfiguration, routes: { router, _ in
            router.get("/big") { _, res in res.respond(body: [UInt8](repeating: 0x62, count: 40_000)) }
        })
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port, receiveBuffer: 8192)
        defer { client.close() }
        client.send(String(repeating: "GET /big HTTP/1.1\r\nHost: t\r\n\r\n", count: 300))
        usleep(300_000)  // let the server fill what it may
        let reader = Reader(client)
        for i in 0..<300 {
            let r = reader.response()
            XCTAssertEqual(r?.body.count, 40_000, "response \(i)")
            if r == nil { break }
        }
    }

    func testDeferredResponseHoldsPipelinedRequestsBehindIt() throws {
        let (server, port) = try startHTTP(routes: { router, loop in
            router.get("/later") { _, res in
                loop.schedule(after: .milliseconds(100)) { res.respond(body: "later") }
            }
        })
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        defer { client.close() }
        client.send("GET /later HTTP/1.1\r\nHost: t\r\n\r\nGET /query?i=now HTTP/1.1\r\nHost: t\r\n\r\nGET /query?i=last HTTP/1.1\r\nHost: t\r\n\r\n")
        let reader = Reader(client)
        XCTAssertEqual(reader.response()?.text, "later")
        XCTAssertEqual(reader.response()?.text, "now")
        XCTAssertEqual(reader.response()?.text, "last")
    }

    func testStreamedChunkedResponseFromTimers() throws {
        let (server, port) = try startHTTP(routes: { router, loop in
            router.get("/stream") { _, res in
                res.beginStream(contentType: "text/plain")
                var n = 0
                var timer: TimerID?
                timer = loop.scheduleRepeating(every: .milliseconds(10)) {
                    n += 1
                    res.write("piece \(n);")
                    if n == 3 {
                        res.end()
                        loop.cancel(timer!)
                    }
                }
            }
        })
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        defer { client.close() }
        client.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n")
        let reader = Reader(client)
        let r = reader.response()
        XCTAssertEqual(r?.headers["transfer-encoding"], "chunked")
        XCTAssertEqual(r?.text, "piece 1;piece 2;piece 3;")
        XCTAssertEqual(reader.response()?.text, "Hello, World!", "the connection stays usable after the stream")
    }

    func testPartialHeadGets408AtTheHeaderTimeoutEvenWhenTrickled() throws {
        let (server, port) = try startHTTP(configure: { $0.headerReadTimeout = .milliseconds(300) })
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        defer { client.close() }
        let start = Date()
        for byte in "GET /plaintext HTTP/1.1\r\nHo".utf8 {  // one byte every 20 ms: never completes in time
            client.send([byte])
            usleep(20_000)
        }
        let reader = Reader(client)
        XCTAssertEqual(reader.response()?.status, 408)
        XCTAssertTrue(reader.isClosed)
        XCTAssertLessThan(Date().timeIntervalSince(start), 2.0)
    }

    func testIdleKeepAliveConnectionClosesQuietly() throws {
        let (server, port) = try startHTTP(configure: { $0.idleTimeout = .milliseconds(200) })
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        defer { client.close() }
        client.send("GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n")
        let reader = Reader(client)
        XCTAssertEqual(reader.response()?.status, 200)
        XCTAssertTrue(reader.isClosed, "no 408 for an idle connection, just the close")
        XCTAssertTrue(reader.buffer.isEmpty)
    }

    func testSilentConnectionIsClosedAtTheHeaderTimeoutWithoutAnAnswer() throws {
        let (server, port) = try startHTTP(configure: { $0.headerReadTimeout = .milliseconds(200) })
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        defer { client.close() }
        XCTAssertEqual(client.receiveAll(), [])
    }

    func testHeadHasNoBodyAndHTTP10KeepAliveRules() throws {
        let (server, port) = try startHTTP()
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        client.send("HEAD /plaintext HTTP/1.1\r\nHost: t\r\n\r\nGET /plaintext HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /plaintext HTTP/1.0\r\n\r\n")
        let reader = Reader(client)
        let head = reader.response(isHead: true)
        XCTAssertEqual(head?.headers["content-length"], "13")
        let keptAlive = reader.response()
        XCTAssertEqual(keptAlive?.headers["connection"]?.lowercased(), "keep-alive")
        XCTAssertEqual(keptAlive?.text, "Hello, World!")
        let last = reader.response()
        XCTAssertEqual(last?.headers["connection"], "close")
        XCTAssertTrue(reader.isClosed, "HTTP/1.0 without keep-alive closes after the response")
        client.close()
    }

    func testExpectContinueAndChunkedBody() throws {
        let (server, port) = try startHTTP()
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        defer { client.close() }
        client.send("POST /echo-body HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n")
        let reader = Reader(client)
        XCTAssertEqual(reader.response()?.status, 100)
        client.send("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        let r = reader.response()
        XCTAssertEqual(r?.status, 200)
        XCTAssertEqual(r?.text, "hello world")
    }

    func testBodySplitAcrossManyReadsArrivesWhole() throws {
        let (server, port) = try startHTTP()
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        defer { client.close() }
        let body = pattern(300_000, seed: 5)
        client.send("POST /echo-body HTTP/1.1\r\nHost: t\r\nX-Long-Header: \(String(repeating: "v", count: 2000))\r\nContent-Length: \(body.count)\r\n\r\n")
        for i in stride(from: 0, to: body.count, by: 40_000) {
            client.send(Array(body[i..<min(i + 40_000, body.count)]))
            usleep(2000)
        }
        let r = Reader(client).response()
        XCTAssertEqual(r?.status, 200)
        XCTAssertTrue(r?.body == body)
    }

    func testBadRequestIsAnsweredAndClosedWhileOthersAreServed() throws {
        let (server, port) = try startHTTP()
        defer { server.stopAndJoin() }
        let healthy = try BlockingClient(port: port)
        defer { healthy.close() }
        let bad = try BlockingClient(port: port)
        defer { bad.close() }
        bad.send("POST /echo-body HTTP/1.1\r\nHost: t\r\nContent-Length: 5000000\r\n\r\n")
        let reader = Reader(bad)
        XCTAssertEqual(reader.response()?.status, 413)
        XCTAssertTrue(reader.isClosed)
        healthy.send("GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(Reader(healthy).response()?.text, "Hello, World!")
    }

    func testGracefulShutdownCompletesTheResponseInFlight() throws {
        let (server, port) = try startHTTP(routes: { router, loop in
            router.get("/slow") { _, res in
                loop.schedule(after: .milliseconds(150)) { res.respond(body: "finished") }
            }
        })
        let client = try BlockingClient(port: port)
        defer { client.close() }
        client.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
        usleep(30_000)
        server.handle.shutdownGracefully(deadline: .seconds(5))
        let reader = Reader(client)
        let r = reader.response()
        XCTAssertEqual(r?.text, "finished")
        XCTAssertEqual(r?.headers["connection"], "close")
        XCTAssertTrue(reader.isClosed)
        server.join()
    }

    func testAbandonedResponderIsToldWhenTheClientLeaves() throws {
        let abandoned = Shared(false)
        let (server, port) = try startHTTP(routes: { router, _ in
            router.get("/hold") { _, res in res.onAbandoned { abandoned.with { $0 = true } } }
        })
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        client.send("GET /hold HTTP/1.1\r\nHost: t\r\n\r\n")
        usleep(50_000)
        client.close()
        XCTAssertTrue(eventually { abandoned.get })
    }
}
