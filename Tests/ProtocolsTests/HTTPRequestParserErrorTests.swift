import XCTest
@testable import Protocols

/// One test per rule: the input, the error it names, and the status the server answers.
final class HTTPRequestParserErrorTests: XCTestCase {
    let host = "Host: h\r\n"

    func testRequestLineTooLongIs414() {
        let limits = HTTPParserLimits(maxRequestLineLength: 64)
        let exact = "GET /" + String(repeating: "a", count: 64 - 14) + " HTTP/1.1"
        XCTAssertEqual(exact.utf8.count, 64)
        XCTAssertEqual(parse(exact + "\r\n" + host + "\r\n", limits: limits).heads.count, 1)
        let over = "GET /" + String(repeating: "a", count: 65 - 14) + " HTTP/1.1"
        assertRejected(over + "\r\n" + host + "\r\n", .requestLineTooLong, status: 414, limits: limits)
        // Answered as soon as the line crosses the limit, without waiting for its end.
        assertRejected("GET /" + String(repeating: "a", count: 100), .requestLineTooLong, status: 414, limits: limits)
        // Default limit: 8 KiB.
        assertRejected("GET /" + String(repeating: "a", count: 9000) + " HTTP/1.1\r\n\r\n", .requestLineTooLong, status: 414)
    }

    func testHeadTooLargeIs431() {
        let limits = HTTPParserLimits(maxHeadLength: 100)
        let ok = "GET / HTTP/1.1\r\nHost: h\r\nX: " + String(repeating: "v", count: 100 - 32) + "\r\n\r\n"
        XCTAssertEqual(ok.utf8.count, 100)
        XCTAssertEqual(parse(ok, limits: limits).heads.count, 1)
        let over = "GET / HTTP/1.1\r\nHost: h\r\nX: " + String(repeating: "v", count: 101 - 32) + "\r\n\r\n"
        assertRejected(over, .headTooLarge, status: 431, limits: limits)
        // Streaming a header forever is cut off at the limit.
        assertRejected("GET / HTTP/1.1\r\nX: " + String(repeating: "v", count: 20_000), .headTooLarge, status: 431)
    }

    func testTooManyHeaderFieldsIs431() {
        let limits = HTTPParserLimits(maxHeaderCount: 3)
        XCTAssertEqual(parse("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n", limits: limits).heads.first?.headers.count, 3)
        assertRejected("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", .tooManyHeaders, status: 431, limits: limits)
        // Refused when the count is crossed, before the head is complete.
        assertRejected("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n", .tooManyHeaders, status: 431, limits: limits)
        let many = (0..<101).map { "X-\($0): v\r\n" }.joined()
        assertRejected("GET / HTTP/1.1\r\n" + many + "\r\n", .tooManyHeaders, status: 431)
    }

