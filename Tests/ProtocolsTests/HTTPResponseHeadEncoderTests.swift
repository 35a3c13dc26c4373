import XCTest
@testable import Protocols

final class HTTPResponseHeadEncoderTests: XCTestCase {
    /// Encodes into a buffer of `capacity` bytes and returns the text, or nil.
    private func encode(capacity: Int = 512, _ body: (UnsafeMutableRawBufferPointer) -> Int?) -> String? {
        var storage = [UInt8](repeating: 0xEE, count: capacity)
        return storage.withUnsafeMutableBytes { buffer in
            guard let n = body(buffer) else { return nil }
            XCTAssert(n <= capacity)
            return String(decoding: buffer[0..<n], as: UTF8.self)
        }
    }

    func testKeepAliveResponseWithContentLength() {
        let text = encode { buf in
            HTTPResponseHeadEncoder.encode(status: .ok, framing: .contentLength(12), keepAlive: true, into: buf) { w in
                w.header("Content-Type", "text/plain")
            }
        }
        XCTAssertEqual(text, "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Type: text/plain\r\n\r\n")
    }

    func testDateFramingAndConnectionClose() {
        let date = Array("Sun, 06 Nov 1994 08:49:37 GMT".utf8)
        let text = encode { buf in
            date.withUnsafeBytes { d in
                HTTPResponseHeadEncoder.encode(status: .notFound, framing: .chunked, keepAlive: false, date: d, into: buf)
            }
        }
        XCTAssertEqual(text, "HTTP/1.1 404 Not Found\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    }

    func testHTTP10KeepAliveIsExplicit() {
        let keep = encode { HTTPResponseHeadEncoder.encode(status: .ok, framing: .contentLength(0), keepAlive: true, requestVersion: .http1_0, into: $0) }
        XCTAssertEqual(keep, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n")
        let close = encode { HTTPResponseHeadEncoder.encode(status: .ok, framing: .none, keepAlive: false, requestVersion: .http1_0, into: $0) }
        XCTAssertEqual(close, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
    }

    func testNoFramingOn1xxAnd204() {
        XCTAssertEqual(encode { HTTPResponseHeadEncoder.encode(status: .noContent, framing: .contentLength(5), keepAlive: true, into: $0) },
                       "HTTP/1.1 204 No Content\r\n\r\n")
        XCTAssertEqual(encode { HTTPResponseHeadEncoder.encode(status: .continue, framing: .chunked, keepAlive: true, into: $0) },
                       "HTTP/1.1 100 Continue\r\n\r\n")
        XCTAssertEqual(encode { HTTPResponseHeadEncoder.encode(status: .switchingProtocols, framing: .none, keepAlive: true, into: $0) { w in
            w.header("Upgrade", "websocket")
            w.header("Connection", "Upgrade")
        } }, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
    }

    func testHeaderTextKinds() {
        let name: StaticString = "X-Static"
        let value: StaticString = "static"
        let dynamic = "dyn-" + String(42)
        let sub = "abc-substring-xyz".dropFirst(4).prefix(9)
        let source = Array("GET / HTTP/1.1\r\nHost: from-input\r\n\r\n".utf8)
        let text = encode { buf in
            source.withUnsafeBytes { input in
                var parser = HTTPRequestParser()
                guard case .head(let head) = parser.next(input).event else { return nil }
                var w = HTTPResponseHeadEncoder(into: buf, status: HTTPStatus(code: 299))
                w.header(name, value)
                w.header("X-String", dynamic)
                w.header(String("X-Dynamic-Name"), "v")
                w.header("X-Substring", sub)
                w.header("X-Int", -1234567)
                w.header("X-Zero", 0)
                w.header("X-Echo-Host", head.value(of: "host")!)
                w.header("X-Empty", "")
                return w.finish()
            }
        }
        XCTAssertEqual(text, "HTTP/1.1 299 \r\nX-Static: static\r\nX-String: dyn-42\r\nX-Dynamic-Name: v\r\nX-Substring: substring\r\nX-Int: -1234567\r\nX-Zero: 0\r\nX-Echo-Host: from-input\r\nX-Empty: \r\n\r\n")
    }

    func testDoesNotFitReturnsNilAtEveryShortLength() {
        let full = "HTTP/1.1 200 OK\r\nContent-Length: 123456\r\nConnection: close\r\nServer: reactor\r\n\r\n"
        func write(_ buf: UnsafeMutableRawBufferPointer) -> Int? {
            HTTPResponseHeadEncoder.encode(status: .ok, framing: .contentLength(123456), keepAlive: false, into: buf) { w in
                w.header("Server", "reactor")
            }
        }
        XCTAssertEqual(encode(capacity: full.utf8.count, write), full)
        for capacity in 0..<full.utf8.count {
            XCTAssertNil(encode(capacity: capacity, write), "capacity \(capacity)")
        }
        var storage = [UInt8](repeating: 0, count: 10)
        storage.withUnsafeMutableBytes { buf in
            var w = HTTPResponseHeadEncoder(into: buf, status: .ok)
            XCTAssertNil(w.finish())
            XCTAssertEqual(w.failure, .doesNotFit)
        }
    }

    func testHeaderInjectionIsRefused() {
        for (name, value) in [("X", "a\r\nSet-Cookie: evil=1"), ("X", "a\nb"), ("X", "a\u{00}"), ("X: y", "v"), ("", "v"), ("X\r\n", "v")] {
            var storage = [UInt8](repeating: 0, count: 256)
            storage.withUnsafeMutableBytes { buf in
                var w = HTTPResponseHeadEncoder(into: buf, status: .ok)
                w.header(name, value)
                w.header("After", "ok")
                XCTAssertNil(w.finish(), "\(name.debugDescription): \(value.debugDescription)")
                XCTAssertEqual(w.failure, .invalidHeader)
            }
        }
        // Tabs and obs-text are legal in values.
        XCTAssertEqual(encode { buf in
            var w = HTTPResponseHeadEncoder(into: buf, status: .ok)
            w.header("X", "a\tb é")
            return w.finish()
        }, "HTTP/1.1 200 OK\r\nX: a\tb é\r\n\r\n")
    }

    func testEncodedHeadParsesBackAsAValidResponseHead() {
        // The status line and fields follow the same grammar the request parser enforces for
        // fields: check each line with it by wrapping them in a request.
        let text = encode { HTTPResponseHeadEncoder.encode(status: .created, framing: .contentLength(7), keepAlive: false, into: $0) { w in
            w.header("Location", "/items/7")
        } }!
        let lines = text.components(separatedBy: "\r\n")
        XCTAssertEqual(lines.first, "HTTP/1.1 201 Created")
        let request = "GET / HTTP/1.1\r\nHost: h\r\n" + lines.dropFirst().joined(separator: "\r\n")
        let r = parse(request)
        XCTAssertNil(r.error)
        XCTAssertEqual(r.heads.first?.headers.dropFirst().map { $0[0] }, ["Content-Length", "Connection", "Location"])
    }
}
