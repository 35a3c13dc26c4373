import Protocols
import ReactorTestSupport
import XCTest

/// The RESP decoder on every type, split at every byte, and on malformed input.
final class RESPDecoderTests: XCTestCase {
    /// Every type of RESP2 and RESP3, as the wire text and the value it must decode to.
    static let samples: [(wire: String, value: RESPValue)] = [
        ("+OK\r\n", .simpleString("OK")),
        ("+\r\n", .simpleString("")),
        ("-ERR unknown command 'FOO'\r\n", .error("ERR unknown command 'FOO'")),
        (":0\r\n", .integer(0)),
        (":-42\r\n", .integer(-42)),
        (":9223372036854775807\r\n", .integer(.max)),
        (":-9223372036854775808\r\n", .integer(.min)),
        ("$5\r\nhello\r\n", .bulkString(Array("hello".utf8))),
        ("$0\r\n\r\n", .bulkString([])),
        ("$4\r\na\r\nb\r\n", .bulkString(Array("a\r\nb".utf8))),  // binary-safe: CRLF inside
        ("$-1\r\n", .null),
        ("*-1\r\n", .null),
        ("_\r\n", .null),
        ("*0\r\n", .array([])),
        ("*3\r\n:1\r\n$1\r\nx\r\n*1\r\n+y\r\n", .array([.integer(1), .bulkString([0x78]), .array([.simpleString("y")])])),
        ("*2\r\n$-1\r\n*-1\r\n", .array([.null, .null])),
        (",3.25\r\n", .double(3.25)),
        (",-1.5e3\r\n", .double(-1500)),
        (",10\r\n", .double(10)),
        (",inf\r\n", .double(.infinity)),
        (",-inf\r\n", .double(-.infinity)),
        ("#t\r\n", .boolean(true)),
        ("#f\r\n", .boolean(false)),
        ("(3492890328409238509324850943850943825024385\r\n", .bigNumber("3492890328409238509324850943850943825024385")),
        ("(-12\r\n", .bigNumber("-12")),
        ("=15\r\ntxt:Some string\r\n", .verbatimString(format: "txt", text: Array("Some string".utf8))),
        ("=4\r\nmkd:\r\n", .verbatimString(format: "mkd", text: [])),
        ("!21\r\nSYNTAX invalid syntax\r\n", .blobError(Array("SYNTAX invalid syntax".utf8))),
        ("%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n",
         .map([RESPPair(.simpleString("first"), .integer(1)), RESPPair(.simpleString("second"), .integer(2))])),
        ("%0\r\n", .map([])),
        ("~2\r\n+a\r\n#t\r\n", .set([.simpleString("a"), .boolean(true)])),
        (">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\nhi!\r\n",
         .push([.bulkString(Array("message".utf8)), .bulkString(Array("ch".utf8)), .bulkString(Array("hi!".utf8))])),
        // An attribute is read and dropped: the value is the reply that follows it.
        ("|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*2\r\n:2\r\n:3\r\n", .array([.integer(2), .integer(3)])),
        ("*1\r\n|1\r\n+ttl\r\n:3\r\n+v\r\n", .array([.simpleString("v")])),
    ]

    func decodeAll(_ bytes: [UInt8], limits: RESPLimits = .default) throws -> [RESPValue] {
        var decoder = RESPDecoder(limits: limits)
        var out: [RESPValue] = []
        var offset = 0
        while offset < bytes.count {
            guard let (v, n) = try bytes.withUnsafeBytes({ try decoder.decode(UnsafeRawBufferPointer(rebasing: $0[offset...])) }) else { break }
            XCTAssertGreaterThan(n, 0)
            out.append(v)
            offset += n
        }
        return out
    }

    func testEveryTypeDecodesWhole() throws {
        for (wire, value) in Self.samples {
            let bytes = Array(wire.utf8)
            var decoder = RESPDecoder()
            let result = try bytes.withUnsafeBytes { try decoder.decode($0) }
            XCTAssertEqual(result?.value, value, wire.debugDescription)
            XCTAssertEqual(result?.consumed, bytes.count, wire.debugDescription)
        }
    }

    func testNaNDouble() throws {
        var decoder = RESPDecoder()
        let v = try Array(",nan\r\n".utf8).withUnsafeBytes { try decoder.decode($0) }
        guard case .double(let d)? = v?.value else { return XCTFail("not a double") }
        XCTAssertTrue(d.isNaN)
    }

