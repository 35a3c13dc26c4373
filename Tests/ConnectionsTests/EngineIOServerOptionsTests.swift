import CZlib
import Connections
import Foundation
import Glibc
import Protocols
import Reactor
import ReactorTestSupport
import XCTest

/// The reference server's options, over real sockets: permessage-deflate off unless asked for,
/// polling answers compressed from the threshold when the client accepts it, the enabled
/// transports, the session cookie, and CORS (preflights from allowed and refused origins).
final class EngineIOServerOptionsTests: XCTestCase {
    typealias Reader = HTTPServerTests.Reader
    typealias Response = HTTPServerTests.Response

    /// An Engine.IO server on /engine.io/ whose sessions are sent, as they open, one text message
    /// of `size` bytes (the handshake's `size` query value) of compressible text.
    private func startEngine(_ configure: @escaping @Sendable (inout EngineIOConfiguration) -> Void = { _ in }) throws -> (EventLoopThread, UInt16) {
        try startHTTPServer { router, loop in
            var configuration = EngineIOConfiguration()
            configure(&configuration)
            let engine = EngineIOServer(loop: loop, configuration: configuration)
            engine.onConnection = { session in
                let size = session.query.split(separator: "&").first { $0.hasPrefix("size=") }.flatMap { Int($0.dropFirst(5)) } ?? 0
                if size > 0 { session.send(text: Self.message(size)) }
            }
            engine.install(on: router)
        }
    }

    static func message(_ size: Int) -> String {
        let line = Array("the quick brown fox jumps over the lazy dog 0123456789 ".utf8)
        return String(decoding: (0..<size).map { line[$0 % line.count] }, as: UTF8.self)
    }

    /// One request on a connection of its own.
    private func request(_ port: UInt16, _ head: String) throws -> Response {
        let client = try BlockingClient(port: port)
        defer { close(client.fd) }
        client.send(head)
        return try XCTUnwrap(Reader(client).response())
    }

    private func get(_ port: UInt16, _ target: String, _ headers: String = "") throws -> Response {
        try request(port, "GET \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n\(headers)\r\n")
    }

    /// Opens a polling session; its id and the handshake's answer.
    private func open(_ port: UInt16, size: Int = 0, _ headers: String = "") throws -> (String, Response) {
        let answer = try get(port, "/engine.io/?EIO=4&transport=polling&size=\(size)", headers)
        XCTAssertEqual(answer.status, 200, answer.text)
        let sid = try XCTUnwrap(try JSONValue.parse(String(answer.text.dropFirst()))["sid"]?.stringValue)
        return (sid, answer)
    }

    // MARK: permessage-deflate

