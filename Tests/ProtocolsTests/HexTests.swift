import XCTest
@testable import Protocols

final class HexTests: XCTestCase {
    func testDigitIsTheLowNibbleInLowercase() {
        let all = (0..<16).map { Hex.digit(UInt8($0)) }
        XCTAssertEqual(String(decoding: all, as: UTF8.self), "0123456789abcdef")
        XCTAssertEqual(Hex.digit(0xA7), UInt8(ascii: "7"), "the high nibble is ignored")
    }

    func testStringWritesEveryByteAsTwoDigits() {
        let bytes: [UInt8] = [0x00, 0x0F, 0x10, 0xAB, 0xFF]
        XCTAssertEqual(bytes.withUnsafeBytes { Hex.string($0) }, "000f10abff")
        XCTAssertEqual([UInt8]().withUnsafeBytes { Hex.string($0) }, "")
        // Every byte value against the standard library's radix formatting.
        let every = (0...255).map { UInt8($0) }
        let expected = every.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        XCTAssertEqual(every.withUnsafeBytes { Hex.string($0) }, expected)
    }
}

final class FNV1aTests: XCTestCase {
    // The reference vectors of the FNV authors' test suite (64-bit FNV-1a).
    func testReferenceVectors() {
        XCTAssertEqual(FNV1a.hash("".utf8), 0xcbf2_9ce4_8422_2325)
        XCTAssertEqual(FNV1a.hash("a".utf8), 0xaf63_dc4c_8601_ec8c)
        XCTAssertEqual(FNV1a.hash("foobar".utf8), 0x8594_4171_f739_67e8)
    }

    func testBytesAndStringsOfTheSameBytesAgree() {
        let path = Array("/plaintext".utf8)
        XCTAssertEqual(path.withUnsafeBytes { FNV1a.hash($0) }, FNV1a.hash("/plaintext".utf8))
    }
}
