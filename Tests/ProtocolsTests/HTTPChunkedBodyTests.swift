import XCTest
@testable import Protocols

final class HTTPChunkedBodyTests: XCTestCase {
    let head = "POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"

    func testChunkedBody() {
        let r = parse(head + "4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n")
        XCTAssertEqual(r.heads.first?.framing, .chunked)
        XCTAssertEqual(r.bodies, [bytes("Wikipedia in\r\n\r\nchunks.")])
        XCTAssertEqual(r.bodyPieces, 3)
        XCTAssertEqual(r.events.last, .end)
        XCTAssertEqual(r.leftover, [])
    }

    func testHexSizesLeadingZerosAndCase() {
        let data = String(repeating: "x", count: 0x1A)
        XCTAssertEqual(parse(head + "1a\r\n\(data)\r\n0\r\n\r\n").bodies, [bytes(data)])
        XCTAssertEqual(parse(head + "1A\r\n\(data)\r\n0\r\n\r\n").bodies, [bytes(data)])
        XCTAssertEqual(parse(head + "0001a\r\n\(data)\r\n000\r\n\r\n").bodies, [bytes(data)])
    }

    func testExtensionsAreIgnored() {
        let r = parse(head + "3;name=value\r\nabc\r\n2 ; x ; y=\"q\"\r\nde\r\n0;last\r\n\r\n")
        XCTAssertEqual(r.bodies, [bytes("abcde")])
        XCTAssertEqual(r.events.last, .end)
    }

    func testTrailersAreValidatedAndSkipped() {
        let r = parse(head + "3\r\nabc\r\n0\r\nX-Checksum: 900150983cd24fb0\r\nX-Empty:\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n")
        XCTAssertEqual(r.bodies, [bytes("abc")])
        XCTAssertEqual(r.heads.map(\.target), ["/upload", "/next"])
        XCTAssertEqual(r.events.count, 5)
    }

    func testEmptyChunkedBody() {
        let r = parse(head + "0\r\n\r\n")
        XCTAssertEqual(r.events.count, 2)
        XCTAssertEqual(r.events.last, .end)
    }

    func testPiecesAreDeliveredBeforeTheChunkIsComplete() {
        var parser = HTTPRequestParser()
        bytes(head + "a\r\n0123").withUnsafeBytes { input in
            let (h, c) = parser.next(input)
            guard case .head = h else { return XCTFail("\(h)") }
            let rest = UnsafeRawBufferPointer(rebasing: input[c...])
            let (b, c2) = parser.next(rest)
            guard case .body(let r) = b else { return XCTFail("\(b)") }
            XCTAssertEqual(r, 3..<7)  // after the "a\r\n" chunk header
            XCTAssertEqual(c2, 7)
            XCTAssertEqual(String(decoding: rest[r], as: UTF8.self), "0123")
        }
        bytes("456789\r\n0\r\n").withUnsafeBytes { input in
            let (b, c) = parser.next(input)
            guard case .body(let r) = b else { return XCTFail("\(b)") }
            XCTAssertEqual(r, 0..<6)
            // Framing is consumed as it is read; the trailer section's end is still missing.
            let (more, c2) = parser.next(UnsafeRawBufferPointer(rebasing: input[c...]))
            guard case .needMoreData = more else { return XCTFail("\(more)") }
            XCTAssertEqual(c + c2, input.count)
        }
        bytes("\r\n").withUnsafeBytes { input in
            let (e, c) = parser.next(input)
            guard case .end = e else { return XCTFail("\(e)") }
            XCTAssertEqual(c, 2)
        }
    }

    func testInvalidChunkSizeIs400() {
        for bad in ["x\r\n", "\r\n", "-1\r\n", "4x\r\nabcd\r\n", "4 5\r\nabcd\r\n", " 4\r\nabcd\r\n", "4\u{01}\r\n", "0x4\r\nabcd\r\n"] {
            assertRejected(head + bad, .invalidChunkSize, status: 400)
        }
        // Extension bytes must be field-value bytes.
        assertRejected(head + "4;a\u{01}\r\n", .invalidChunkSize, status: 400)
        // A chunk-size line may not run on forever.
        assertRejected(head + "4;" + String(repeating: "e", count: 5000), .invalidChunkSize, status: 400)
        assertRejected(head + String(repeating: "0", count: 5000), .invalidChunkSize, status: 400)
        assertRejected(head + "4\rx", .bareCR, status: 400)
    }

    func testChunkDataMustEndWithCRLF() {
        assertRejected(head + "3\r\nabcd\r\n0\r\n\r\n", .invalidChunkTerminator, status: 400)
        assertRejected(head + "3\r\nabc\rX", .bareCR, status: 400)
    }

    func testChunkedBodyOverLimitIs413WhenTheSumExceedsIt() {
        let limits = HTTPParserLimits(maxBodyLength: 10)
        XCTAssertEqual(parse(head + "5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n", limits: limits).bodies, [bytes("0123456789")])
        let r = parse(head + "5\r\n01234\r\n6\r\n567890\r\n0\r\n\r\n", limits: limits)
        XCTAssertEqual(r.error, .bodyTooLarge)
        XCTAssertEqual(r.error?.status.code, 413)
        XCTAssertEqual(r.bodies, [bytes("01234")])  // the first chunk was within the limit
        assertRejected(head + "ffffffffffffffffffffffff\r\n", .bodyTooLarge, status: 413)
        assertRejected(head + "100001\r\n", .bodyTooLarge, status: 413)  // > 1 MiB default
    }

    func testInvalidTrailersAre400Or431() {
        assertRejected(head + "0\r\nX: a\r\n folded\r\n\r\n", .obsoleteLineFolding, status: 400)
        assertRejected(head + "0\r\nX : a\r\n\r\n", .whitespaceBeforeColon, status: 400)
        assertRejected(head + "0\r\n(X): a\r\n\r\n", .invalidHeaderName, status: 400)
        assertRejected(head + "0\r\nX\r\n\r\n", .invalidHeaderName, status: 400)
        assertRejected(head + "0\r\nX: a\u{01}\r\n\r\n", .invalidHeaderValue, status: 400)
        assertRejected(head + "0\r\nX: a\rb\r\n\r\n", .bareCR, status: 400)
        assertRejected(head + "0\r\n\rX", .bareCR, status: 400)
        let limits = HTTPParserLimits(maxHeaderCount: 2)
        assertRejected(head + "0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", .tooManyHeaders, status: 431, limits: limits)
        assertRejected(head + "0\r\nX: " + String(repeating: "v", count: 17_000), .headTooLarge, status: 431)
    }
}
