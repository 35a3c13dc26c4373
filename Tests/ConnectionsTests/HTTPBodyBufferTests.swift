import Foundation
import Glibc
@testable import Connections
@testable import Protocols
@testable import Reactor
import ReactorTestSupport
import XCTest

/// The request-body buffer of a keep-alive connection, and its copy of a deferred request's head:
/// bounded by the limits, and not kept at a large body's or head's size once the request is
/// answered.
final class HTTPBodyBufferTests: XCTestCase {
    /// An HTTP server whose `/capacity` route answers the body-buffer capacity of the connection
    /// that asks (read between requests, when only the retained capacity is left).
    func startServer(configure: @escaping @Sendable (inout HTTPServerConfiguration) -> Void = { _ in }) throws -> (EventLoopThread, UInt16) {
        try startHTTPServer(configure: configure) { router, loop in
            router.post("/echo-body") { req, res in res.respond(body: req.body) }
            router.get("/capacity") { req, res in
                let handler = loop.handler(of: req.connection) as? HTTPServerConnection
                res.respond(body: handler.map { String($0.bodyCapacity) } ?? "none")
            }
            router.get("/head-capacity") { req, res in
                let handler = loop.handler(of: req.connection) as? HTTPServerConnection
                res.respond(body: handler.map { "\($0.request.retainedHeadCapacity.bytes) \($0.request.retainedHeadCapacity.fields)" } ?? "none")
            }
            // Answered from a timer: the head is copied into the connection's storage meanwhile.
            router.get("/deferred") { req, res in
                loop.schedule(after: .milliseconds(5)) { res.respond(body: "\(req.head.headerCount)") }
            }
        }
    }

    func post(_ client: BlockingClient, _ body: [UInt8]) {
        client.send(Array("POST /echo-body HTTP/1.1\r\nHost: t\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body)
    }

    func capacity(_ client: BlockingClient) -> Int? {
        client.send("GET /capacity HTTP/1.1\r\nHost: t\r\n\r\n")
        return readHTTPResponse(client).flatMap { Int(String(decoding: $0.1, as: UTF8.self)) }
    }

    func testLargeBodyCapacityIsReleasedAfterItsRequestOnAKeepAliveConnection() throws {
        let (server, port) = try startServer()
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        defer { client.close() }
        let big = pattern(1024 * 1024, seed: 9)
        post(client, big)
        let echoed = readHTTPResponse(client)
        XCTAssertEqual(echoed?.0, 200)
        XCTAssertTrue(echoed?.1 == big, "the body came back wrong")
        let after = capacity(client)
        XCTAssertNotNil(after)
        XCTAssertLessThanOrEqual(after ?? .max, HTTPServerConfiguration().retainedBodyCapacity,
                                 "a 1 MiB body's buffer is kept by the idle connection")
    }

    func testSmallBodyCapacityIsKeptForTheNextRequest() throws {
        let (server, port) = try startServer()
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        defer { client.close() }
        post(client, pattern(300))
        XCTAssertEqual(readHTTPResponse(client)?.1, pattern(300))
        let kept = capacity(client) ?? 0
        XCTAssertGreaterThanOrEqual(kept, 300, "a small body's buffer was not kept for reuse")
        XCTAssertLessThanOrEqual(kept, HTTPServerConfiguration().retainedBodyCapacity)
    }

    func testRetainedCapacityIsAParameter() throws {
        let (server, port) = try startServer { $0.retainedBodyCapacity = 0 }
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        defer { client.close() }
        post(client, pattern(300))
        XCTAssertEqual(readHTTPResponse(client)?.1, pattern(300))
        XCTAssertEqual(capacity(client), 0)
    }

    func headCapacity(_ client: BlockingClient) -> String? {
        client.send("GET /head-capacity HTTP/1.1\r\nHost: t\r\n\r\n")
        return readHTTPResponse(client).map { String(decoding: $0.1, as: UTF8.self) }
    }

    func testDeferredHeadCopyIsReusedWhenSmallAndFreedWhenLarge() throws {
        let (server, port) = try startServer()
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        defer { client.close() }
        XCTAssertEqual(headCapacity(client), "0 0", "a connection that never deferred holds no copy")
        client.send("GET /deferred HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(readHTTPResponse(client)?.1, Array("1".utf8))
        XCTAssertEqual(headCapacity(client), "512 16", "a small head's copy is kept for the next deferred answer")
        // 12 KiB of head in 60 fields: copied whole while deferred, given back once answered.
        let fields = (0..<60).map { "X-Field-\($0): \(String(repeating: "v", count: 200))\r\n" }.joined()
        client.send("GET /deferred HTTP/1.1\r\nHost: t\r\n\(fields)\r\n")
        XCTAssertEqual(readHTTPResponse(client)?.1, Array("61".utf8))
        XCTAssertEqual(headCapacity(client), "0 0", "a large head's copy is kept by the idle connection")
    }

    func testChunkedBodyOverTheLimitIsRefusedBeforeItIsBuffered() throws {
        let (server, port) = try startServer { $0.limits.maxBodyLength = 1000 }
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        defer { client.close() }
        // 600 bytes, then a chunk that would carry the sum past 1000: refused on its size line.
        client.send("POST /echo-body HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n"
                    + String(repeating: "a", count: 600) + "\r\n1f4\r\n")
        XCTAssertEqual(readHTTPResponse(client)?.0, 413)
    }
}

extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}
