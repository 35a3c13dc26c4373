import XCTest
@testable import Protocols

final class HTTPPercentDecodingTests: XCTestCase {
    private func decode(_ s: String, plus: Bool = false) -> String {
        Array(s.utf8).withUnsafeBytes { PercentDecoding.decode($0, plusAsSpace: plus) }
    }

    func testDecoding() {
        XCTAssertEqual(decode("a%20b"), "a b")
        XCTAssertEqual(decode("a+b"), "a+b")
        XCTAssertEqual(decode("a+b", plus: true), "a b")
        XCTAssertEqual(decode("%2B", plus: true), "+")
        XCTAssertEqual(decode("%e2%82%AC"), "€")
        XCTAssertEqual(decode(""), "")
        XCTAssertEqual(decode("plain"), "plain")
        XCTAssertEqual(decode(String(repeating: "%41", count: 100)), String(repeating: "A", count: 100))
    }

    func testInvalidEscapesAreKeptLiterally() {
        XCTAssertEqual(decode("%"), "%")
        XCTAssertEqual(decode("%4"), "%4")
        XCTAssertEqual(decode("%zz"), "%zz")
        XCTAssertEqual(decode("100%"), "100%")
        XCTAssertEqual(decode("%%41"), "%A")
        XCTAssertEqual(decode("%G1%41"), "%G1A")
    }

    func testInvalidUTF8BecomesReplacementCharacter() {
        XCTAssertEqual(decode("%FF"), "\u{FFFD}")
        XCTAssertEqual(decode("a%C3"), "a\u{FFFD}")
        XCTAssertEqual(decode("%00"), "\u{0}")
    }

    func testDecodedEqualsWithoutAllocating() {
        Array("sp%20ace+x".utf8).withUnsafeBytes { b in
            XCTAssertTrue(PercentDecoding.decodedEquals(b, "sp ace x", plusAsSpace: true))
            XCTAssertFalse(PercentDecoding.decodedEquals(b, "sp ace x", plusAsSpace: false))
            XCTAssertTrue(PercentDecoding.decodedEquals(b, "sp ace+x", plusAsSpace: false))
            XCTAssertFalse(PercentDecoding.decodedEquals(b, "sp ace", plusAsSpace: true))
            XCTAssertFalse(PercentDecoding.decodedEquals(b, "sp ace xy", plusAsSpace: true))
        }
    }
}