    /// Every prefix of every sample is "need more data" (nil, nothing consumed), as the reactor
    /// presents input, and the same decoder then decodes the whole.
    func testEveryPrefixNeedsMoreDataThenDecodes() throws {
        for (wire, value) in Self.samples {
            let bytes = Array(wire.utf8)
            var decoder = RESPDecoder()
            for cut in 0..<bytes.count {
                let partial = try bytes.withUnsafeBytes { try decoder.decode(UnsafeRawBufferPointer(rebasing: $0[..<cut])) }
                XCTAssertNil(partial, "\(wire.debugDescription) cut at \(cut)")
            }
            let whole = try bytes.withUnsafeBytes { try decoder.decode($0) }
            XCTAssertEqual(whole?.value, value)
            XCTAssertEqual(whole?.consumed, bytes.count)
        }
    }

    /// A pipelined stream of every sample, delivered in two pieces split at every byte, the way
    /// a reactor would (the unconsumed tail presented again with the next bytes).
    func testPipelinedStreamSplitAtEveryByte() throws {
        let stream = Self.samples.flatMap { Array($0.wire.utf8) }
        let expected = Self.samples.map(\.value)
        for cut in 0...stream.count {
            var decoder = RESPDecoder()
            var out: [RESPValue] = []
            var pending: [UInt8] = []
            for piece in [Array(stream[..<cut]), Array(stream[cut...])] {
                pending += piece
                var used = 0
                while let (v, n) = try pending.withUnsafeBytes({ try decoder.decode(UnsafeRawBufferPointer(rebasing: $0[used...])) }) {
                    out.append(v)
                    used += n
                }
                pending.removeFirst(used)
            }
            XCTAssertTrue(pending.isEmpty, "cut \(cut): \(pending.count) bytes left")
            XCTAssertEqual(out.count, expected.count, "cut \(cut)")
            XCTAssertTrue(zip(out, expected).allSatisfy { $0 == $1 }, "cut \(cut)")
        }
    }

    /// One byte at a time through the whole stream.
    func testByteAtATime() throws {
        let stream = Self.samples.flatMap { Array($0.wire.utf8) }
        var decoder = RESPDecoder()
        var pending: [UInt8] = []
        var out: [RESPValue] = []
        for b in stream {
            pending.append(b)
            if let (v, n) = try pending.withUnsafeBytes({ try decoder.decode($0) }) {
                out.append(v)
                pending.removeFirst(n)
            }
        }
        XCTAssertEqual(out, Self.samples.map(\.value))
    }

    /// A large bulk arriving in small pieces: after the first look at its header the decoder
    /// answers "need more" without rescanning until the whole payload can be there.
    func testLargeBulkInPieces() throws {
        let payload = (0..<200_000).map { UInt8(truncatingIfNeeded: $0) }
        let wire = Array("$\(payload.count)\r\n".utf8) + payload + [0x0D, 0x0A]
        var decoder = RESPDecoder()
        var end = 0
        while end < wire.count {
            end = min(wire.count, end + 4096)
            let r = try wire.withUnsafeBytes { try decoder.decode(UnsafeRawBufferPointer(rebasing: $0[..<end])) }
            if end < wire.count { XCTAssertNil(r) } else { XCTAssertEqual(r?.value, .bulkString(payload)) }
        }
    }

    func testMalformedInputsAreErrors() {
        let cases: [(String, RESPError.Kind)] = [
            ("?\r\n", .unknownType(UInt8(ascii: "?"))),
            ("hello\r\n", .unknownType(UInt8(ascii: "h"))),
            (":12a\r\n", .badNumber),
            (":\r\n", .badNumber),
            (":-\r\n", .badNumber),
            (":+1\r\n", .badNumber),
            (":9223372036854775808\r\n", .badNumber),
            (":-9223372036854775809\r\n", .badNumber),
            ("$-2\r\n", .badNumber),
            ("*-2\r\n", .badNumber),
            ("%-1\r\n", .badNumber),
            ("$3\r\nabcd\r\n", .badBulkTerminator),
            ("$3\r\nabc\n\n", .badBulkTerminator),
            ("+OK\n", .badLineEnding),
            ("+O\rK\r\n", .badLineEnding),
            ("#x\r\n", .badValue),
            ("#tt\r\n", .badValue),
            ("_x\r\n", .badValue),
            (",1.2.x\r\n", .badValue),
            (",\r\n", .badValue),
            (",e\r\n", .badValue),
            ("(12x\r\n", .badValue),
            ("(\r\n", .badValue),
            ("=3\r\ntxt\r\n", .badValue),
            ("=5\r\ntxt-x\r\n", .badValue),
            ("=5\r\nt t:x\r\n", .badValue),  // the format is three printable ASCII bytes
            ("$?\r\n", .unsupportedStreaming),
            ("*?\r\n", .unsupportedStreaming),
            (";4\r\nabcd\r\n", .unknownType(UInt8(ascii: ";"))),
        ]
        for (wire, kind) in cases {
            XCTAssertThrowsError(try decodeAll(Array(wire.utf8)), wire.debugDescription) { error in
                XCTAssertEqual((error as? RESPError)?.kind, kind, wire.debugDescription)
            }
        }
    }