    private func webSocketAnswer(_ port: UInt16) throws -> Response {
        try get(port, "/engine.io/?EIO=4&transport=websocket",
                "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                + "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n")
    }

    func testAWebSocketOfferingDeflateGetsNoExtensionByDefault() throws {
        let (thread, port) = try startEngine()
        defer { thread.stopAndJoin() }
        let answer = try webSocketAnswer(port)
        XCTAssertEqual(answer.status, 101)
        XCTAssertNil(answer.headers["sec-websocket-extensions"], "perMessageDeflate is off by default, as the reference's")
    }

    func testAWebSocketOfferingDeflateGetsItWhenTurnedOn() throws {
        let (thread, port) = try startEngine { $0.perMessageDeflate = EngineIOCompression() }
        defer { thread.stopAndJoin() }
        let answer = try webSocketAnswer(port)
        XCTAssertEqual(answer.status, 101)
        XCTAssertEqual(answer.headers["sec-websocket-extensions"].map { $0.hasPrefix("permessage-deflate") }, true)
        XCTAssertEqual(EngineIOConfiguration().effectiveWebSocket.permessageDeflate, false)
        var on = EngineIOConfiguration()
        on.perMessageDeflate = EngineIOCompression(threshold: 2048)
        XCTAssertEqual(on.effectiveWebSocket.compressionThreshold, 2048)
        XCTAssertEqual(EngineIOCompression().threshold, 1024, "the reference's threshold")
    }

    // MARK: Polling compression

    func testALargePollAnswerIsCompressedWhenTheClientAcceptsIt() throws {
        let (thread, port) = try startEngine()
        defer { thread.stopAndJoin() }
        let expected = Array(("4" + Self.message(5000)).utf8)
        for (accept, coding) in [("gzip, deflate, br", "gzip"), ("deflate", "deflate"), ("gzip;q=0.5, deflate", "deflate")] {
            let (sid, _) = try open(port, size: 5000)
            let answer = try get(port, "/engine.io/?EIO=4&transport=polling&sid=\(sid)", "Accept-Encoding: \(accept)\r\n")
            XCTAssertEqual(answer.status, 200)
            XCTAssertEqual(answer.headers["content-encoding"], coding, accept)
            XCTAssertLessThan(answer.body.count, expected.count / 4)
            XCTAssertEqual(try Self.inflate(answer.body), expected, accept)
        }
        // Without Accept-Encoding, or refusing both: plain.
        for headers in ["", "Accept-Encoding: br, gzip;q=0\r\n"] {
            let (sid, _) = try open(port, size: 5000)
            let answer = try get(port, "/engine.io/?EIO=4&transport=polling&sid=\(sid)", headers)
            XCTAssertNil(answer.headers["content-encoding"])
            XCTAssertEqual(answer.body, expected)
        }
    }

    func testASmallPollAnswerIsNotCompressed() throws {
        let (thread, port) = try startEngine()
        defer { thread.stopAndJoin() }
        let (sid, _) = try open(port, size: 1000)  // 1001 bytes with the type digit: under 1024
        let answer = try get(port, "/engine.io/?EIO=4&transport=polling&sid=\(sid)", "Accept-Encoding: gzip\r\n")
        XCTAssertNil(answer.headers["content-encoding"])
        XCTAssertEqual(answer.text, "4" + Self.message(1000))
    }

    func testPollingCompressionCanBeTurnedOff() throws {
        let (thread, port) = try startEngine { $0.httpCompression = nil }
        defer { thread.stopAndJoin() }
        let (sid, _) = try open(port, size: 5000)
        let answer = try get(port, "/engine.io/?EIO=4&transport=polling&sid=\(sid)", "Accept-Encoding: gzip\r\n")
        XCTAssertNil(answer.headers["content-encoding"])
        XCTAssertEqual(answer.text, "4" + Self.message(5000))
    }

    /// A held poll answered later keeps the coding its request accepted.
    func testAHeldPollIsCompressedWhenAnswered() throws {
        let engine = Shared<EngineIOServer?>(nil)
        let (thread, port) = try startHTTPServer { router, loop in
            let server = EngineIOServer(loop: loop)
            engine.with { $0 = server }
            server.install(on: router)
        }
        defer { thread.stopAndJoin() }
        let (sid, _) = try open(port)
        let client = try BlockingClient(port: port)
        defer { close(client.fd) }
        client.send("GET /engine.io/?EIO=4&transport=polling&sid=\(sid) HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n")
        usleep(100_000)  // held: nothing is queued
        let text = Self.message(3000)
        onLoop(thread) { _ in engine.get!.session(id: sid)!.send(text: text) }
        let answer = try XCTUnwrap(Reader(client).response())
        XCTAssertEqual(answer.headers["content-encoding"], "gzip")
        XCTAssertEqual(try Self.inflate(answer.body), Array(("4" + text).utf8))
    }

    /// Inflates a gzip or zlib body (zlib detects which from the header: window bits + 32).
    static func inflate(_ body: [UInt8]) throws -> [UInt8] {
        struct ZlibError: Error {}
        var stream = z_stream()
        let initialized = inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        XCTAssertEqual(initialized, Z_OK)
        defer { inflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: 1 << 20)
        var input = body
        let rc = input.withUnsafeMutableBytes { i in
            out.withUnsafeMutableBytes { o in
                stream.next_in = i.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_in = uInt(i.count)
                stream.next_out = o.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(o.count)
                return CZlib.inflate(&stream, Z_FINISH)
            }
        }
        guard initialized == Z_OK, rc == Z_STREAM_END else { throw ZlibError() }
        return Array(out[0..<Int(stream.total_out)])
    }

    // MARK: Transports and the cookie

    func testTransportsNotEnabledAreUnknown() throws {
        let (thread, port) = try startEngine { $0.transports = [.websocket] }
        defer { thread.stopAndJoin() }
        let answer = try get(port, "/engine.io/?EIO=4&transport=polling")
        XCTAssertEqual(answer.status, 400)
        XCTAssertEqual(answer.text, #"{"code":0,"message":"Transport unknown"}"#)
        XCTAssertEqual(try webSocketAnswer(port).status, 101)

        let (pollingOnly, pollingPort) = try startEngine { $0.transports = [.polling] }
        defer { pollingOnly.stopAndJoin() }
        let (_, handshake) = try open(pollingPort)
        XCTAssertEqual(try JSONValue.parse(String(handshake.text.dropFirst()))["upgrades"], .array([]), "no upgrade offered")
        XCTAssertEqual(try webSocketAnswer(pollingPort).status, 400)
    }

    func testTheCookieNamesTheSessionWhenAskedFor() throws {
        let (thread, port) = try startEngine { $0.cookie = EngineIOCookie() }
        defer { thread.stopAndJoin() }
        let (sid, answer) = try open(port)
        XCTAssertEqual(answer.headers["set-cookie"], "io=\(sid); Path=/; HttpOnly; SameSite=Lax")
        let ws = try webSocketAnswer(port)
        XCTAssertEqual(ws.status, 101)
        XCTAssertEqual(ws.headers["set-cookie"].map { $0.hasPrefix("io=") && $0.hasSuffix("; Path=/; HttpOnly; SameSite=Lax") }, true)

        let (plain, plainPort) = try startEngine()
        defer { plain.stopAndJoin() }
        XCTAssertNil(try open(plainPort).1.headers["set-cookie"], "no cookie by default, as the reference")
    }

    // MARK: CORS

    private static let app = "https://app.example"

    private func preflight(_ port: UInt16, origin: String) throws -> Response {
        try request(port, "OPTIONS /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
                    + "Origin: \(origin)\r\nAccess-Control-Request-Method: POST\r\n"
                    + "Access-Control-Request-Headers: content-type\r\n\r\n")
    }

    func testAPreflightFromAnAllowedOriginIsAnswered() throws {
        let (thread, port) = try startEngine { $0.origins = OriginPolicy(allowing: [Self.app]) }
        defer { thread.stopAndJoin() }
        let answer = try preflight(port, origin: Self.app)
        XCTAssertEqual(answer.status, 204)
        XCTAssertEqual(answer.headers["access-control-allow-origin"], Self.app)
        XCTAssertEqual(answer.headers["access-control-allow-credentials"], "true")
        XCTAssertEqual(answer.headers["access-control-allow-methods"], "GET, POST")
        XCTAssertEqual(answer.headers["access-control-allow-headers"], "content-type")
        XCTAssertEqual(answer.headers["vary"], "Origin")
        // The requests that follow carry the same answer.
        let (_, handshake) = try open(port, "Origin: \(Self.app)\r\n")
        XCTAssertEqual(handshake.headers["access-control-allow-origin"], Self.app)
        XCTAssertEqual(handshake.headers["access-control-allow-credentials"], "true")
        XCTAssertEqual(handshake.headers["vary"], "Origin")
    }

    func testAPreflightFromARefusedOriginGets403AndNoCORS() throws {
        let (thread, port) = try startEngine { $0.origins = OriginPolicy(allowing: [Self.app]) }
        defer { thread.stopAndJoin() }
        for origin in ["https://evil.example", "null", "https://app.example.evil"] {
            let answer = try preflight(port, origin: origin)
            XCTAssertEqual(answer.status, 403, origin)
            XCTAssertNil(answer.headers["access-control-allow-origin"], origin)
            XCTAssertEqual(answer.headers["vary"], "Origin", origin)
            XCTAssertEqual(try get(port, "/engine.io/?EIO=4&transport=polling", "Origin: \(origin)\r\n").status, 403)
        }
    }

    func testTheServersOwnPagesGetVaryButNoCORS() throws {
        let (thread, port) = try startEngine()
        defer { thread.stopAndJoin() }
        let (_, same) = try open(port, "Origin: http://127.0.0.1:\(port)\r\n")
        XCTAssertNil(same.headers["access-control-allow-origin"])
        XCTAssertEqual(same.headers["vary"], "Origin")
        let (_, none) = try open(port)
        XCTAssertNil(none.headers["vary"], "a request without Origin is no browser's: no Vary")
    }

    func testCredentialsCanBeLeftOut() throws {
        let (thread, port) = try startEngine {
            $0.origins = OriginPolicy(allowing: [Self.app])
            $0.corsCredentials = false
        }
        defer { thread.stopAndJoin() }
        let answer = try preflight(port, origin: Self.app)
        XCTAssertEqual(answer.status, 204)
        XCTAssertEqual(answer.headers["access-control-allow-origin"], Self.app)
        XCTAssertNil(answer.headers["access-control-allow-credentials"])
    }
}
