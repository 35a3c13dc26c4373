import Foundation
import ReactorTestSupport
import XCTest
@testable import Protocols

final class Base64Tests: XCTestCase {
    private func encode(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { Base64.encode($0) }
    }

    private func encode(_ text: String) -> String { encode(Array(text.utf8)) }

    private func decodedLength(_ text: String) -> Int? {
        Array(text.utf8).withUnsafeBytes { Base64.decodedLength($0) }
    }

    /// RFC 4648, section 10.
    private static let vectors: [(String, String)] = [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
    ]

    func testRFC4648Vectors() {
        for (plain, encoded) in Self.vectors {
            XCTAssertEqual(encode(plain), encoded)
            XCTAssertEqual(Base64.decode(encoded), Array(plain.utf8), encoded)
            XCTAssertEqual(decodedLength(encoded), plain.utf8.count, encoded)
            XCTAssertEqual(Base64.encodedLength(plain.utf8.count), encoded.utf8.count)
        }
    }

    func testWholeAlphabet() {
        // 0x00, 0x10, 0x83, ... : the 48 bytes whose encoding is the alphabet in order.
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        let bytes = Base64.decode(alphabet)
        XCTAssertEqual(bytes?.count, 48)
        XCTAssertEqual(bytes.map(encode), alphabet)
        XCTAssertEqual(bytes.map { Data($0) }, Data(base64Encoded: alphabet))
    }

    func testRejectsMalformedText() {
        let bad = [
            "Z", "Zg", "Zg=", "Zm9vY", "Zm9vYg", "Zm9vYg=",  // length not a multiple of 4, or padding missing
            "Zg==Zg==", "Z=g=", "=Zg=", "Zm=v", "====", "Zg===", "A===", "AA=A",  // `=` where padding cannot be
            "Zm9v\n", "Zm9 v", " Zm9v", "Zm9v ", "Zm9v\r\nYg==",  // whitespace is not skipped
            "Zm-v", "Zm_v", "Zm9*", "Zm9\u{0}", "Zm9é",  // outside the standard alphabet
            "Zh==", "Zm9=", "QR==", "AB==", "AAB=",  // non-zero bits below the last byte (not canonical)
        ]
        for text in bad {
            XCTAssertNil(Base64.decode(text), text.debugDescription)
            XCTAssertNil(decodedLength(text), text.debugDescription)
            XCTAssertFalse(Array(text.utf8).withUnsafeBytes { Base64.isValid($0) }, text.debugDescription)
        }
        XCTAssertEqual(Base64.decode("Zg=="), [0x66])
        XCTAssertEqual(Base64.decode("AA=="), [0])
        XCTAssertEqual(Base64.decode("AAA="), [0, 0])
    }

    /// A bad character in any position of any quad is caught, not only in the first or last.
    func testBadCharacterInEveryPosition() {
        let good = Array("Zm9vYmFyYmF6cXV4".utf8)
        for i in good.indices {
            for c in ["=", "-", "\n", "\u{80}", "@", "["].map({ $0.utf8.first! }) {
                var text = good
                text[i] = c
                XCTAssertNil(text.withUnsafeBytes { Base64.decode($0) }, "byte \(c) at \(i)")
            }
        }
    }

    /// What the handshake asks of Sec-WebSocket-Key (RFC 6455 4.2.1): base64 of exactly 16 bytes.
    func testWebSocketKeyLength() {
        XCTAssertEqual(decodedLength("dGhlIHNhbXBsZSBub25jZQ=="), 16)
        XCTAssertEqual(decodedLength("dGhlIHNhbXBsZSBub25jZQ"), nil)
        XCTAssertEqual(decodedLength("dGhlIHNhbXBsZSBub25jZR=="), nil)  // right length, not canonical
        XCTAssertEqual(decodedLength("dGhlIHNhbXBsZSBub25jZXM="), 17)
        XCTAssertEqual(decodedLength("dGhlIHNhbXBsZSBub25j"), 15)
        XCTAssertEqual(decodedLength(""), 0)
    }

