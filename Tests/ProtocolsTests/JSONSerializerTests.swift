import ReactorTestSupport
import XCTest
@testable import Protocols

final class JSONSerializerTests: XCTestCase {
    private func escaped(_ string: String) -> String {
        var out: [UInt8] = []
        JSONValue.writeEscapedString(string, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    func testCompactOutputInStoredOrder() {
        let value: JSONValue = ["z": 1, "a": [true, false, nil, [], [:]], "m": ["y": "x", "b": -2]]
        XCTAssertEqual(value.serialized(), #"{"z":1,"a":[true,false,null,[],{}],"m":{"y":"x","b":-2}}"#)
        XCTAssertEqual(value.serializedBytes(), Array(value.serialized().utf8))
    }

    func testWriteAppends() {
        var out = Array("42".utf8)
        JSONValue.array([1, "a"]).write(into: &out)
        XCTAssertEqual(String(decoding: out, as: UTF8.self), #"42[1,"a"]"#)
    }

    func testEscapesExactlyWhatPythonEscapes() {
        XCTAssertEqual(escaped(""), #""""#)
        XCTAssertEqual(escaped("plain"), #""plain""#)
        XCTAssertEqual(escaped("\"\\"), #""\"\\""#)
        XCTAssertEqual(escaped("/"), #""/""#, "the solidus is not escaped")
        XCTAssertEqual(escaped("\u{8}\u{C}\n\r\t"), #""\b\f\n\r\t""#)
        XCTAssertEqual(escaped("\u{0}\u{1}\u{1F}\u{B}\u{1B}"), #""\u0000\u0001\u001f\u000b\u001b""#)
        XCTAssertEqual(escaped("\u{7F}é中😀\u{2028}\u{2029}\u{FEFF}\u{10FFFF}"), "\"\u{7F}é中😀\u{2028}\u{2029}\u{FEFF}\u{10FFFF}\"")
        // Every control character has its own spelling.
        let names: [UInt8: String] = [0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"]
        let hex = Array("0123456789abcdef")
        for byte in UInt8(0)..<0x20 {
            let expected = names[byte] ?? "\\u00\(hex[Int(byte >> 4)])\(hex[Int(byte & 0xF)])"
            XCTAssertEqual(escaped(String(UnicodeScalar(byte))), "\"\(expected)\"")
        }
        for byte in UInt8(0x20)..<0x80 where byte != 0x22 && byte != 0x5C {
            XCTAssertEqual(escaped(String(UnicodeScalar(byte))), "\"\(String(UnicodeScalar(byte)))\"")
        }
    }

    /// Specials at every position relative to the eight-byte scan, among ASCII and non-ASCII.
    func testEscapingAtEveryAlignment() {
        for length in 0..<24 {
            for position in 0...length {
                for special in ["\"", "\\", "\n", "\u{1}", "\u{1F}"] {
                    let before = String(repeating: "a", count: position)
                    let after = String(repeating: "é", count: length - position)
                    let text = before + special + after
                    let out = escaped(text)
                    XCTAssertEqual(try JSONValue.parse(out), .string(text))
                    let expectedSpecial = [
                        "\"": "\\\"", "\\": "\\\\", "\n": "\\n", "\u{1}": "\\u0001", "\u{1F}": "\\u001f",
                    ][special]!
                    XCTAssertEqual(out, "\"" + before + expectedSpecial + after + "\"")
                }
            }
        }
    }

    /// Around the length where the serializer switches from one pass to measuring first.
    func testLongStringsAroundTheOnePassLimit() throws {
        for length in 100..<160 {
            for special in ["", "\"", "\u{0}", "\n"] {
                let text = String(repeating: "ab", count: length / 2) + special + String(repeating: "é", count: length % 7)
                let value = JSONValue.array([.string(text)])
                var viaArray: [UInt8] = []
                JSONValue.writeEscapedString(text, into: &viaArray)
                XCTAssertEqual(value.serialized(), "[" + String(decoding: viaArray, as: UTF8.self) + "]")
                XCTAssertEqual(try JSONValue.parse(value.serialized()), value)
            }
        }
    }

    func testEscapedStringAppendsAfterExistingBytes() {
        var out = Array("prefix".utf8)
        JSONValue.writeEscapedString("a\nb", into: &out)
        JSONValue.writeEscapedString("", into: &out)
        XCTAssertEqual(String(decoding: out, as: UTF8.self), #"prefix"a\nb""""#)
    }

    func testEscapedStringFromBytes() {
        var out: [UInt8] = []
        Array("a\"b\té".utf8).withUnsafeBytes { JSONValue.writeEscapedString(utf8: $0, into: &out) }
        XCTAssertEqual(String(decoding: out, as: UTF8.self), #""a\"b\té""#)
        out.removeAll()
        JSONValue.writeEscapedString(utf8: UnsafeRawBufferPointer(start: nil, count: 0), into: &out)
        XCTAssertEqual(out, Array(#""""#.utf8))
    }

    /// The polling endpoint's use: framing by hand around an escaped string.
    func testHandBuiltEnvelope() throws {
        var out = Array(#"{"id":"#.utf8)
        JSONValue.writeInteger(7, into: &out)
        out += Array(#","data":"#.utf8)
        JSONValue.writeEscapedString("4\"hello\"\n", into: &out)
        out.append(UInt8(ascii: "}"))
        XCTAssertEqual(String(decoding: out, as: UTF8.self), #"{"id":7,"data":"4\"hello\"\n"}"#)
        XCTAssertEqual(try JSONValue.parse(out), ["id": 7, "data": "4\"hello\"\n"])
    }

    func testIntegers() {
        let cases: [(Int64, String)] = [
            (0, "0"), (7, "7"), (-7, "-7"), (10, "10"), (-10, "-10"), (1234567890, "1234567890"),
            (9_007_199_254_740_993, "9007199254740993"), (.max, "9223372036854775807"),
            (.min, "-9223372036854775808"),
        ]
        for (value, text) in cases { XCTAssertEqual(JSONValue.int(value).serialized(), text) }
        var rng = SplitMix64(seed: 3)
        for _ in 0..<5_000 {
            let value = Int64(bitPattern: rng.next()) >> (rng.next() % 64)
            XCTAssertEqual(JSONValue.int(value).serialized(), String(value))
        }
    }

    /// Shortest round-trip text, in Python's repr format.
    func testDoubles() {
        let cases: [(Double, String)] = [
            (5, "5.0"), (1.5, "1.5"), (0.1, "0.1"), (-0.0, "-0.0"), (0, "0.0"), (100, "100.0"),
            (1e100, "1e+100"), (1e16, "1e+16"), (1e15, "1000000000000000.0"), (1e-4, "0.0001"),
            (1e-5, "1e-05"), (2.5e-7, "2.5e-07"), (.leastNonzeroMagnitude, "5e-324"),
            (.greatestFiniteMagnitude, "1.7976931348623157e+308"), (0.1 + 0.2, "0.30000000000000004"),
            (12_345_678_901_234_568, "1.2345678901234568e+16"),
        ]
        for (value, text) in cases {
            XCTAssertEqual(JSONValue.double(value).serialized(), text)
            XCTAssertEqual(try JSONValue.parse(text), .double(value), text)
        }
    }

    func testNonFiniteDoublesBecomeNull() {
        XCTAssertEqual(JSONValue.double(.nan).serialized(), "null")
        XCTAssertEqual(JSONValue.double(.infinity).serialized(), "null")
        XCTAssertEqual(JSONValue.array([.double(-.infinity), 1]).serialized(), "[null,1]")
    }

    func testRandomRoundTrips() throws {
        var rng = SplitMix64(seed: 11)
        for _ in 0..<3_000 {
            let value = JSONRandom.value(&rng)
            let text = value.serialized()
            let parsed = try JSONValue.parse(text)
            XCTAssertEqual(parsed, value, text)
            XCTAssertEqual(parsed.serialized(), text)
        }
    }
}
