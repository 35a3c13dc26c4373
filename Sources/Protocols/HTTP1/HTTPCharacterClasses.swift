// Byte classes of RFC 9110 section 5.6 and RFC 9112, as branch-light tests on a UInt8.
// Bitmaps instead of a [Bool] table: a global array would cost a lazy-initialisation check and a
// bounds check per byte on the hot path; two 64-bit constants cost neither.

// Computed, not stored: a stored global is reached through an addressor with a once-check,
// which measured as a call per byte in the head scan; a computed constant folds away.
var asciiCR: UInt8 { 0x0D }
var asciiLF: UInt8 { 0x0A }
var asciiSP: UInt8 { 0x20 }
var asciiHTAB: UInt8 { 0x09 }
var asciiColon: UInt8 { 0x3A }

/// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
///       / DIGIT / ALPHA  (RFC 9110 5.6.2). Method and header-name bytes.
@inline(__always)
func isTokenByte(_ c: UInt8) -> Bool {
    // Bit n of `low` is byte n (0...63); bit n of `high` is byte 64 + n (64...127).
    let low: UInt64 = 0x03FF_6CFA_0000_0000
    let high: UInt64 = 0x57FF_FFFF_C7FF_FFFE
    if c < 64 { return (low &>> UInt64(c)) & 1 != 0 }
    if c < 128 { return (high &>> UInt64(c &- 64)) & 1 != 0 }
    return false
}

/// field-vchar / SP / HTAB: any byte but the controls and DEL. obs-text (0x80...0xFF) is allowed
/// in values, as RFC 9110 5.5 still permits it, so Latin-1 legacy values pass through untouched.
@inline(__always)
func isFieldValueByte(_ c: UInt8) -> Bool {
    (c >= 0x20 && c != 0x7F) || c == asciiHTAB
}

/// The bytes of `word` that are not in 0x20...0x7E or 0x80...0xFF (field-value bytes other than
/// HTAB): the high bit of each is set, 0 when there is none. The classic "has a byte less than
/// n" and "has a zero byte" bit tricks, exact for n <= 128, let the value scan move a word at a
/// time; the lowest set bit is exact too (a borrow only crosses from a flagged byte), so
/// `trailingZeroBitCount / 8` is the index of the first such byte.
@inline(__always)
func fieldValueStopMask(_ word: UInt64) -> UInt64 {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let highs: UInt64 = 0x8080_8080_8080_8080
    let hasControl = (word &- ones &* 0x20) & ~word & highs
    let del = word ^ (ones &* 0x7F)
    let hasDEL = (del &- ones) & ~del & highs
    return hasControl | hasDEL
}

/// Whether all eight bytes of `word` are printable ASCII (0x20...0x7E): the bytes the request
/// line scan passes without a second look. Per byte, `b - 0x20` has its high bit set exactly
/// when b < 0x20, `b` itself when b >= 0x80, and `(b ^ 0x7F) - 1` exactly when b == 0x7F, for
/// bytes under 0x80; a borrow crosses into the next byte only from a byte that already fails.
@inline(__always)
func isPrintableASCIIWord(_ word: UInt64) -> Bool {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let highs: UInt64 = 0x8080_8080_8080_8080
    let del = word ^ (ones &* 0x7F)
    return ((word &- ones &* 0x20) | word | (del &- ones)) & highs == 0
}

/// The bytes of `word` where a request target's byte loop has something to do: not a target
/// byte (a space, a control, DEL, non-ASCII), or `?` or `#`. The high bit of each such byte is
/// set, and the lowest set one is exact (a borrow only crosses from a byte that is flagged
/// itself), so `trailingZeroBitCount / 8` is the index of the first; 0 when there is none.
@inline(__always)
func targetStopMask(_ word: UInt64) -> UInt64 {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let highs: UInt64 = 0x8080_8080_8080_8080
    let del = word ^ (ones &* 0x7F)
    let question = word ^ (ones &* 0x3F)
    let hash = word ^ (ones &* 0x23)
    return ((word &- ones &* 0x21) | word | (del &- ones) | (question &- ones) | (hash &- ones)) & highs
}

/// The fast part of a scan: from `p`, a word at a time while whole words remain before `end`,
/// the offset of the first byte `stopMask` flags (the lowest set high bit of its word), or where
/// the whole words end. A byte loop finishes the scan from there.
@inline(__always)
func skipWords(_ base: UnsafeRawPointer, from p: Int, end: Int, stopMask: (UInt64) -> UInt64) -> Int {
    var p = p
    while p + 8 <= end {
        let stops = stopMask(base.loadUnaligned(fromByteOffset: p, as: UInt64.self))
        if stops != 0 { return p + stops.trailingZeroBitCount >> 3 }
        p += 8
    }
    return p
}

/// Bytes of a request target: visible ASCII only. Space ends the target; controls, DEL and
/// non-ASCII must be percent-encoded by the client (RFC 3986), so we reject them raw.
@inline(__always)
func isTargetByte(_ c: UInt8) -> Bool {
    c > 0x20 && c < 0x7F
}

/// ASCII lower-casing of one byte; only A...Z change.
@inline(__always)
func asciiLower(_ c: UInt8) -> UInt8 {
    (c &- 0x41) < 26 ? c | 0x20 : c
}

/// `asciiLower` of each of the eight bytes of `word`. A byte is upper case when its low seven
/// bits are at least `A` and not above `Z` and its high bit is clear; adding 0x3F, and 0x25,
/// to the low seven bits carries into bit 7 exactly at those bounds, never into the next byte.
@inline(__always)
func asciiLowercased(_ word: UInt64) -> UInt64 {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let highs: UInt64 = 0x8080_8080_8080_8080
    let low7 = word & ~highs
    let atLeastA = low7 &+ ones &* (0x80 - 0x41)
    let aboveZ = low7 &+ ones &* (0x80 - 0x5B)
    let upper = atLeastA & ~aboveZ & ~word & highs
    return word | (upper &>> 2)
}

/// The value of a hexadecimal digit, or nil.
@inline(__always)
func hexValue(_ c: UInt8) -> Int? {
    switch c {
    case 0x30...0x39: return Int(c &- 0x30)
    case 0x41...0x46: return Int(c &- 0x41 &+ 10)
    case 0x61...0x66: return Int(c &- 0x61 &+ 10)
    default: return nil
    }
}