    func testEncodeIntoBuffer() {
        var out = [UInt8](repeating: 0xEE, count: 9)
        out.withUnsafeMutableBytes { o in
            Array("fooba".utf8).withUnsafeBytes { input in
                XCTAssertNil(Base64.encode(input, into: UnsafeMutableRawBufferPointer(rebasing: o[0..<7])))
                XCTAssertEqual(Base64.encode(input, into: o), 8)
            }
        }
        XCTAssertEqual(String(decoding: out.prefix(8), as: UTF8.self), "Zm9vYmE=")
        XCTAssertEqual(out[8], 0xEE)
        XCTAssertEqual(Base64.encode(UnsafeRawBufferPointer(start: nil, count: 0), into: UnsafeMutableRawBufferPointer(start: nil, count: 0)), 0)
        XCTAssertEqual(Base64.encode(UnsafeRawBufferPointer(start: nil, count: 0)), "")
    }

    func testDecodeIntoBuffer() {
        var out = [UInt8](repeating: 0xEE, count: 6)
        out.withUnsafeMutableBytes { o in
            Array("Zm9vYmE=".utf8).withUnsafeBytes { text in
                XCTAssertNil(Base64.decode(text, into: UnsafeMutableRawBufferPointer(rebasing: o[0..<4])))
                XCTAssertEqual(Base64.decode(text, into: UnsafeMutableRawBufferPointer(rebasing: o[0..<5])), 5)
            }
            Array("Zm9vYm!=".utf8).withUnsafeBytes { text in
                XCTAssertNil(Base64.decode(text, into: o))
            }
        }
        XCTAssertEqual(Array(out.prefix(5)), Array("fooba".utf8))
        XCTAssertEqual(Base64.decode("xxZm9vxx".dropFirst(2).dropLast(2)), Array("foo".utf8))  // a Substring
    }

    /// Random bytes of every length up to 200 round-trip, and agree with Foundation both ways.
    func testRoundTripAgainstFoundation() {
        var rng = SplitMix64(seed: 0xB64)
        for length in 0..<200 {
            for _ in 0..<20 {
                let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let text = encode(bytes)
                XCTAssertEqual(text, Data(bytes).base64EncodedString())
                XCTAssertEqual(Base64.decode(text), bytes)
                XCTAssertEqual(Data(base64Encoded: text).map { Array($0) }, bytes)
                XCTAssertEqual(decodedLength(text), length)
            }
        }
    }

    /// Random near-base64 strings: we accept exactly what Foundation accepts *and* would
    /// re-encode to the same text (Foundation is lenient about the bits below the last byte
    /// and takes "====" as one zero byte; strict decoding wants the canonical form only).
    func testRandomTextAgainstFoundation() {
        var rng = SplitMix64(seed: 4648)
        let characters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        let noise = Array("=== -_\n*".utf8)
        var accepted = 0
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...4, using: &rng) * 4 + (Int.random(in: 0..<8, using: &rng) == 0 ? 1 : 0)
            var text = (0..<length).map { _ in characters.randomElement(using: &rng)! }
            // Usually pad like a real encoder, sometimes drop in a stray character anywhere.
            if length >= 4 {
                for k in 0..<Int.random(in: 0...2, using: &rng) { text[length - 1 - k] = 0x3D }
            }
            if length > 0 && Int.random(in: 0..<4, using: &rng) == 0 {
                text[Int.random(in: 0..<length, using: &rng)] = noise.randomElement(using: &rng)!
            }
            let string = String(decoding: text, as: UTF8.self)
            let oracle = Data(base64Encoded: string).flatMap { $0.base64EncodedString() == string ? Array($0) : nil }
            XCTAssertEqual(Base64.decode(string), oracle, string.debugDescription)
            XCTAssertEqual(text.withUnsafeBytes { Base64.decodedLength($0) }, oracle?.count, string.debugDescription)
            if oracle != nil { accepted += 1 }
        }
        XCTAssertGreaterThan(accepted, 2_000)  // the generator must exercise both outcomes
    }
}
