import ReactorTestSupport
import XCTest
@testable import Protocols

/// The reactor may cut a request anywhere. Feeding a stream in any number of pieces must give
/// the same heads, the same concatenated bodies, the same ends and the same errors as feeding it
/// whole: these tests cut every stream at every byte boundary.
final class HTTPRequestParserSplitTests: XCTestCase {
    static let streams: [String] = [
        "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
        "GET /search?q=swift+nio&lang=en HTTP/1.1\r\nHost: h\r\nAccept: */*\r\nUser-Agent: test/1.0\r\n\r\n",
        "POST /form HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 13\r\n\r\nname=J%C3%B6rg",
        "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nX-Trailer: t\r\n\r\n",
        "\r\nGET /a HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcGET /c HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "GET /chat HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n",
        "PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n12345",
        "GET / HTTP/1.1\nHost: h\n\nGET /2 HTTP/1.1\nHost: h\n\n",
        "GET /partial HTTP/1.1\r\nHost: h\r\n\r\nGET /next HTTP/1.1\r\nHos",
        // Errors, some after a valid request.
        "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n",
        "GET / HTTP/2.0\r\nHost: h\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\n",
        "G\u{01}T / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : h\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\nBad Name: x\r\n\r\n",
    ]

    /// Small limits so that limit errors also fall inside short streams.
    static let smallLimits = HTTPParserLimits(
        maxRequestLineLength: 40, maxHeadLength: 90, maxHeaderCount: 3, maxBodyLength: 8, maxChunkLineLength: 12)
    static let limitStreams: [String] = [
        "GET /" + String(repeating: "a", count: 40) + " HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX-Long: " + String(repeating: "v", count: 80) + "\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\n123456789",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n12345\r\n4\r\n6789\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;aaaaaaaaaaaaaaaa\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n0\r\n\r\n",
    ]

    private func assertSplitInvariant(_ stream: [UInt8], limits: HTTPParserLimits, file: StaticString = #filePath, line: UInt = #line) {
        let whole = feed([stream], limits: limits)
        XCTAssertFalse(whole.events.isEmpty, "stream produced no event", file: file, line: line)
        // Every cut into two pieces.
        for cut in 0...stream.count {
            let split = feed([Array(stream[..<cut]), Array(stream[cut...])], limits: limits)
            XCTAssertEqual(split.events, whole.events, "cut at \(cut)", file: file, line: line)
            // After an error the connection is closed, so what is left over does not matter.
            if whole.error == nil { XCTAssertEqual(split.leftover, whole.leftover, "cut at \(cut)", file: file, line: line) }
        }
        // One byte at a time: every boundary at once.
        let bytewise = feed(stream.map { [$0] }, limits: limits)
        XCTAssertEqual(bytewise.events, whole.events, "byte by byte", file: file, line: line)
        if whole.error == nil { XCTAssertEqual(bytewise.leftover, whole.leftover, "byte by byte", file: file, line: line) }
        // A few random multi-piece cuts, reproducible.
        var rng = SplitMix64(seed: UInt64(stream.count))
        for _ in 0..<20 {
            var pieces: [[UInt8]] = []
            var i = 0
            while i < stream.count {
                let n = Int(rng.next() % 9) + 1
                pieces.append(Array(stream[i..<min(i + n, stream.count)]))
                i += n
            }
            XCTAssertEqual(feed(pieces, limits: limits).events, whole.events, "random pieces", file: file, line: line)
        }
    }

    func testEveryStreamGivesTheSameEventsWhereverItIsCut() {
        for stream in Self.streams {
            assertSplitInvariant(bytes(stream), limits: .default)
        }
    }

    func testLimitErrorsDoNotDependOnCuts() {
        let expected: [HTTPParserError?] = [.requestLineTooLong, .headTooLarge, .tooManyHeaders, .bodyTooLarge, .bodyTooLarge, .invalidChunkSize, nil]
        for (stream, error) in zip(Self.limitStreams, expected) {
            XCTAssertEqual(feed([bytes(stream)], limits: Self.smallLimits).error, error, stream)
            assertSplitInvariant(bytes(stream), limits: Self.smallLimits)
        }
    }

    func testAllStreamsConcatenatedAsOnePipeline() {
        // Only the valid, complete ones: an error or a partial request must come last.
        let valid = Self.streams[0..<8].joined()
        let whole = parse(valid)
        XCTAssertNil(whole.error)
        XCTAssertEqual(whole.heads.count, 11)
        XCTAssertEqual(whole.events.filter { $0 == .end }.count, 11)
        assertSplitInvariant(bytes(valid), limits: .default)
    }

    func testExpectedEventsOfTheSplitCorpus() {
        // The invariant above compares parses with each other; pin a few absolute results too,
        // so a parser that is consistently wrong cannot pass.
        let chunked = parse(Self.streams[3])
        XCTAssertEqual(chunked.bodies, [bytes("Wikipedia")])
        XCTAssertEqual(chunked.events.last, .end)
        let pipeline = parse(Self.streams[4])
        XCTAssertEqual(pipeline.heads.map(\.target), ["/a", "/b", "/c"])
        XCTAssertEqual(pipeline.heads.map(\.keepAlive), [true, true, true])
        XCTAssertEqual(parse(Self.streams[8]).leftover, bytes("GET /next HTTP/1.1\r\nHos"))
        XCTAssertEqual(parse(Self.streams[9]).error, .bareCR)
        XCTAssertEqual(parse(Self.streams[10]).error, .obsoleteLineFolding)
        XCTAssertEqual(parse(Self.streams[10]).heads.count, 1)
        XCTAssertEqual(parse(Self.streams[11]).error, .contentLengthWithTransferEncoding)
        XCTAssertEqual(parse(Self.streams[12]).error, .invalidChunkSize)
        XCTAssertEqual(parse(Self.streams[13]).error, .invalidChunkTerminator)
        XCTAssertEqual(parse(Self.streams[14]).error, .unsupportedVersion)
        XCTAssertEqual(parse(Self.streams[15]).error, .missingHost)
        XCTAssertEqual(parse(Self.streams[16]).error, .malformedRequestLine)
        XCTAssertEqual(parse(Self.streams[17]).error, .whitespaceBeforeColon)
        XCTAssertEqual(parse(Self.streams[18]).error, .whitespaceBeforeColon)
    }
}
