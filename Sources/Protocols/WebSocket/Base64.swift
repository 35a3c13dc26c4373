/// Base64 with the standard alphabet and padding (RFC 4648, section 4), for the WebSocket
/// handshake (`Sec-WebSocket-Key`, `Sec-WebSocket-Accept`) and Engine.IO's binary-in-text packets.
///
/// Decoding is strict, because a key that is not canonical base64 is a malformed request, not
/// something to repair: the length must be a multiple of 4; `=` may appear only as one or two
/// final padding characters; whitespace, line breaks and the URL-safe `-`/`_` are rejected; and
/// the unused low bits of the last character before padding must be zero (RFC 4648 3.5 allows a
/// decoder to insist), so every accepted text is the one encoding of its bytes. Every decoder
/// returns nil on any of these; none of them throws or traps.
///
/// The alphabet is mapped with arithmetic rather than a lookup table: no global to initialise,
/// and the handful of compares costs less than the memory traffic at these sizes.
public enum Base64 {
    /// Characters needed to encode `byteCount` bytes, padding included: 4 * ceil(n / 3).
    public static func encodedLength(_ byteCount: Int) -> Int {
        precondition(byteCount >= 0)
        return (byteCount + 2) / 3 * 4
    }

    /// `bytes` encoded as a new String. Allocates unless the result fits String's 15-byte inline
    /// form (inputs up to 9 bytes); a 20-byte SHA-1 digest takes 28 characters, so the handshake
    /// encodes with `encode(_:into:)` straight into its response buffer instead.
    public static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        let length = encodedLength(bytes.count)
        guard length > 0 else { return "" }
        return String(unsafeUninitializedCapacity: length) { out in
            encode(bytes, into: UnsafeMutableRawBufferPointer(out))!
        }
    }

    /// Encodes `bytes` as ASCII into the start of `output` without allocating. Returns the
    /// number of bytes written (`encodedLength(bytes.count)`), or nil, writing nothing, when
    /// `output` is too small.
    public static func encode(_ bytes: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        let length = encodedLength(bytes.count)
        guard output.count >= length else { return nil }
        guard let src = bytes.baseAddress, let dst = output.baseAddress else { return 0 }
        let n = bytes.count
        var i = 0
        var o = 0
        while n - i >= 3 {
            let v = UInt32(src.load(fromByteOffset: i, as: UInt8.self)) << 16
                | UInt32(src.load(fromByteOffset: i + 1, as: UInt8.self)) << 8
                | UInt32(src.load(fromByteOffset: i + 2, as: UInt8.self))
            dst.storeBytes(of: character(v >> 18), toByteOffset: o, as: UInt8.self)
            dst.storeBytes(of: character(v >> 12), toByteOffset: o + 1, as: UInt8.self)
            dst.storeBytes(of: character(v >> 6), toByteOffset: o + 2, as: UInt8.self)
            dst.storeBytes(of: character(v), toByteOffset: o + 3, as: UInt8.self)
            i += 3
            o += 4
        }
        if i < n {
            // One or two bytes left: two or three characters, then padding to a full quad.
            let two = n - i == 2
            let v = UInt32(src.load(fromByteOffset: i, as: UInt8.self)) << 16
                | (two ? UInt32(src.load(fromByteOffset: i + 1, as: UInt8.self)) << 8 : 0)
            dst.storeBytes(of: character(v >> 18), toByteOffset: o, as: UInt8.self)
            dst.storeBytes(of: character(v >> 12), toByteOffset: o + 1, as: UInt8.self)
            dst.storeBytes(of: two ? character(v >> 6) : pad, toByteOffset: o + 2, as: UInt8.self)
            dst.storeBytes(of: pad, toByteOffset: o + 3, as: UInt8.self)
            o += 4
        }
        assert(o == length)
        return o
    }

    /// Validates `text` as strict base64 and returns how many bytes it decodes to, or nil when
    /// it is not strict base64. Writes and allocates nothing. The handshake's key check is
    /// `Base64.decodedLength(key) == 16` (RFC 6455 4.2.1, item 5).
    public static func decodedLength(_ text: UnsafeRawBufferPointer) -> Int? {
        decode(text, to: nil)
    }

    /// Whether `text` is strict base64 (see the type's documentation).
    public static func isValid(_ text: UnsafeRawBufferPointer) -> Bool {
        decode(text, to: nil) != nil
    }

    /// Decodes `text` into the start of `output` without allocating. Returns the number of
    /// bytes written, or nil when `text` is not strict base64 or `output` is smaller than the
    /// decoded length (check `decodedLength` first to tell the two apart). On nil, `output`
    /// may hold a partial result.
    public static func decode(_ text: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        guard text.count % 4 == 0, output.count >= text.count / 4 * 3 - padding(text) else { return nil }
        return decode(text, to: output.baseAddress)
    }

    /// Decodes `text` into a new array, or nil when it is not strict base64.
    public static func decode(_ text: UnsafeRawBufferPointer) -> [UInt8]? {
        guard text.count % 4 == 0 else { return nil }
        var valid = true
        let result = [UInt8](unsafeUninitializedCapacity: text.count / 4 * 3) { out, count in
            if let n = decode(text, to: out.baseAddress.map(UnsafeMutableRawPointer.init)) {
                count = n
            } else {
                valid = false
                count = 0
            }
        }
        return valid ? result : nil
    }

    /// Decodes the UTF-8 of `text` into a new array, or nil when it is not strict base64.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        if let result = text.utf8.withContiguousStorageIfAvailable({ decode(UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return Array(text.utf8).withUnsafeBytes { decode($0) }
    }

    // MARK: - Internals

    private static var pad: UInt8 { 0x3D }  // "="

    /// The character for the low six bits of `v`.
    @inline(__always) private static func character(_ v: UInt32) -> UInt8 {
        let alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        return alphabet.utf8Start[Int(v & 63)]
    }

    /// The six-bit value of character `c`, or 0x100 for anything outside the alphabet
    /// (including `=`). Out-of-alphabet is a bit above the six, so a whole quad is checked
    /// with one test of the OR of its four values.
    @inline(__always) private static func value(_ c: UInt8) -> UInt32 {
        switch c {
        case 0x41...0x5A: return UInt32(c &- 0x41)  // A-Z: 0...25
        case 0x61...0x7A: return UInt32(c &- 0x47)  // a-z: 26...51
        case 0x30...0x39: return UInt32(c &+ 4)  // 0-9: 52...61
        case 0x2B: return 62  // +
        case 0x2F: return 63  // /
        default: return 0x100
        }
    }

    /// Number of trailing `=` (0, 1 or 2) of a text whose length is a multiple of 4. Whether
    /// the characters before them are legal is the decoder's business.
    private static func padding(_ text: UnsafeRawBufferPointer) -> Int {
        let n = text.count
        guard n >= 4, text[n - 1] == pad else { return 0 }
        return text[n - 2] == pad ? 2 : 1
    }

    /// The one decoding loop: validates `text` and, when `output` is non-nil, writes the
    /// decoded bytes there (the caller has checked its size). Returns the decoded length.
    private static func decode(_ text: UnsafeRawBufferPointer, to output: UnsafeMutableRawPointer?) -> Int? {
        let n = text.count
        guard n % 4 == 0 else { return nil }
        guard let src = text.baseAddress, n > 0 else { return 0 }
        @inline(__always) func at(_ i: Int) -> UInt32 { value(src.load(fromByteOffset: i, as: UInt8.self)) }

        let padCount = padding(text)
        var i = 0
        var o = 0
        // Every quad but the last is four alphabet characters; a stray `=` fails `value`.
        while i < n - 4 {
            let c0 = at(i), c1 = at(i + 1), c2 = at(i + 2), c3 = at(i + 3)
            guard (c0 | c1 | c2 | c3) < 0x100 else { return nil }
            let v = c0 << 18 | c1 << 12 | c2 << 6 | c3
            output?.storeBytes(of: UInt8(truncatingIfNeeded: v >> 16), toByteOffset: o, as: UInt8.self)
            output?.storeBytes(of: UInt8(truncatingIfNeeded: v >> 8), toByteOffset: o + 1, as: UInt8.self)
            output?.storeBytes(of: UInt8(truncatingIfNeeded: v), toByteOffset: o + 2, as: UInt8.self)
            i += 4
            o += 3
        }
        // The last quad: 4, 3 or 2 alphabet characters for 3, 2 or 1 bytes.
        let c0 = at(i), c1 = at(i + 1)
        let c2 = padCount < 2 ? at(i + 2) : 0
        let c3 = padCount < 1 ? at(i + 3) : 0
        let v = c0 << 18 | c1 << 12 | c2 << 6 | c3
        guard (c0 | c1 | c2 | c3) < 0x100 else { return nil }
        // Canonical form: the bits below the last byte must be zero ("QR==" is rejected).
        guard v & (padCount == 2 ? 0xFFFF : padCount == 1 ? 0xFF : 0) == 0 else { return nil }
        let count = 3 - padCount
        for k in 0..<count {
            output?.storeBytes(of: UInt8(truncatingIfNeeded: v >> (16 - 8 * k)), toByteOffset: o + k, as: UInt8.self)
        }
        return o + count
    }
}