    func testLimits() {
        let limits = RESPLimits(maxBulkLength: 10, maxAggregateCount: 3, maxDepth: 3, maxLineLength: 8)
        func kind(_ wire: String) -> RESPError.Kind? {
            do {
                _ = try decodeAll(Array(wire.utf8), limits: limits)
                return nil
            } catch {
                return (error as? RESPError)?.kind
            }
        }
        XCTAssertEqual(kind("$11\r\n"), .bulkTooLong)  // refused from the header, before the payload arrives
        XCTAssertNil(kind("$10\r\n0123456789\r\n"))
        XCTAssertEqual(kind("*4\r\n"), .aggregateTooLarge)
        XCTAssertEqual(kind("%4\r\n"), .aggregateTooLarge)
        XCTAssertNil(kind("*3\r\n*1\r\n*1\r\n:1\r\n:2\r\n:3\r\n"))
        XCTAssertEqual(kind("*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n"), .nestedTooDeep)
        XCTAssertEqual(kind("*1\r\n*1\r\n*1\r\n*0\r\n"), .nestedTooDeep)
        XCTAssertEqual(kind("+123456789"), .lineTooLong)  // no CRLF in sight: refused without waiting
        XCTAssertNil(kind("+12345678\r\n"))
        XCTAssertEqual(kind("+123456789\r\n"), .lineTooLong)
        // A chain of attributes counts as nesting.
        XCTAssertEqual(kind("|0\r\n|0\r\n|0\r\n|0\r\n+x\r\n"), .nestedTooDeep)
        // Limits raised to the top must not let a declared length overflow the arithmetic
        // after it: an Int64.max bulk or map is refused, not a trap.
        var open = RESPLimits()
        open.maxBulkLength = .max
        open.maxAggregateCount = .max
        for wire in ["$9223372036854775807\r\n", "=9223372036854775806\r\n", "%9223372036854775807\r\n", "*9223372036854775807\r\n"] {
            XCTAssertThrowsError(try decodeAll(Array(wire.utf8), limits: open), wire)
        }
        XCTAssertThrowsError(try decodeAll(Array("$99999999999999999999\r\n".utf8), limits: open))
        // A huge declared count never allocates up front: it just needs more data.
        XCTAssertEqual(try decodeAll(Array("*1000000\r\n:1\r\n".utf8)), [])
    }

    func testDeepNestingWithinDefaultLimitsIsFineAndBeyondIsAnError() throws {
        let depth = RESPLimits.default.maxDepth
        let ok = String(repeating: "*1\r\n", count: depth) + ":1\r\n"
        XCTAssertEqual(try decodeAll(Array(ok.utf8)).count, 1)
        let tooDeep = String(repeating: "*1\r\n", count: 100_000) + ":1\r\n"
        XCTAssertThrowsError(try decodeAll(Array(tooDeep.utf8)))
    }

    /// Random bytes and random mutations of valid replies: an error or a value, never a crash,
    /// never a consumed count beyond the input.
    func testRandomInputNeverCrashes() {
        var rng = SplitMix64(seed: 7)
        let valid = Self.samples.map { Array($0.wire.utf8) }
        let interesting = Array("*$%~>|+-:_#,(=!\r\n0123456789?".utf8)
        for i in 0..<20_000 {
            var bytes: [UInt8]
            if i % 2 == 0 {
                bytes = (0..<Int(rng.next() % 40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            } else {
                bytes = valid[Int(rng.next() % UInt64(valid.count))]
                for _ in 0..<1 + Int(rng.next() % 3) where !bytes.isEmpty {
                    bytes[Int(rng.next() % UInt64(bytes.count))] = interesting[Int(rng.next() % UInt64(interesting.count))]
                }
            }
            var decoder = RESPDecoder(limits: RESPLimits(maxBulkLength: 1 << 16, maxAggregateCount: 1 << 10, maxDepth: 8, maxLineLength: 256))
            do {
                if let (_, n) = try bytes.withUnsafeBytes({ try decoder.decode($0) }) {
                    XCTAssertTrue(n > 0 && n <= bytes.count)
                }
            } catch {}
        }
    }
}
