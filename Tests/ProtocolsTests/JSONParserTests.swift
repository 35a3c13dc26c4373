import ReactorTestSupport
import XCTest
@testable import Protocols

final class JSONParserTests: XCTestCase {
    private func parse(_ bytes: [UInt8], maxDepth: Int = JSONValue.defaultMaxDepth) -> Result<JSONValue, JSONError> {
        Result { () throws(JSONError) in try JSONValue.parse(bytes, maxDepth: maxDepth) }
    }

    private func value(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> JSONValue? {
        switch parse(Array(text.utf8)) {
        case .success(let value): return value
        case .failure(let error):
            XCTFail("\(text.debugDescription): \(error)", file: file, line: line)
            return nil
        }
    }

    private func error(_ bytes: [UInt8], maxDepth: Int = JSONValue.defaultMaxDepth) -> JSONError? {
        if case .failure(let error) = parse(bytes, maxDepth: maxDepth) { return error }
        return nil
    }

    private func assertRejects(
        _ text: String, _ kind: JSONError.Kind, at offset: Int? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        assertRejects(Array(text.utf8), kind, at: offset, file: file, line: line)
    }

    private func assertRejects(
        _ bytes: [UInt8], _ kind: JSONError.Kind, at offset: Int? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let shown = String(decoding: bytes, as: UTF8.self).debugDescription
        guard let error = error(bytes) else {
            return XCTFail("accepted \(shown)", file: file, line: line)
        }
        XCTAssertEqual(error.kind, kind, "\(shown): \(error)", file: file, line: line)
        if let offset { XCTAssertEqual(error.offset, offset, "\(shown): \(error)", file: file, line: line) }
        XCTAssertFalse(error.expected.isEmpty, file: file, line: line)
    }

    // MARK: Accepted

    func testScalarsAndWhitespace() {
        XCTAssertEqual(value("null"), .null)
        XCTAssertEqual(value("true"), .bool(true))
        XCTAssertEqual(value("false"), .bool(false))
        XCTAssertEqual(value(" \t\r\n 1 \t\r\n "), .int(1))
        XCTAssertEqual(value(#""""#), .string(""))
        XCTAssertEqual(value("[]"), .array([]))
        XCTAssertEqual(value("{}"), .object([:]))
        XCTAssertEqual(value(" [ 1 , { \"a\" : [ ] } , \"x\" ] "), [1, ["a": []], "x"])
    }

    func testIntegersAreExact() {
        XCTAssertEqual(value("0"), .int(0))
        XCTAssertEqual(value("-0"), .int(0))
        XCTAssertEqual(value("123"), .int(123))
        XCTAssertEqual(value("-123"), .int(-123))
        XCTAssertEqual(value(#"{"id": 9007199254740993}"#)?["id"], .int(9_007_199_254_740_993))
        XCTAssertEqual(value("9007199254740993")?.serialized(), "9007199254740993")
        XCTAssertEqual(value("9223372036854775807"), .int(.max))
        XCTAssertEqual(value("-9223372036854775808"), .int(.min))
        XCTAssertEqual(value("-9223372036854775808")?.serialized(), "-9223372036854775808")
    }

    func testIntegersBeyondInt64BecomeDoubles() {
        XCTAssertEqual(value("9223372036854775808"), .double(9_223_372_036_854_775_808))
        XCTAssertEqual(value("-9223372036854775809"), .double(-9_223_372_036_854_775_808))  // the nearest Double
        XCTAssertEqual(value("18446744073709551616"), .double(18_446_744_073_709_551_616))
        XCTAssertEqual(value("123456789012345678901234567890"), .double(1.2345678901234568e29))
    }

    func testDoubles() {
        XCTAssertEqual(value("1.5"), .double(1.5))
        XCTAssertEqual(value("5.0"), .double(5))
        XCTAssertEqual(value("0.1"), .double(0.1))
        XCTAssertEqual(value("1E2"), .double(100))
        XCTAssertEqual(value("1e+2"), .double(100))
        XCTAssertEqual(value("1e-2"), .double(0.01))
        XCTAssertEqual(value("-2.5e-3"), .double(-0.0025))
        XCTAssertEqual(value("0e999999999999"), .double(0))
        XCTAssertEqual(value("1e-400"), .double(0))
        XCTAssertEqual(value("5e-324"), .double(.leastNonzeroMagnitude))
        XCTAssertEqual(value("2.2250738585072014e-308"), .double(.leastNormalMagnitude))
        XCTAssertEqual(value("1.7976931348623157e308"), .double(.greatestFiniteMagnitude))
        XCTAssertEqual(value("0.30000000000000004"), .double(0.1 + 0.2))
        XCTAssertEqual(value("3.14159265358979323846264338327950288"), .double(.pi))
        XCTAssertEqual(value("0.000000000000000000000000000001"), .double(1e-30))
        let negativeZero = value("-0.0")?.doubleValue
        XCTAssertEqual(negativeZero, 0)
        XCTAssertEqual(negativeZero?.sign, .minus)
        XCTAssertEqual(value("-0e5")?.doubleValue?.sign, .minus)
    }

    /// The fast path (mantissa and power of ten exact) and the fallback must both agree with the
    /// standard library's correctly rounded conversion, for many shapes of number.
    func testNumberConversionMatchesTheStandardLibrary() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<20_000 {
            var text = rng.next() % 4 == 0 ? "-" : ""
            let integerDigits = Int(rng.next() % 22) + 1
            for k in 0..<integerDigits {
                let d = rng.next() % 10
                text += String(k == 0 && integerDigits > 1 ? max(1, d) : d)
            }
            if rng.next() % 2 == 0 {
                text += "."
                for _ in 0..<(Int(rng.next() % 20) + 1) { text += String(rng.next() % 10) }
            }
            if rng.next() % 2 == 0 {
                text += ["e", "E", "e+", "e-", "E-"][Int(rng.next() % 5)] + String(rng.next() % 330)
            }
            let expected = Double(text)!
            guard expected.isFinite else {
                XCTAssertEqual(error(Array(text.utf8))?.kind, .numberOutOfRange, text)
                continue
            }
            guard let parsed = value(text) else { continue }
            if let double = parsed.doubleValue, case .double = parsed {
                XCTAssertEqual(double.bitPattern, expected.bitPattern, text)
            } else {
                XCTAssertEqual(parsed, .int(Int64(text)!), text)
            }
        }
    }

    func testStringsAndEscapes() {
        XCTAssertEqual(value(#""abc""#), "abc")
        XCTAssertEqual(value(#""\" \\ \/ \b \f \n \r \t""#), "\" \\ / \u{8} \u{C} \n \r \t")
        XCTAssertEqual(value(#""\u0041\u00e9\u00E9\u4e2d""#), "Aéé中")
        XCTAssertEqual(value(#""\u0000""#), "\u{0}", "an escaped NUL is fine")
        XCTAssertEqual(value(#""\ud83d\ude00""#), "😀")
        XCTAssertEqual(value(#""\uD83D\uDE00x""#), "😀x")
        XCTAssertEqual(value(#""\udbff\udfff""#), "\u{10FFFF}")
        XCTAssertEqual(value(#""\uffff\ufeff""#), "\u{FFFF}\u{FEFF}")
        XCTAssertEqual(value("\"raw é 中 😀 \u{7F} \u{2028}\u{2029}\""), "raw é 中 😀 \u{7F} \u{2028}\u{2029}")
        XCTAssertEqual(value("\"é\\n😀\""), "é\n😀")
    }

    /// An escape or a quote at every position relative to the eight-byte scan.
    func testEscapesAtEveryAlignment() {
        for length in 0..<24 {
            for position in 0...length {
                let prefix = String(repeating: "a", count: position)
                let suffix = String(repeating: "é", count: length - position)
                XCTAssertEqual(value("\"\(prefix)\\n\(suffix)\""), .string(prefix + "\n" + suffix))
                XCTAssertEqual(value("\"\(prefix)\(suffix)\""), .string(prefix + suffix))
                var bytes = Array("\"\(prefix)\(suffix)\"".utf8)
                bytes.insert(0x01, at: 1 + position)
                XCTAssertEqual(error(bytes)?.kind, .controlCharacterInString)
                XCTAssertEqual(error(bytes)?.offset, 1 + position)
            }
        }
    }

    func testDuplicateKeysLastValueWinsAtFirstPosition() {
        let object = value(#"{"a":1,"b":2,"a":3}"#)
        XCTAssertEqual(object?.objectValue?.keys, ["a", "b"])
        XCTAssertEqual(object?["a"], 3)
        XCTAssertEqual(object?.serialized(), #"{"a":3,"b":2}"#)
    }

    func testLargeObjectKeepsOrder() {
        let keys = (0..<100).map { "key\(($0 * 37) % 100)" }
        let text = "{" + keys.enumerated().map { "\"\($1)\":\($0)" }.joined(separator: ",") + "}"
        let object = value(text)?.objectValue
        XCTAssertEqual(object?.keys, keys)
        XCTAssertEqual(object?["key37"], 1)
        XCTAssertEqual(JSONValue.object(object ?? [:]).serialized(), text)
    }

    func testOverloadsAgree() throws {
        let text = #"{"name":"Zoë","list":[1,2.5,null]}"#
        let fromString = try JSONValue.parse(text)
        let fromBytes = try JSONValue.parse(Array(text.utf8))
        let fromPointer = try Array(text.utf8).withUnsafeBytes { buffer in try JSONValue.parse(buffer) }
        XCTAssertEqual(fromString, fromBytes)
        XCTAssertEqual(fromString, fromPointer)
        XCTAssertEqual(fromString["name"], "Zoë")
    }

    /// Sizes that make the parser's stacks and scratch buffer grow, mid-document.
    func testLargeAndWideDocuments() throws {
        let wideArray = JSONValue.array((0..<10_000).map { .int(Int64($0)) })
        XCTAssertEqual(try JSONValue.parse(wideArray.serialized()), wideArray)
        let wideObject = JSONValue.object(JSONObject((0..<1_000).map { ("key\($0)", JSONValue.string("v\($0)")) }))
        XCTAssertEqual(try JSONValue.parse(wideObject.serialized()).serialized(), wideObject.serialized())
        // Open containers at many levels at once, each with many pending values.
        var nested: JSONValue = "leaf"
        for level in 0..<100 {
            let siblings = (0..<20).map { JSONValue.int(Int64(level * 100 + $0)) }
            nested = level % 2 == 0 ? .array(siblings + [nested] + siblings) : ["a": .array(siblings), "next": nested, "z": 1]
        }
        XCTAssertEqual(try JSONValue.parse(nested.serialized()), nested)
        // A long string with escapes all through it (the scratch buffer grows many times).
        let long = String(repeating: "line \"quoted\"\t\u{1} é 😀\n", count: 20_000)
        XCTAssertEqual(try JSONValue.parse(JSONValue.string(long).serialized()), .string(long))
    }

    /// An error deep inside containers that hold values: the parser's stacks are cleaned up
    /// (no crash; leaks would show under valgrind or the sanitizers).
    func testErrorsWithOpenContainers() {
        let text = "[" + String(repeating: #"{"a":["x","y",{"b":[1,2,"#, count: 20) + "}"
        XCTAssertEqual(error(Array(text.utf8))?.kind, .unexpectedCharacter)
        XCTAssertEqual(error(Array(#"[["abc", "\u00e9", {"k": "v"}, "\q"]]"#.utf8))?.kind, .invalidEscape)
    }

    // MARK: Prefixes and slices

    func testParsePrefixReportsBytesUsed() throws {
        func prefix(_ text: String) throws(JSONError) -> (JSONValue, Int) {
            let bytes = Array(text.utf8)
            let result = bytes.withUnsafeBytes { buffer in
                Result { () throws(JSONError) in try JSONValue.parsePrefix(buffer) }
            }
            let (value, consumed) = try result.get()
            return (value, consumed)
        }
        XCTAssertEqual(try prefix(#"{"a":1}rest"#).1, 7)
        XCTAssertEqual(try prefix(#"{"a":1}rest"#).0, ["a": 1])
        XCTAssertEqual(try prefix(" 42 ,x").0, 42)
        XCTAssertEqual(try prefix(" 42 ,x").1, 3)
        XCTAssertEqual(try prefix("[1]   ").1, 3)
        XCTAssertEqual(try prefix("12abc").1, 2)
        XCTAssertEqual(try prefix("\"é\"\"x\"").1, 4)
        XCTAssertThrowsError(try prefix("[1,]x"))
        XCTAssertThrowsError(try prefix(""))
    }

    /// A Socket.IO packet carries its JSON as the tail: parse it in place from a rebased slice.
    func testParsingTheTailOfAPacketInPlace() throws {
        let packet = Array(#"2/chat,17["message",{"text":"hi"}]"#.utf8)
        let start = packet.firstIndex(of: UInt8(ascii: "["))!
        let value = try packet.withUnsafeBytes { buffer in
            try JSONValue.parse(UnsafeRawBufferPointer(rebasing: buffer[start...]))
        }
        XCTAssertEqual(value, ["message", ["text": "hi"]])
        // Offsets in errors are relative to the slice.
        let bad = Array(#"2["a",]"#.utf8)
        XCTAssertThrowsError(
            try bad.withUnsafeBytes { buffer in try JSONValue.parse(UnsafeRawBufferPointer(rebasing: buffer[1...])) }
        ) { error in
            XCTAssertEqual((error as? JSONError)?.offset, 5)
        }
    }

    // MARK: Rejected

    func testRejectsTrailingCommasAndMissingSeparators() {
        assertRejects("[1,]", .unexpectedCharacter, at: 3)
        assertRejects("[1,,2]", .unexpectedCharacter, at: 3)
        assertRejects("[,1]", .unexpectedCharacter, at: 1)
        assertRejects("[,]", .unexpectedCharacter, at: 1)
        assertRejects(#"["a",]"#, .unexpectedCharacter, at: 5)
        assertRejects(#"{"a":1,}"#, .unexpectedCharacter, at: 7)
        assertRejects(#"{,}"#, .unexpectedCharacter, at: 1)
        assertRejects("[1 2]", .unexpectedCharacter, at: 3)
        assertRejects(#"{"a" 1}"#, .unexpectedCharacter, at: 5)
        assertRejects(#"{"a":1 "b":2}"#, .unexpectedCharacter, at: 7)
        assertRejects(#"{"a"}"#, .unexpectedCharacter, at: 4)
        assertRejects(#"{"a":}"#, .unexpectedCharacter, at: 5)
        assertRejects(#"{"a"::1}"#, .unexpectedCharacter, at: 5)
        assertRejects(#"{a:1}"#, .unexpectedCharacter, at: 1)
        assertRejects(#"{'a':1}"#, .unexpectedCharacter, at: 1)
        assertRejects(#"{1:1}"#, .unexpectedCharacter, at: 1)
        assertRejects(#"{null:1}"#, .unexpectedCharacter, at: 1)
        assertRejects(#"["a":1]"#, .unexpectedCharacter, at: 4)
        assertRejects(#"[1}"#, .unexpectedCharacter, at: 2)
        assertRejects(#"{"a":1]"#, .unexpectedCharacter, at: 6)
        assertRejects("'a'", .unexpectedCharacter, at: 0)
    }

    func testRejectsBadNumbers() {
        assertRejects("01", .leadingZero, at: 1)
        assertRejects("00", .leadingZero, at: 1)
        assertRejects("-01", .leadingZero, at: 2)
        assertRejects("-00", .leadingZero, at: 2)
        assertRejects("[012]", .leadingZero, at: 2)
        assertRejects("1.", .unexpectedEnd, at: 2)
        assertRejects("1.e1", .unexpectedCharacter, at: 2)
        assertRejects("[1.]", .unexpectedCharacter, at: 3)
        assertRejects(".5", .unexpectedCharacter, at: 0)
        assertRejects("+1", .unexpectedCharacter, at: 0)
        assertRejects("-", .unexpectedEnd, at: 1)
        assertRejects("-a", .unexpectedCharacter, at: 1)
        assertRejects("- 1", .unexpectedCharacter, at: 1)
        assertRejects("1e", .unexpectedEnd, at: 2)
        assertRejects("1e+", .unexpectedEnd, at: 3)
        assertRejects("1E-x", .unexpectedCharacter, at: 3)
        assertRejects("1ee2", .unexpectedCharacter, at: 2)
        assertRejects("0x10", .trailingData, at: 1)
        assertRejects("1_000", .trailingData, at: 1)
        assertRejects("1.5.2", .trailingData, at: 3)
        assertRejects("NaN", .unexpectedCharacter, at: 0)
        assertRejects("-NaN", .unexpectedCharacter, at: 1)
        assertRejects("nan", .unexpectedCharacter, at: 1)
        assertRejects("Infinity", .unexpectedCharacter, at: 0)
        assertRejects("-Infinity", .unexpectedCharacter, at: 1)
        assertRejects("[inf]", .unexpectedCharacter, at: 1)
        assertRejects("1e400", .numberOutOfRange, at: 0)
        assertRejects("[-1e400]", .numberOutOfRange, at: 1)
        assertRejects("1" + String(repeating: "0", count: 400), .numberOutOfRange, at: 0)
    }

    func testRejectsBadLiterals() {
        assertRejects("tru", .unexpectedEnd, at: 3)
        assertRejects("nul", .unexpectedEnd, at: 3)
        assertRejects("True", .unexpectedCharacter, at: 0)
        assertRejects("tRue", .unexpectedCharacter, at: 1)
        assertRejects("fals e", .unexpectedCharacter, at: 4)
        assertRejects("nil", .unexpectedCharacter, at: 1)
        assertRejects("undefined", .unexpectedCharacter, at: 0)
    }

    func testRejectsControlCharactersInStrings() {
        for byte in UInt8(0)..<0x20 {
            assertRejects([0x22, 0x61, byte, 0x22], .controlCharacterInString, at: 2)
            assertRejects([0x22, 0x5C, 0x6E, byte, 0x22], .controlCharacterInString, at: 3)
        }
        XCTAssertEqual(value("\"\u{7F}\""), "\u{7F}", "DEL is not a control character to JSON")
    }

    func testRejectsBadEscapes() {
        assertRejects(#""\x41""#, .invalidEscape, at: 2)
        assertRejects(#""\a""#, .invalidEscape, at: 2)
        assertRejects(#""\'""#, .invalidEscape, at: 2)
        assertRejects(#""\U0041""#, .invalidEscape, at: 2)
        assertRejects(#""\u12""#, .invalidEscape, at: 5)
        assertRejects(#""\u12G4""#, .invalidEscape, at: 5)
        assertRejects(#""\u-123""#, .invalidEscape, at: 3)
        assertRejects(#""\"#, .unexpectedEnd, at: 2)
        assertRejects(#""\u00"#, .unexpectedEnd, at: 5)
        assertRejects([0x22, 0x5C, 0xC3, 0xA9, 0x22], .invalidEscape, at: 2)
    }

    /// Python's json accepts every one of these; we do not (see JSONError.Kind.loneSurrogate).
    func testRejectsLoneSurrogates() {
        assertRejects(#""\ud800""#, .loneSurrogate, at: 1)
        assertRejects(#""\uDBFF""#, .loneSurrogate, at: 1)
        assertRejects(#""\udc00""#, .loneSurrogate, at: 1)
        assertRejects(#""ab\uDFFF""#, .loneSurrogate, at: 3)
        assertRejects(#""\ud800x""#, .loneSurrogate, at: 1)
        assertRejects(#""\ud800\u0041""#, .loneSurrogate, at: 1)
        assertRejects(#""\ud800\ud800""#, .loneSurrogate, at: 1)
        assertRejects(#""\ud800\n""#, .loneSurrogate, at: 1)
        assertRejects(#""\ude00\ud83d""#, .loneSurrogate, at: 1)
        assertRejects(#""\ud83d\uZZZZ""#, .invalidEscape, at: 9)
        assertRejects(#""\ud83d"#, .loneSurrogate, at: 1)
    }

    func testRejectsInvalidUTF8() {
        assertRejects([0x22, 0xFF, 0x22], .invalidUTF8, at: 1)
        assertRejects([0x22, 0x80, 0x22], .invalidUTF8, at: 1)
        assertRejects([0x22, 0x61, 0xC3, 0x22], .invalidUTF8, at: 3)  // truncated before the quote
        assertRejects([0x22, 0xC0, 0xAF, 0x22], .invalidUTF8, at: 1)  // overlong "/"
        assertRejects([0x22, 0xE0, 0x80, 0xAF, 0x22], .invalidUTF8, at: 2)  // overlong
        assertRejects([0x22, 0xED, 0xA0, 0x80, 0x22], .invalidUTF8, at: 2)  // encoded surrogate
        assertRejects([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], .invalidUTF8, at: 2)  // above U+10FFFF
        assertRejects([0x22, 0xF5, 0x80, 0x80, 0x80, 0x22], .invalidUTF8, at: 1)
        assertRejects([0x22, 0x5C, 0x6E, 0xFF, 0x22], .invalidUTF8, at: 3)  // after an escape
        assertRejects([0x22, 0xC3, 0x5C, 0x6E, 0x22], .invalidUTF8, at: 2)  // cut by an escape
        let long = Array(repeating: UInt8(ascii: "a"), count: 37)
        assertRejects([0x22] + long + [0xC3, 0x28] + long + [0x22], .invalidUTF8, at: 39)
        assertRejects([0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D], .invalidUTF8, at: 2)  // in a key
    }

    func testRejectsNonJSONBytesOutsideStrings() {
        assertRejects([0xEF, 0xBB, 0xBF, 0x31], .unexpectedCharacter, at: 0)  // byte-order mark
        assertRejects("\u{0C}1", .unexpectedCharacter, at: 0)  // form feed is not JSON whitespace
        assertRejects("\u{A0}1", .unexpectedCharacter, at: 0)  // nor is NBSP
        assertRejects("[1]\u{0B}", .trailingData, at: 3)
        assertRejects("/*c*/1", .unexpectedCharacter, at: 0)
        assertRejects("[1]//c", .trailingData, at: 3)
        assertRejects([0x5B, 0x00, 0x5D], .unexpectedCharacter, at: 1)
    }

    func testRejectsTruncatedInput() {
        assertRejects("", .unexpectedEnd, at: 0)
        assertRejects("   ", .unexpectedEnd, at: 3)
        assertRejects("[", .unexpectedEnd, at: 1)
        assertRejects("[1", .unexpectedEnd, at: 2)
        assertRejects("[1,", .unexpectedEnd, at: 3)
        assertRejects("{", .unexpectedEnd, at: 1)
        assertRejects(#"{"a""#, .unexpectedEnd, at: 4)
        assertRejects(#"{"a":"#, .unexpectedEnd, at: 5)
        assertRejects(#"{"a":1"#, .unexpectedEnd, at: 6)
        assertRejects(#""abc"#, .unexpectedEnd, at: 4)
        assertRejects(#""abcdefghijklmnop\"#, .unexpectedEnd, at: 18)
    }

    func testRejectsTrailingData() {
        assertRejects("1 2", .trailingData, at: 2)
        assertRejects("[] []", .trailingData, at: 3)
        assertRejects("{}x", .trailingData, at: 2)
        assertRejects(#""a""b""#, .trailingData, at: 3)
        assertRejects("trueX", .trailingData, at: 4)
        assertRejects("1\u{0}", .trailingData, at: 1)
        assertRejects("null,", .trailingData, at: 4)
    }

    func testNestingLimit() {
        let limit = JSONValue.defaultMaxDepth
        XCTAssertEqual(limit, 128)
        let atLimit = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        XCTAssertNotNil(value(atLimit))
        let beyond = "[" + atLimit + "]"
        assertRejects(beyond, .tooDeep, at: limit)
        var objects = ""
        for _ in 0..<(limit + 1) { objects += #"{"a":"# }
        objects += "1" + String(repeating: "}", count: limit + 1)
        assertRejects(objects, .tooDeep, at: limit * 5)
        // Mixed, and the parameter.
        XCTAssertEqual(error(Array("[[[]]]".utf8), maxDepth: 2)?.kind, .tooDeep)
        XCTAssertEqual(error(Array("[[[]]]".utf8), maxDepth: 2)?.offset, 2)
        XCTAssertNotNil(try? parse(Array("[[[]]]".utf8), maxDepth: 3).get())
        XCTAssertEqual(error(Array("[]".utf8), maxDepth: 0)?.kind, .tooDeep)
        XCTAssertEqual(try? parse(Array("7".utf8), maxDepth: 0).get(), 7)
        // Depth is nesting, not the count of containers: siblings do not add up.
        let wide = "[" + Array(repeating: "[[]]", count: 1000).joined(separator: ",") + "]"
        XCTAssertNotNil(try? parse(Array(wide.utf8), maxDepth: 3).get())
        // A hostile document far beyond the limit fails fast instead of exhausting the stack.
        assertRejects(String(repeating: "[", count: 1_000_000), .tooDeep, at: limit)
        assertRejects(String(repeating: #"{"":"#, count: 1_000_000), .tooDeep, at: limit * 4)
    }

    func testErrorDescriptionNamesOffsetAndExpectation() {
        let described = error(Array("[1 2]".utf8))?.description ?? ""
        XCTAssertTrue(described.contains("byte 3"), described)
        XCTAssertTrue(described.contains("',' or ']'"), described)
    }
}
