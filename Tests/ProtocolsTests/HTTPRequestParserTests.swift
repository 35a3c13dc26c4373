import XCTest
@testable import Protocols

final class HTTPRequestParserTests: XCTestCase {
    func testSimpleGet() throws {
        let r = parse("GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n")
        XCTAssertEqual(r.events.count, 2)
        let h = try XCTUnwrap(r.heads.first)
        XCTAssertEqual(h.method, .get)
        XCTAssertEqual(h.methodName, "GET")
        XCTAssertEqual(h.target, "/index.html?q=1")
        XCTAssertEqual(h.path, "/index.html")
        XCTAssertEqual(h.query, "q=1")
        XCTAssertEqual(h.version, .http1_1)
        XCTAssertEqual(h.headers, [["Host", "example.com"], ["Accept", "*/*"]])
        XCTAssertEqual(h.framing, .none)
        XCTAssertTrue(h.keepAlive)
        XCTAssertTrue(h.hasHost)
        XCTAssertFalse(h.expectsContinue)
        XCTAssertFalse(h.upgradeRequested)
        XCTAssertEqual(r.events.last, .end)
        XCTAssertEqual(r.leftover, [])
    }

    func testHeadRangesAndLookupPointIntoTheInput() {
        let text = "GET /a/b?x=1&y=2 HTTP/1.1\r\nHost:  example.com \t\r\nX-Empty:\r\nCONTENT-type: text/plain\r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n"
        var parser = HTTPRequestParser()
        bytes(text).withUnsafeBytes { input in
            let (event, consumed) = parser.next(input)
            XCTAssertEqual(consumed, input.count)
            guard case .head(let head) = event else { return XCTFail("\(event)") }
            XCTAssertEqual(head.base, input.baseAddress)
            XCTAssertEqual(head.methodRange, 0..<3)
            XCTAssertEqual(head.targetRange, 4..<16)
            XCTAssertEqual(head.pathRange, 4..<8)
            XCTAssertEqual(head.queryRange, 9..<16)
            XCTAssertEqual(head.headRange, 0..<input.count)
            XCTAssertEqual(String(decoding: input[head.targetRange], as: UTF8.self), "/a/b?x=1&y=2")

            // Case-insensitive lookup, OWS trimmed on both sides, first of duplicates.
            XCTAssertEqual(head.value(of: "host")?.string, "example.com")
            XCTAssertEqual(head.value(of: "HOST")?.string, "example.com")
            XCTAssertEqual(head.value(of: "Content-Type")?.string, "text/plain")
            XCTAssertEqual(head.value(of: "x-dup")?.string, "1")
            XCTAssertEqual(head.value(of: "x-empty")?.count, 0)
            XCTAssertNil(head.value(of: "missing"))
            XCTAssertNil(head.value(of: "hos"))
            XCTAssertTrue(head.contains("x-empty"))
            XCTAssertTrue(head.value(of: "host")!.equals("example.com"))
            XCTAssertFalse(head.value(of: "host")!.equals("Example.com"))
            XCTAssertTrue(head.value(of: "host")!.equalsIgnoringCase("Example.COM"))

            // Iteration in order, with ranges into the input.
            XCTAssertEqual(head.headerCount, 5)
            XCTAssertEqual(head.headers.map { $0.name.string }, ["Host", "X-Empty", "CONTENT-type", "X-Dup", "x-dup"])
            let host = head.headers[0]
            XCTAssertEqual(String(decoding: input[host.nameRange], as: UTF8.self), "Host")
            XCTAssertEqual(String(decoding: input[host.valueRange], as: UTF8.self), "example.com")
            XCTAssertEqual(head.headers.filter { $0.name.equalsIgnoringCase("x-dup") }.map { $0.value.string }, ["1", "2"])
        }
    }

