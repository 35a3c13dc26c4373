/// Lowercase hexadecimal digits, for every encoder that writes them: chunk sizes (HTTP/1.1),
/// `\u00XX` escapes (JSON), SHA-1 digests (the Redis script cache), random tokens.
///
/// The digits come from a `StaticString`, a table in the binary's read-only data: a call costs
/// a load, never an allocation, so it may sit on a hot path.
package enum Hex {
    /// The digit of the low four bits of `nibble` (the high four are ignored).
    @inlinable @inline(__always)
    package static func digit(_ nibble: UInt8) -> UInt8 {
        let digits: StaticString = "0123456789abcdef"
        return digits.utf8Start[Int(nibble & 0xF)]
    }

    /// Two digits per byte, high nibble first, as `sha1sum` prints a digest.
    package static func string(_ bytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            for (i, b) in bytes.enumerated() {
                out[2 * i] = digit(b >> 4)
                out[2 * i + 1] = digit(b)
            }
            return bytes.count * 2
        }
    }
}