    func testBodyOverLimitIs413AtOnce() {
        let limits = HTTPParserLimits(maxBodyLength: 10)
        XCTAssertEqual(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789", limits: limits).bodies, [bytes("0123456789")])
        // Rejected from the head alone: no body byte has to arrive.
        assertRejected("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", .bodyTooLarge, status: 413, limits: limits)
        assertRejected("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999999\r\n\r\n", .bodyTooLarge, status: 413)
        assertRejected("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1048577\r\n\r\n", .bodyTooLarge, status: 413)
    }

    func testUnknownCodingBeforeFinalChunkedIs501() {
        for te in ["gzip, chunked", "identity, chunked", "x-custom , Chunked"] {
            assertRejected("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \(te)\r\n\r\n", .unsupportedTransferEncoding, status: 501)
        }
        // Split over two fields: the codings are one list, chunked last.
        assertRejected("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", .unsupportedTransferEncoding, status: 501)
    }

    func testTransferEncodingNotEndingInChunkedIs400() {
        // RFC 9112 6.3: the body's end cannot be determined; 400 and close, not 501.
        for te in ["gzip", "chunked, gzip", "identity", "chunked;q=1", "deflate, gzip"] {
            assertRejected("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \(te)\r\n\r\n", .transferEncodingNotChunkedLast, status: 400)
        }
        // Split over two fields: chunked is not last.
        assertRejected("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", .transferEncodingNotChunkedLast, status: 400)
        // Chunked applied twice (RFC 9112 7: MUST NOT), in one field or across two.
        assertRejected("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", .invalidTransferEncoding, status: 400)
        assertRejected("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", .invalidTransferEncoding, status: 400)
        // Accepted spellings of a single chunked coding.
        for te in ["chunked", "Chunked", " chunked ", "chunked,", ", chunked"] {
            XCTAssertEqual(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \(te)\r\n\r\n0\r\n\r\n").heads.first?.framing, .chunked, te)
        }
        assertRejected("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ,\r\n\r\n", .invalidTransferEncoding, status: 400)
        assertRejected("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n\r\n", .invalidTransferEncoding, status: 400)
    }

    func testUnsupportedVersionIs505() {
        for v in ["HTTP/2.0", "HTTP/1.2", "HTTP/0.9", "HTTP/3.1", "HTTP/9.9"] {
            assertRejected("GET / \(v)\r\nHost: h\r\n\r\n", .unsupportedVersion, status: 505)
        }
    }

    func testMalformedVersionIs400() {
        for v in ["http/1.1", "HTTP/1.1x", "HTTP/11", "HTTP/1.", "HTTP/a.b", "HTTP 1.1", "HTTPS/1.1", "HTTP/1.1 ", "HTTP/1.10", ""] {
            assertRejected("GET / \(v)\r\nHost: h\r\n\r\n", .malformedVersion, status: 400)
        }
    }

    func testContentLengthWithTransferEncodingIs400() {
        assertRejected("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", .contentLengthWithTransferEncoding, status: 400)
        assertRejected("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n", .contentLengthWithTransferEncoding, status: 400)
    }

    func testDifferingContentLengthsAre400() {
        assertRejected("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", .conflictingContentLength, status: 400)
        assertRejected("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 6\r\n\r\n", .conflictingContentLength, status: 400)
    }

    func testInvalidContentLengthIs400() {
        for v in ["abc", "-1", "+5", "5 5", "0x10", "1.0", "", ","] {
            assertRejected("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \(v)\r\n\r\n", .invalidContentLength, status: 400)
        }
    }

    func testObsoleteLineFoldingIs400() {
        assertRejected("GET / HTTP/1.1\r\nHost: h\r\nX-Long: a\r\n  continued\r\n\r\n", .obsoleteLineFolding, status: 400)
        assertRejected("GET / HTTP/1.1\r\nHost: h\r\nX-Long: a\r\n\tcontinued\r\n\r\n", .obsoleteLineFolding, status: 400)
        assertRejected("GET / HTTP/1.1\r\n Host: h\r\n\r\n", .obsoleteLineFolding, status: 400)
    }

    func testBareCRIs400() {
        assertRejected("GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", .bareCR, status: 400)
        assertRejected("GET / HTTP/1.1\rHost: h\r\n\r\n", .bareCR, status: 400)
        assertRejected("GET / HTTP/1.1\r\nHost: h\r\n\r\r\n", .bareCR, status: 400)
        assertRejected("\rGET / HTTP/1.1\r\nHost: h\r\n\r\n", .bareCR, status: 400)
        // A CR at the very end of the input is not judged until the next byte arrives.
        let r = parse("GET / HTTP/1.1\r")
        XCTAssertEqual(r.events, [])
        XCTAssertEqual(feed([bytes("GET / HTTP/1.1\r"), bytes("X")]).error, .bareCR)
    }

    func testInvalidMethodIs400() {
        assertRejected("G(T / HTTP/1.1\r\nHost: h\r\n\r\n", .invalidMethod, status: 400)
        assertRejected("GET\"X / HTTP/1.1\r\nHost: h\r\n\r\n", .invalidMethod, status: 400)
        assertRejected("GET@ / HTTP/1.1\r\nHost: h\r\n\r\n", .invalidMethod, status: 400)
        // Controls and non-ASCII in the request line are refused as soon as they are seen.
        assertRejected("GE\u{01}T / HTTP/1.1\r\n", .malformedRequestLine, status: 400)
        assertRejected([0x16, 0x03, 0x01, 0x02, 0x00, 0x01], .malformedRequestLine, status: 400)  // TLS on a plain port
        assertRejected(bytes("G") + [0xC3, 0xA9] + bytes("T / HTTP/1.1\r\n\r\n"), .malformedRequestLine, status: 400)
    }

    func testMalformedRequestLineIs400() {
        assertRejected("GET /\r\n\r\n", .malformedRequestLine, status: 400)  // HTTP/0.9
        assertRejected("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", .malformedRequestLine, status: 400)
        assertRejected("GET /  HTTP/1.1\r\nHost: h\r\n\r\n", .malformedVersion, status: 400)
        assertRejected(" GET / HTTP/1.1\r\nHost: h\r\n\r\n", .malformedRequestLine, status: 400)
        assertRejected("GET\r\nHost: h\r\n\r\n", .malformedRequestLine, status: 400)
        assertRejected("GET / HTTP/1.1\tX\r\nHost: h\r\n\r\n", .malformedRequestLine, status: 400)
    }

    func testInvalidTargetIs400() {
        assertRejected("GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n", .invalidTarget, status: 400)
        assertRejected("GET a/b HTTP/1.1\r\nHost: h\r\n\r\n", .invalidTarget, status: 400)
        assertRejected("GET * HTTP/1.1\r\nHost: h\r\n\r\n", .invalidTarget, status: 400)
        assertRejected("GET http:/x HTTP/1.1\r\nHost: h\r\n\r\n", .invalidTarget, status: 400)
        assertRejected("GET 1http://x/ HTTP/1.1\r\nHost: h\r\n\r\n", .invalidTarget, status: 400)
    }

    func testInvalidHeaderNameIs400() {
        assertRejected("GET / HTTP/1.1\r\nHost: h\r\nX(y): 1\r\n\r\n", .invalidHeaderName, status: 400)
        assertRejected("GET / HTTP/1.1\r\nHost: h\r\n: empty\r\n\r\n", .invalidHeaderName, status: 400)
        assertRejected("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", .invalidHeaderName, status: 400)
        assertRejected("GET / HTTP/1.1\r\nHost: h\r\nX y: 1\r\n\r\n", .invalidHeaderName, status: 400)
        assertRejected("GET / HTTP/1.1\r\nHost: h\r\nX\u{00}: 1\r\n\r\n", .invalidHeaderName, status: 400)
        assertRejected("GET / HTTP/1.1\r\nHost: h\r\nX-é: 1\r\n\r\n", .invalidHeaderName, status: 400)
    }

    func testInvalidHeaderValueIs400() {
        assertRejected("GET / HTTP/1.1\r\nHost: h\r\nX: a\u{01}b\r\n\r\n", .invalidHeaderValue, status: 400)
        assertRejected("GET / HTTP/1.1\r\nHost: h\r\nX: a\u{00}\r\n\r\n", .invalidHeaderValue, status: 400)
        assertRejected("GET / HTTP/1.1\r\nHost: h\r\nX: a\u{7F}\r\n\r\n", .invalidHeaderValue, status: 400)
    }

    func testWhitespaceBeforeColonIs400() {
        assertRejected("GET / HTTP/1.1\r\nHost : h\r\n\r\n", .whitespaceBeforeColon, status: 400)
        assertRejected("GET / HTTP/1.1\r\nHost: h\r\nContent-Length\t: 5\r\n\r\n", .whitespaceBeforeColon, status: 400)
    }

    func testMissingHostOnHTTP11Is400() {
        assertRejected("GET / HTTP/1.1\r\n\r\n", .missingHost, status: 400)
        assertRejected("GET / HTTP/1.1\r\nX-Host: h\r\n\r\n", .missingHost, status: 400)
        assertRejected("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", .multipleHost, status: 400)
        assertRejected("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", .multipleHost, status: 400)
        // An empty Host is allowed (RFC 9112 3.2, no authority in the target).
        XCTAssertEqual(parse("GET / HTTP/1.1\r\nHost:\r\n\r\n").heads.first?.hasHost, true)
    }

    func testErrorIsStickyAndConsumesNothing() {
        var parser = HTTPRequestParser()
        bytes("GET / HTTP/1.1\r\n\r\n").withUnsafeBytes { input in
            let (e, c) = parser.next(input)
            XCTAssertEqual(c, 0)
            guard case .error(.missingHost) = e else { return XCTFail("\(e)") }
        }
        bytes("GET / HTTP/1.1\r\nHost: h\r\n\r\n").withUnsafeBytes { input in
            let (e, c) = parser.next(input)
            XCTAssertEqual(c, 0)
            guard case .error(.missingHost) = e else { return XCTFail("\(e)") }
        }
        XCTAssertEqual(parser.error, .missingHost)
        // An error in a later pipelined request comes after the earlier requests' events.
        let r = parse("GET /ok HTTP/1.1\r\nHost: h\r\n\r\nGET /bad HTTP/2.0\r\n\r\nGET /never HTTP/1.1\r\nHost: h\r\n\r\n")
        XCTAssertEqual(r.heads.map(\.target), ["/ok"])
        XCTAssertEqual(r.events.count, 3)
        XCTAssertEqual(r.error, .unsupportedVersion)
    }

    func testStatusOfEveryError() {
        let expected: [(HTTPParserError, Int)] = [
            (.malformedRequestLine, 400), (.invalidMethod, 400), (.invalidTarget, 400), (.malformedVersion, 400),
            (.bareCR, 400), (.bareLF, 400), (.obsoleteLineFolding, 400), (.invalidHeaderName, 400),
            (.whitespaceBeforeColon, 400), (.invalidHeaderValue, 400), (.invalidContentLength, 400),
            (.conflictingContentLength, 400), (.contentLengthWithTransferEncoding, 400),
            (.invalidTransferEncoding, 400), (.transferEncodingNotChunkedLast, 400), (.missingHost, 400), (.multipleHost, 400),
            (.invalidChunkSize, 400), (.invalidChunkTerminator, 400), (.bodyTooLarge, 413),
            (.requestLineTooLong, 414), (.headTooLarge, 431), (.tooManyHeaders, 431),
            (.unsupportedTransferEncoding, 501), (.unsupportedVersion, 505),
        ]
        for (error, status) in expected {
            XCTAssertEqual(error.status.code, status, "\(error)")
            XCTAssertFalse(error.description.isEmpty)
        }
    }
}
