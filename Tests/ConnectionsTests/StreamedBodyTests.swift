import Connections
import Glibc
import Protocols
import Reactor
import ReactorTestSupport
import XCTest

/// Request bodies read as they arrive (`streamsBody: true`), with callbacks and with async/await,
/// over real sockets on 127.0.0.1.
final class StreamedBodyTests: XCTestCase {
    /// The handler runs from the head, before the body; chunks arrive as they are sent; the
    /// answer comes at the end; the connection stays usable for the next request.
    func testCallbacksSeeTheBodyAsItArrivesThenTheConnectionIsReused() throws {
        let handlerRan = Shared(false)
        let (server, port) = try startHTTPServer { router, _ in
            router.post("/upload", maxBodyBytes: 8 << 20, streamsBody: true) { req, res in
                handlerRan.with { $0 = true }
                let stream = req.bodyStream!
                var sum: UInt64 = 0
                stream.onChunk { bytes in for b in bytes { sum &+= UInt64(b) } }
                stream.onEnd { error in
                    res.respond(contentType: "text/plain", body: "\(stream.receivedBytes) \(sum) \(error.map { "\($0)" } ?? "ok")")
                }
            }
            router.get("/plaintext") { _, res in res.respond(body: "Hello" as StaticString) }
        }
        defer { server.stopAndJoin() }
        let c = try BlockingClient(port: port)
        defer { c.close() }
        let body = pattern(3 << 20, seed: 5)
        c.send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: \(body.count)\r\n\r\n")
        XCTAssertTrue(eventually { handlerRan.get }, "the handler runs when the head arrives")
        var offset = 0
        while offset < body.count {
            let n = min(100_000, body.count - offset)
            c.send(Array(body[offset..<offset + n]))
            offset += n
        }
        let expected = body.reduce(UInt64(0)) { $0 &+ UInt64($1) }
        XCTAssertEqual(readHTTPResponse(c).map { String(decoding: $0.body, as: UTF8.self) }, "\(body.count) \(expected) ok")
        c.send("GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(readHTTPResponse(c).map { String(decoding: $0.body, as: UTF8.self) }, "Hello", "the connection stays open after a streamed body")
    }

    /// An async handler reads a chunked body with `for try await`.
    func testAnAsyncHandlerReadsAChunkedBody() throws {
        let (server, port) = try startHTTPServer { router, _ in
            router.post("/upload-async", streamsBody: true) { req async throws -> HTTPResponse in
                var text = ""
                for try await chunk in req.bodyStream!.chunks { text += String(decoding: chunk, as: UTF8.self) }
                return HTTPResponse(contentType: "text/plain", body: "got \(text)")
            }
        }
        defer { server.stopAndJoin() }
        let c = try BlockingClient(port: port)
        defer { c.close() }
        c.send("POST /upload-async HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
        usleep(20_000)
        c.send("6\r\n world\r\n0\r\n\r\n")
        XCTAssertEqual(readHTTPResponse(c).map { String(decoding: $0.body, as: UTF8.self) }, "got hello world")
    }

    /// A response completed before the body ended closes the connection after it (the rest of
    /// the body is not read), says so in its head, and the stream ends with `.responseCompleted`.
    func testAnAnswerBeforeTheBodyEndsClosesTheConnection() throws {
        let ended = Shared<HTTPBodyStreamError?>(nil)
        let (server, port) = try startHTTPServer { router, _ in
            router.post("/refuse", streamsBody: true) { req, res in
                req.bodyStream!.onEnd { error in ended.with { $0 = error } }
                res.respond(.forbidden, contentType: "text/plain", body: "no\n" as StaticString)
            }
        }
        defer { server.stopAndJoin() }
        let c = try BlockingClient(port: port)
        defer { c.close() }
        c.send("POST /refuse HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n")
        let text = String(decoding: c.receiveAll(), as: UTF8.self)   // ends with the close
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 403 "), text)
        XCTAssertTrue(text.lowercased().contains("connection: close"), text)
        XCTAssertTrue(eventually { ended.get == .responseCompleted })
    }

    /// A streamed body over the route's limit is refused (413, close) when the chunks cross it,
    /// and the stream ends with `.tooLarge`.
    func testAStreamedBodyOverTheLimitIsRefused() throws {
        let ended = Shared<HTTPBodyStreamError?>(nil)
        let (server, port) = try startHTTPServer { router, _ in
            router.post("/small", maxBodyBytes: 1000, streamsBody: true) { req, _ in
                req.bodyStream!.onChunk { _ in }
                req.bodyStream!.onEnd { error in ended.with { $0 = error } }
            }
        }
        defer { server.stopAndJoin() }
        let c = try BlockingClient(port: port)
        defer { c.close() }
        c.send("POST /small HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        c.send("258\r\n" + String(repeating: "a", count: 600) + "\r\n")
        c.send("258\r\n" + String(repeating: "b", count: 600) + "\r\n0\r\n\r\n")
        let text = String(decoding: c.receiveAll(), as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 413 "), text)
        XCTAssertTrue(eventually { ended.get == .tooLarge })
    }

    /// A reader that does not read holds at most the stream's high watermark (plus one read):
    /// past it the socket is not read, and the client's send buffer fills instead.
    func testAnUnreadStreamIsBoundedByItsWatermark() throws {
        let held = Shared<Int>(0)
        let (server, port) = try startHTTPServer { router, loop in
            router.post("/hold", maxBodyBytes: 64 << 20, streamsBody: true) { req, res in
                let stream = req.bodyStream!
                loop.scheduleRepeating(every: .milliseconds(20)) { held.with { $0 = stream.receivedBytes } }
                stream.onEnd { _ in res.respond(body: "done" as StaticString) }
            }
        }
        defer { server.stopAndJoin() }
        let c = try BlockingClient(port: port)
        defer { c.close() }
        c.send("POST /hold HTTP/1.1\r\nHost: t\r\nContent-Length: \(32 << 20)\r\n\r\n")
        // The send gives up after 500 ms once the buffers are full (nobody reads on the server).
        var tv = timeval(tv_sec: 0, tv_usec: 500_000)
        setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        c.send([UInt8](repeating: 0x7A, count: 8 << 20))
        usleep(100_000)
        XCTAssertGreaterThan(held.get, 0)
        XCTAssertLessThan(held.get, 256 << 10 + 512 << 10, "received \(held.get) bytes with nobody reading: bounded by the watermark and one read")
        c.reset()
    }
}
