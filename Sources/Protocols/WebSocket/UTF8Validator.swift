/// Incremental UTF-8 validation for WebSocket text messages and close reasons (RFC 6455 8.1).
///
/// A text message reaches us in frames, and each frame in reads, split at any byte; a
/// character may straddle two reads. The validator keeps the few bits of a sequence in
/// progress between calls, so each byte is looked at once, where it lies, and nothing is copied.
///
/// It fails fast: `validate` returns false for the call containing the first byte that no
/// valid UTF-8 text can continue with, not at the end of the character or the message.
/// RFC 6455 says an endpoint *should* fail the connection as soon as it sees invalid data, and
/// Autobahn's cases 6.x check that it does. So `F4 90` (above U+10FFFF), `ED A0` (a surrogate)
/// and `E0 80` (overlong) all fail at their second byte, and `C0`, `C1`, `F5`...`FF` at once.
///
/// How: the lead byte fixes how many continuation bytes follow and the range the *first* of
/// them must fall in (Unicode 15, Table 3-7, "Well-Formed UTF-8 Byte Sequences"); every later
/// continuation byte is 80...BF. That is a DFA whose state is three bytes (bytes still
/// expected, and the low and high bound of the next one), stepped with compares instead of
/// tables, so there is no global table to initialise or keep in cache. Runs of ASCII, the
/// common case in JSON and chat text, are skipped eight bytes at a time.
///
///     lead byte        continuation bytes   first continuation
///     00...7F          0
///     C2...DF          1                    80...BF
///     E0               2                    A0...BF   (no overlongs)
///     E1...EC, EE, EF  2                    80...BF
///     ED               2                    80...9F   (no surrogates D800...DFFF)
///     F0               3                    90...BF   (no overlongs)
///     F1...F3          3                    80...BF
///     F4               3                    80...8F   (nothing above 10FFFF)
///     80...C1, F5...FF invalid
public struct UTF8Validator: Sendable {
    /// Continuation bytes still expected by the sequence in progress; 0 between characters.
    private var expected: UInt8 = 0
    /// Inclusive bounds for the next continuation byte (meaningful while `expected > 0`).
    private var low: UInt8 = 0x80
    private var high: UInt8 = 0xBF
    /// Set by the first invalid byte; sticky until `reset()`, so a caller that keeps feeding
    /// a failed message keeps hearing false.
    private var failed = false

    /// A validator at the start of a message.
    public init() {}

    /// True when the bytes so far are valid and do not end inside a character: the message
    /// may end here. False after a failure, and in the middle of a multi-byte sequence.
    public var isComplete: Bool { expected == 0 && !failed }

    /// True once `validate` has returned false (until `reset()`).
    public var hasFailed: Bool { failed }

    /// Forgets everything; ready for a new message.
    public mutating func reset() {
        self = UTF8Validator()
    }

    /// Validates the next `bytes` of the message. Returns false as soon as the stream so far
    /// cannot be the start of valid UTF-8, and from then on. A true result with `isComplete`
    /// false means a character is still open: more bytes must follow before the message ends.
    public mutating func validate(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !failed else { return false }
        guard let base = bytes.baseAddress else { return true }
        let n = bytes.count
        // Work on locals so the loop keeps them in registers, and store once at the end.
        var expected = self.expected
        var low = self.low
        var high = self.high
        var i = 0
        while i < n {
            if expected == 0 {
                // Between characters: skip ASCII eight bytes at a time (no byte has its top bit).
                while n - i >= 8,
                    base.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0
                {
                    i += 8
                }
                guard i < n else { break }
                let lead = base.load(fromByteOffset: i, as: UInt8.self)
                i += 1
                switch lead {
                case 0x00...0x7F: continue
                case 0xC2...0xDF: (expected, low, high) = (1, 0x80, 0xBF)
                case 0xE0: (expected, low, high) = (2, 0xA0, 0xBF)
                case 0xE1...0xEC, 0xEE...0xEF: (expected, low, high) = (2, 0x80, 0xBF)
                case 0xED: (expected, low, high) = (2, 0x80, 0x9F)
                case 0xF0: (expected, low, high) = (3, 0x90, 0xBF)
                case 0xF1...0xF3: (expected, low, high) = (3, 0x80, 0xBF)
                case 0xF4: (expected, low, high) = (3, 0x80, 0x8F)
                default:  // 80...BF (continuation without a lead), C0, C1 (always overlong), F5...FF
                    failed = true
                    return false
                }
            } else {
                let byte = base.load(fromByteOffset: i, as: UInt8.self)
                i += 1
                guard byte >= low && byte <= high else {
                    failed = true
                    return false
                }
                expected -= 1
                (low, high) = (0x80, 0xBF)
            }
        }
        self.expected = expected
        self.low = low
        self.high = high
        return true
    }

    /// Whether `bytes` is, on its own, a complete valid UTF-8 text (a close reason, a whole
    /// unfragmented message).
    public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var validator = UTF8Validator()
        return validator.validate(bytes) && validator.isComplete
    }
}
