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