    func testMethods() {
        let cases: [(String, HTTPMethod)] = [
            ("GET", .get), ("HEAD", .head), ("POST", .post), ("PUT", .put), ("DELETE", .delete),
            ("OPTIONS", .options), ("PATCH", .patch), ("TRACE", .trace),
            ("PURGE", .other), ("get", .other), ("GETS", .other), ("M-SEARCH", .other),
        ]
        for (name, method) in cases {
            let r = parse("\(name) / HTTP/1.1\r\nHost: h\r\n\r\n")
            XCTAssertEqual(r.heads.first?.method, method, name)
            XCTAssertEqual(r.heads.first?.methodName, name)
        }
        let connect = parse("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        XCTAssertEqual(connect.heads.first?.method, .connect)
        XCTAssertEqual(connect.heads.first?.target, "example.com:443")
        XCTAssertEqual(connect.heads.first?.path, "")
        XCTAssertNil(connect.heads.first?.query)
    }

    /// `GET ` and `HTTP/1.1` are compared as words; the request lines around them must parse
    /// as the byte loops parse them.
    func testCommonMethodAndVersionWordsAndTheirNeighbours() {
        let get11 = parse("GET /a HTTP/1.1\r\nHost: h\r\n\r\n").heads.first
        XCTAssertEqual(get11?.method, .get)
        XCTAssertEqual(get11?.methodName, "GET")
        XCTAssertEqual(get11?.target, "/a")
        XCTAssertEqual(get11?.version, .http1_1)
        let bareLF = parse("GET /a HTTP/1.1\nHost: h\n\n").heads.first
        XCTAssertEqual(bareLF?.version, .http1_1)
        XCTAssertEqual(bareLF?.target, "/a")
        XCTAssertEqual(parse("GET /a HTTP/1.0\r\n\r\n").heads.first?.version, .http1_0)
        XCTAssertEqual(parse("PUT /a HTTP/1.1\r\nHost: h\r\n\r\n").heads.first?.method, .put)
        assertRejected("GET@/a HTTP/1.1\r\nHost: h\r\n\r\n", .invalidMethod, status: 400)
        assertRejected("GET /a HTTP/1.1x\r\nHost: h\r\n\r\n", .malformedVersion, status: 400)
        assertRejected("GET /a HTTP/1.1 \r\nHost: h\r\n\r\n", .malformedVersion, status: 400)
        assertRejected("GET /a HTTP/1.2\r\nHost: h\r\n\r\n", .unsupportedVersion, status: 505)
        assertRejected("GET /a\r\n\r\n", .malformedRequestLine, status: 400)
    }

    /// The target is passed eight bytes at a time up to its first `?`, `#` or space: wherever
    /// that byte falls in a word, the path, the query and the errors are what a byte loop finds.
    func testTargetStopBytesAtEveryOffset() {
        for k in 1..<20 {
            let path = "/" + String(repeating: "a", count: k - 1)
            let r = parse("GET \(path)?b=1?c HTTP/1.1\r\nHost: h\r\n\r\n").heads.first
            XCTAssertEqual(r?.path, path, "k=\(k)")
            XCTAssertEqual(r?.query, "b=1?c", "k=\(k)")
            XCTAssertEqual(parse("GET \(path) HTTP/1.1\r\nHost: h\r\n\r\n").heads.first?.path, path, "k=\(k)")
            assertRejected("GET \(path)#f HTTP/1.1\r\nHost: h\r\n\r\n", .invalidTarget, status: 400)
            assertRejected("GET \(path)?q#f HTTP/1.1\r\nHost: h\r\n\r\n", .invalidTarget, status: 400)
        }
    }

    /// The word-wide lowercasing behind the parser's name comparisons agrees with `asciiLower`
    /// for every byte value in every position, whatever its neighbours.
    func testAsciiLowercasedMatchesAsciiLowerPerByte() {
        for neighbour: UInt8 in [0x00, 0x40, 0x41, 0x5A, 0x5B, 0x7F, 0x80, 0xC1, 0xFF] {
            for b in 0...255 {
                for position in 0..<8 {
                    var bytes = [UInt8](repeating: neighbour, count: 8)
                    bytes[position] = UInt8(b)
                    let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                    let expected = bytes.map(asciiLower).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                    XCTAssertEqual(asciiLowercased(word), expected, "byte \(b) at \(position) among \(neighbour)")
                }
            }
        }
        func equals(_ s: String, _ lowercase: StaticString) -> Bool {
            bytes(s).withUnsafeBytes { HTTPByteView(start: $0.baseAddress!, count: $0.count).equalsLowercase(lowercase) }
        }
        XCTAssertTrue(equals("Content-LENGTH", "content-length"))
        XCTAssertFalse(equals("Content-Lengti", "content-length"))
        XCTAssertTrue(equals("HoSt", "host"))
        XCTAssertFalse(equals("hosT ", "host"))
        XCTAssertTrue(equals("Transfer-Encoding", "transfer-encoding"))
        XCTAssertFalse(equals("Transfer-Encodinf", "transfer-encoding"))
    }

    /// A value is passed eight bytes at a time up to its first byte that is not plain (a tab,
    /// the CR, an invalid byte): wherever that byte falls, the value and the errors are exact.
    func testValueStopBytesAtEveryOffset() {
        for k in 0..<20 {
            let lead = String(repeating: "a", count: k)
            let tabbed = parse("GET / HTTP/1.1\r\nHost: h\r\nX: \(lead)\tb c \t\r\n\r\n").heads.first
            XCTAssertEqual(tabbed?.headers.last, ["X", k == 0 ? "b c" : "\(lead)\tb c"], "k=\(k)")  // leading OWS trimmed
            let obsText = parse(bytes("GET / HTTP/1.1\r\nHost: h\r\nX: \(lead)") + [0xE9, 0x80, 0xFF] + bytes("z\r\n\r\n")).heads.first
            XCTAssertEqual(obsText?.headers.last?.first, "X", "k=\(k)")
            assertRejected("GET / HTTP/1.1\r\nHost: h\r\nX: \(lead)\u{7F}z\r\n\r\n", .invalidHeaderValue, status: 400)
            assertRejected(bytes("GET / HTTP/1.1\r\nHost: h\r\nX: \(lead)") + [0x01] + bytes("z\r\n\r\n"), .invalidHeaderValue, status: 400)
        }
    }

    func testTargetForms() {
        let absolute = parse("GET http://example.com:8080/p/q?a=b HTTP/1.1\r\nHost: example.com:8080\r\n\r\n")
        XCTAssertEqual(absolute.heads.first?.path, "/p/q")
        XCTAssertEqual(absolute.heads.first?.query, "a=b")
        let noPath = parse("GET http://example.com?a HTTP/1.1\r\nHost: example.com\r\n\r\n")
        XCTAssertEqual(noPath.heads.first?.path, "")
        XCTAssertEqual(noPath.heads.first?.query, "a")
        let asterisk = parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n")
        XCTAssertEqual(asterisk.heads.first?.path, "*")
        let emptyQuery = parse("GET /p? HTTP/1.1\r\nHost: h\r\n\r\n")
        XCTAssertEqual(emptyQuery.heads.first?.query, "")
        XCTAssertEqual(emptyQuery.heads.first?.path, "/p")
        let questionInQuery = parse("GET /p?a=?b HTTP/1.1\r\nHost: h\r\n\r\n")
        XCTAssertEqual(questionInQuery.heads.first?.query, "a=?b")
    }

    func testContentLengthBody() {
        let r = parse("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world")
        XCTAssertEqual(r.heads.first?.framing, .contentLength(11))
        XCTAssertEqual(r.events.dropFirst().map { $0 }, [.body(bytes("hello world")), .end])
    }

    func testBodyIsStreamedAsItArrives() {
        var parser = HTTPRequestParser()
        let head = bytes("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc")
        head.withUnsafeBytes { input in
            let (e1, c1) = parser.next(input)
            guard case .head = e1 else { return XCTFail("\(e1)") }
            let rest = UnsafeRawBufferPointer(rebasing: input[c1...])
            let (e2, c2) = parser.next(rest)
            guard case .body(let r) = e2 else { return XCTFail("\(e2)") }
            XCTAssertEqual(r, 0..<3)
            XCTAssertEqual(c2, 3)
            let (e3, c3) = parser.next(UnsafeRawBufferPointer(rebasing: rest[c2...]))
            guard case .needMoreData = e3 else { return XCTFail("\(e3)") }
            XCTAssertEqual(c3, 0)
        }
        // The remaining 7 bytes plus the next request: the body stops exactly at its length.
        bytes("defghijGET").withUnsafeBytes { input in
            let (e, c) = parser.next(input)
            guard case .body(let r) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(r, 0..<7)
            XCTAssertEqual(c, 7)
            let (end, c2) = parser.next(UnsafeRawBufferPointer(rebasing: input[7...]))
            guard case .end = end else { return XCTFail("\(end)") }
            XCTAssertEqual(c2, 0)
            let (more, c3) = parser.next(UnsafeRawBufferPointer(rebasing: input[7...]))
            guard case .needMoreData = more else { return XCTFail("\(more)") }
            XCTAssertEqual(c3, 0)
        }
    }

    func testIncompleteHeadIsNotConsumed() {
        var parser = HTTPRequestParser()
        bytes("GET / HTTP/1.1\r\nHost: h\r\n").withUnsafeBytes { input in
            let (e, c) = parser.next(input)
            guard case .needMoreData = e else { return XCTFail("\(e)") }
            XCTAssertEqual(c, 0)
            XCTAssertFalse(parser.isIdle)
        }
    }

    func testKeepAlive() {
        func keepAlive(_ version: String, _ connection: String?) -> Bool? {
            let field = connection.map { "Connection: \($0)\r\n" } ?? ""
            return parse("GET / \(version)\r\nHost: h\r\n\(field)\r\n").heads.first?.keepAlive
        }
        XCTAssertEqual(keepAlive("HTTP/1.1", nil), true)
        XCTAssertEqual(keepAlive("HTTP/1.1", "close"), false)
        XCTAssertEqual(keepAlive("HTTP/1.1", "Close"), false)
        XCTAssertEqual(keepAlive("HTTP/1.1", "keep-alive, close"), false)
        XCTAssertEqual(keepAlive("HTTP/1.1", "keep-alive"), true)
        XCTAssertEqual(keepAlive("HTTP/1.1", "closed"), true)
        XCTAssertEqual(keepAlive("HTTP/1.0", nil), false)
        XCTAssertEqual(keepAlive("HTTP/1.0", "keep-alive"), true)
        XCTAssertEqual(keepAlive("HTTP/1.0", "Keep-Alive"), true)
        XCTAssertEqual(keepAlive("HTTP/1.0", "foo, keep-alive"), true)
        XCTAssertEqual(keepAlive("HTTP/1.0", "close"), false)
        // HTTP/1.0 without Host is fine.
        XCTAssertEqual(parse("GET / HTTP/1.0\r\n\r\n").heads.first?.hasHost, false)
        // HTTP/1.0 with Transfer-Encoding: parsed, but the connection must close after it.
        let te10 = parse("POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        XCTAssertEqual(te10.heads.first?.keepAlive, false)
        XCTAssertEqual(te10.events.last, .end)
    }

    func testExpectContinue() {
        XCTAssertEqual(parse("PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n").heads.first?.expectsContinue, true)
        XCTAssertEqual(parse("PUT / HTTP/1.1\r\nHost: h\r\nexpect: 100-Continue\r\n\r\n").heads.first?.expectsContinue, true)
        XCTAssertEqual(parse("PUT / HTTP/1.1\r\nHost: h\r\nExpect: something\r\n\r\n").heads.first?.expectsContinue, false)
        XCTAssertEqual(parse("PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n").heads.first?.expectsContinue, false)
    }

    func testUpgradeRequested() {
        let ws = "GET /chat HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        XCTAssertEqual(parse(ws).heads.first?.upgradeRequested, true)
        XCTAssertEqual(parse("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n").heads.first?.upgradeRequested, false)
        XCTAssertEqual(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\n\r\n").heads.first?.upgradeRequested, false)
        XCTAssertEqual(parse("GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n").heads.first?.upgradeRequested, false)
        // The bytes after the upgrade request are left for the next protocol.
        var parser = HTTPRequestParser()
        (bytes(ws) + [0x81, 0x05] + bytes("hello")).withUnsafeBytes { input in
            let (e, c) = parser.next(input)
            guard case .head(let head) = e else { return XCTFail("\(e)") }
            XCTAssertTrue(head.upgradeRequested)
            XCTAssertEqual(head.value(of: "upgrade")?.containsToken("WebSocket"), true)
            let (end, c2) = parser.next(UnsafeRawBufferPointer(rebasing: input[c...]))
            guard case .end = end else { return XCTFail("\(end)") }
            XCTAssertEqual(input.count - c - c2, 7)
        }
    }

    func testDuplicateIdenticalContentLengthIsAccepted() {
        let twoFields = parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc")
        XCTAssertEqual(twoFields.heads.first?.framing, .contentLength(3))
        XCTAssertEqual(twoFields.bodies, [bytes("abc")])
        let list = parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\nabc")
        XCTAssertEqual(list.heads.first?.framing, .contentLength(3))
        let zero = parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")
        XCTAssertEqual(zero.heads.first?.framing, HTTPRequestBodyFraming.none)
        XCTAssertEqual(zero.events.count, 2)
        let leadingZeros = parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 007\r\n\r\n1234567")
        XCTAssertEqual(leadingZeros.bodies, [bytes("1234567")])
    }

    func testPipelinedRequestsInOneBuffer() {
        let stream = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
            + "POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
            + "POST /3 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
            + "GET /4 HTTP/1.0\r\n\r\n"
            + "GET /5 HTTP/1.1\r\nHo"
        let r = parse(stream)
        XCTAssertEqual(r.heads.map(\.target), ["/1", "/2", "/3", "/4"])
        let shape = r.events.map { e -> String in
            switch e {
            case .head(let h): return "H\(h.target)"
            case .body(let b): return "B" + String(decoding: b, as: UTF8.self)
            case .end: return "E"
            case .error: return "X"
            }
        }
        XCTAssertEqual(shape, ["H/1", "E", "H/2", "Bhello", "E", "H/3", "Babc", "E", "H/4", "E"])
        XCTAssertEqual(r.leftover, bytes("GET /5 HTTP/1.1\r\nHo"))
    }

    func testSixteenPipelinedGetsInOneRead() {
        let one = "GET /ping HTTP/1.1\r\nHost: localhost\r\nUser-Agent: bench\r\n\r\n"
        let r = parse(String(repeating: one, count: 16))
        XCTAssertEqual(r.heads.count, 16)
        XCTAssertEqual(r.events.filter { $0 == .end }.count, 16)
        XCTAssertEqual(r.leftover, [])
    }

    func testLeadingEmptyLinesAreSkipped() {
        let r = parse("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n")
        XCTAssertEqual(r.heads.count, 1)
        XCTAssertEqual(r.heads.first?.headLength, 27)
        // A stray CRLF after a body, before the next pipelined request.
        let after = parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n")
        XCTAssertEqual(after.heads.map(\.target), ["/", "/2"])
    }

    func testBareLineFeedIsAcceptedByDefault() {
        let r = parse("GET / HTTP/1.1\nHost: h\nX: y\n\n")
        XCTAssertEqual(r.heads.first?.headers, [["Host", "h"], ["X", "y"]])
        XCTAssertEqual(r.events.last, .end)
        let chunked = parse("POST / HTTP/1.1\nHost: h\nTransfer-Encoding: chunked\n\n2\nab\n0\n\n")
        XCTAssertEqual(chunked.bodies, [bytes("ab")])
        XCTAssertEqual(chunked.events.last, .end)
    }

    func testBareLineFeedRejectedWhenDisallowed() {
        let strict = HTTPParserLimits(allowsBareLineFeed: false)
        assertRejected("GET / HTTP/1.1\nHost: h\r\n\r\n", .bareLF, status: 400, limits: strict)
        assertRejected("GET / HTTP/1.1\r\nHost: h\n\r\n", .bareLF, status: 400, limits: strict)
        assertRejected("GET / HTTP/1.1\r\nHost: h\r\n\n", .bareLF, status: 400, limits: strict)
        assertRejected("\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", .bareLF, status: 400, limits: strict)
        assertRejected("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\nx\r\n0\r\n\r\n", .bareLF, status: 400, limits: strict)
        XCTAssertEqual(parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n", limits: strict).events.count, 2)
    }

    func testObsTextAndTabsInValues() {
        let r = parse(Array("GET / HTTP/1.1\r\nHost: h\r\nX-Latin: caf".utf8) + [0xE9] + Array("\tend\r\n\r\n".utf8))
        XCTAssertEqual(r.heads.first?.headers.last?.first, "X-Latin")
        XCTAssertEqual(r.events.last, .end)
    }

    func testIsIdleAndReset() {
        var parser = HTTPRequestParser()
        XCTAssertTrue(parser.isIdle)
        bytes("GET / HTTP/1.1\r\nHost: h\r\n\r\n").withUnsafeBytes { input in
            _ = parser.next(input)
            XCTAssertFalse(parser.isIdle)  // end pending
            _ = parser.next(UnsafeRawBufferPointer(rebasing: input[input.count...]))
            XCTAssertTrue(parser.isIdle)
        }
        bytes("GET / HTTP/3.0\r\n\r\n").withUnsafeBytes { input in
            _ = parser.next(input)
        }
        XCTAssertEqual(parser.error, .unsupportedVersion)
        parser.reset()
        XCTAssertNil(parser.error)
        XCTAssertTrue(parser.isIdle)
    }

    func testSharedHeaderTable() {
        let table = HTTPHeaderTable(capacity: 100)
        var a = HTTPRequestParser(limits: .default, headerTable: table)
        var b = HTTPRequestParser(limits: .default, headerTable: table)
        bytes("GET /a HTTP/1.1\r\nHost: a\r\n\r\n").withUnsafeBytes { input in
            guard case .head(let h) = a.next(input).event else { return XCTFail() }
            XCTAssertEqual(h.value(of: "host")?.string, "a")
        }
        bytes("GET /b HTTP/1.1\r\nHost: bb\r\nX: 1\r\n\r\n").withUnsafeBytes { input in
            guard case .head(let h) = b.next(input).event else { return XCTFail() }
            XCTAssertEqual(h.value(of: "host")?.string, "bb")
            XCTAssertEqual(h.headerCount, 2)
        }
    }

    func testQueryValueAndDecodedPath() {
        let r = "GET /caf%C3%A9/a+b?name=J%C3%B6rg+M&empty=&flag&x=1&x=2&bad=%zz%4&pct=100%25&sp%20ace=yes&plus+key=v HTTP/1.1\r\nHost: h\r\n\r\n"
        var parser = HTTPRequestParser()
        bytes(r).withUnsafeBytes { input in
            guard case .head(let head) = parser.next(input).event else { return XCTFail() }
            XCTAssertEqual(head.query?.string, "name=J%C3%B6rg+M&empty=&flag&x=1&x=2&bad=%zz%4&pct=100%25&sp%20ace=yes&plus+key=v")
            XCTAssertEqual(head.queryValue("name"), "Jörg M")
            XCTAssertEqual(head.queryValue("empty"), "")
            XCTAssertEqual(head.queryValue("flag"), "")
            XCTAssertEqual(head.queryValue("x"), "1")
            XCTAssertEqual(head.queryValue("bad"), "%zz%4")
            XCTAssertEqual(head.queryValue("pct"), "100%")
            XCTAssertEqual(head.queryValue("sp ace"), "yes")
            XCTAssertEqual(head.queryValue("plus key"), "v")
            XCTAssertNil(head.queryValue("missing"))
            XCTAssertNil(head.queryValue("nam"))
            XCTAssertEqual(head.decodedPath, "/café/a+b")
            var names: [String] = []
            head.forEachQueryItem { name, _ in names.append(name.string); return true }
            XCTAssertEqual(names, ["name", "empty", "flag", "x", "x", "bad", "pct", "sp%20ace", "plus+key"])
        }
        let noQuery = "GET /p HTTP/1.1\r\nHost: h\r\n\r\n"
        var p2 = HTTPRequestParser()
        bytes(noQuery).withUnsafeBytes { input in
            guard case .head(let head) = p2.next(input).event else { return XCTFail() }
            XCTAssertNil(head.query)
            XCTAssertNil(head.queryValue("a"))
        }
    }
}
