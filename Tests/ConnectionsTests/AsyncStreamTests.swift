import Connections
import Glibc
import Protocols
import Reactor
import ReactorTestSupport
import XCTest

/// Streamed responses and event streams written with async/await, over 127.0.0.1.
final class AsyncStreamTests: XCTestCase {
    /// A chunked body written piece by piece across awaits arrives whole, in order.
    func testAStreamedBodyArrivesChunked() throws {
        let (server, port) = try startHTTPServer { router, _ in
            router.get("/count") { _ in
                HTTPResponse(contentType: "text/plain") { body in
                    for i in 1...5 {
                        try await body.write("\(i)\n")
                        try await Task.sleep(for: .milliseconds(5))
                    }
                }
            }
        }
        defer { server.stopAndJoin() }
        let c = try BlockingClient(port: port)
        defer { c.close() }
        c.send("GET /count HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        let text = String(decoding: c.receiveAll(), as: UTF8.self)
        XCTAssertTrue(text.contains("Transfer-Encoding: chunked"), text)
        XCTAssertTrue(text.hasSuffix("2\r\n1\n\r\n2\r\n2\n\r\n2\r\n3\n\r\n2\r\n4\n\r\n2\r\n5\n\r\n0\r\n\r\n"), text)
    }

    /// Events written with the async SSE writer, each framed as the spec says.
    func testAnEventStream() throws {
        let (server, port) = try startHTTPServer { router, _ in
            router.get("/ticks") { _ in
                .eventStream { events in
                    for i in 1...3 { try await events.send(id: String(i), data: "tick \(i)") }
                }
            }
        }
        defer { server.stopAndJoin() }
        let c = try BlockingClient(port: port)
        defer { c.close() }
        c.send("GET /ticks HTTP/1.1\r\nHost: t\r\n\r\n")
        let text = String(decoding: c.receiveAll(), as: UTF8.self)   // .untilClose: ends with the connection
        XCTAssertTrue(text.contains("Content-Type: text/event-stream"), text)
        XCTAssertTrue(text.hasSuffix("\r\n\r\nretry: 2000\ndata: tick 1\nid: 1\n\ndata: tick 2\nid: 2\n\ndata: tick 3\nid: 3\n\n"), text)
    }

    /// A client that does not read stalls the writer at the watermark instead of growing the
    /// queue; when it leaves, the next write throws and the handler ends.
    func testASlowClientStallsTheWriterAndLeavingEndsIt() throws {
        let written = Shared(0)
        let ended = Shared<String?>(nil)
        let (server, port) = try startHTTPServer { router, _ in
            router.get("/firehose") { _ in
                HTTPResponse(contentType: "application/octet-stream") { body in
                    let piece = [UInt8](repeating: 0x61, count: 64 << 10)
                    do {
                        for _ in 0..<10_000 {
                            try await body.write(piece)
                            written.with { $0 += 1 }
                        }
                        ended.with { $0 = "finished" }
                    } catch {
                        ended.with { $0 = "\(error)" }
                        throw error
                    }
                }
            }
        }
        defer { server.stopAndJoin() }
        let c = try BlockingClient(port: port, receiveBuffer: 4096)
        c.send("GET /firehose HTTP/1.1\r\nHost: t\r\n\r\n")
        usleep(300_000)
        let stalled = written.get
        usleep(200_000)
        XCTAssertEqual(written.get, stalled, "no progress while the client does not read")
        XCTAssertLessThan(stalled, 200, "stalled at the watermark: \(stalled) pieces of 64 KiB")
        c.reset()
        XCTAssertTrue(eventually { ended.get != nil })
        XCTAssertEqual(ended.get, "clientGone")
    }
}
