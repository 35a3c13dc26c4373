import XCTest
@testable import Protocols

final class SHA1Tests: XCTestCase {
    private func hex(_ bytes: some StringProtocol) -> String {
        var hasher = SHA1.Hasher()
        hasher.update(bytes)
        return hasher.finalize().description
    }

    private func hex(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { SHA1.digest($0).description }
    }

    /// A byte pattern with no period of 64, so block boundaries are visible in the digest.
    private func pattern(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
    }

    // FIPS 180 examples (the NIST "SHA1.pdf" example vectors) and the empty message.
    func testFIPSVectors() {
        XCTAssertEqual(hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        XCTAssertEqual(hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d")
        XCTAssertEqual(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                       "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        XCTAssertEqual(hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
                       "a49b2446a02c645bf419f995b67091253a04a259")
    }

    func testOneMillionA() {
        let expected = "34aa973cd4c4daa4f61eeb2bdbad27316534016f"
        XCTAssertEqual(hex([UInt8](repeating: 0x61, count: 1_000_000)), expected)
        // The same message in uneven pieces, so most updates start and end mid-block.
        let piece = [UInt8](repeating: 0x61, count: 997)
        var hasher = SHA1.Hasher()
        var left = 1_000_000
        piece.withUnsafeBytes { p in
            while left > 0 {
                let n = min(left, p.count)
                hasher.update(UnsafeRawBufferPointer(rebasing: p[0..<n]))
                left -= n
            }
        }
        XCTAssertEqual(hasher.finalize().description, expected)
    }

    /// Lengths either side of the padding boundaries (55/56: the length field still fits or not;
    /// 63/64/65: block edges), checked against Python's hashlib.
    func testPaddingBoundaries() {
        let expected: [Int: String] = [
            55: "ddf57317ef34bfee3b6df83d359098930eb278bc", 56: "a0d492bb0fc889d0eca3bc137066ab6f4f74f369",
            63: "c55856749bef509bdfe6bfebfc7bf4e793e82132", 64: "bede92be29c3874e1b54ddc77988d606fc857a8e",
            65: "b05a80522b053d6dc7e0a517d0e70212c7dad11f", 119: "504e27376a6e0f0dba8295b85cb25dc4dfa17d23",
            120: "82134b02fb3f702491be9bed581eeab59334acb2", 128: "a09133e6730ffe899efb70204cb5646cd5dc24ee",
        ]
        for (count, digest) in expected {
            XCTAssertEqual(hex(pattern(count)), digest, "length \(count)")
        }
        // Every length 0..<300 at once: hashlib.sha1(b"".join(sha1(pattern(n)).digest() for n in range(300))).
        var chain: [UInt8] = []
        for count in 0..<300 {
            chain += pattern(count).withUnsafeBytes { SHA1.hash($0) }
        }
        XCTAssertEqual(hex(chain), "ca9349a03c700fe25e6c2cde997aa96ac2227d8a")
    }

    /// Splitting the message anywhere, into two or three updates, never changes the digest.
    func testEverySplitMatchesOneShot() {
        for count in [0, 1, 55, 56, 63, 64, 65, 127, 128, 129, 200] {
            let message = pattern(count)
            let whole = message.withUnsafeBytes { SHA1.digest($0) }
            message.withUnsafeBytes { m in
                for i in 0...count {
                    for j in stride(from: i, through: count, by: max(1, count / 13)) {
                        var hasher = SHA1.Hasher()
                        hasher.update(UnsafeRawBufferPointer(rebasing: m[0..<i]))
                        hasher.update(UnsafeRawBufferPointer(rebasing: m[i..<j]))
                        hasher.update(UnsafeRawBufferPointer(rebasing: m[j..<count]))
                        XCTAssertEqual(hasher.finalize(), whole, "length \(count) split at \(i), \(j)")
                    }
                }
            }
        }
    }

    /// RFC 6455 1.3 and 4.2.2: the accept value for the example key, hashing key and GUID in
    /// two updates as the handshake does, then base64 without allocating.
    func testWebSocketAcceptExample() {
        var hasher = SHA1.Hasher()
        hasher.update("dGhlIHNhbXBsZSBub25jZQ==")
        hasher.update("258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
        let digest = hasher.finalize()
        XCTAssertEqual(digest.description, "b37a4f2cc0624f1690f64606cf385945b2bec4ea")
        var out = [UInt8](repeating: 0, count: 28)
        let written = out.withUnsafeMutableBytes { o in digest.withUnsafeBytes { Base64.encode($0, into: o) } }
        XCTAssertEqual(written, 28)
        XCTAssertEqual(String(decoding: out, as: UTF8.self), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        XCTAssertEqual(digest.bytes.withUnsafeBytes { Base64.encode($0) }, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    func testFinalizeLeavesHasherUsable() {
        var hasher = SHA1.Hasher()
        hasher.update("ab")
        XCTAssertEqual(hasher.finalize().description, hex("ab"))
        hasher.update("c")
        XCTAssertEqual(hasher.finalize().description, "a9993e364706816aba3e25717850c26c9cd0d89d")
        // A substring takes the same path as a String.
        hasher = SHA1.Hasher()
        hasher.update("xxabcxx".dropFirst(2).dropLast(2))
        XCTAssertEqual(hasher.finalize().description, "a9993e364706816aba3e25717850c26c9cd0d89d")
    }

    func testDigestAccessors() {
        let digest = Array("abc".utf8).withUnsafeBytes { SHA1.digest($0) }
        XCTAssertEqual(digest.bytes.count, SHA1.digestByteCount)
        XCTAssertEqual(Array("abc".utf8).withUnsafeBytes { SHA1.hash($0) }, digest.bytes)
        XCTAssertEqual(digest.bytes.prefix(3), [0xA9, 0x99, 0x3E])
        var buffer = [UInt8](repeating: 0xEE, count: 21)
        buffer.withUnsafeMutableBytes { b in
            XCTAssertNil(digest.copyBytes(to: UnsafeMutableRawBufferPointer(rebasing: b[0..<19])))
            XCTAssertEqual(digest.copyBytes(to: b), 20)
        }
        XCTAssertEqual(Array(buffer.prefix(20)), digest.bytes)
        XCTAssertEqual(buffer[20], 0xEE)
        XCTAssertNotEqual(digest, Array("abd".utf8).withUnsafeBytes { SHA1.digest($0) })
    }
}
