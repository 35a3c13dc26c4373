/// Compact JSON output, byte for byte what Python writes with
/// `json.dumps(value, separators=(",", ":"), ensure_ascii=False)`:
///
/// - no whitespace; object members in stored order;
/// - strings escape only what RFC 8259 requires: `"` and `\`, and the control characters
///   U+0000...U+001F, as `\b \f \n \r \t` where those exist and `\u00XX` (lowercase hex)
///   otherwise. Everything else, DEL, non-ASCII, U+2028 and U+2029 included, is written as
///   raw UTF-8 (JSON allows it; a JavaScript consumer reads it with `JSON.parse`, never `eval`);
/// - `int` in decimal; `double` in the shortest text that reads back to the same `Double`
///   (Swift's `description`, whose format is Python's `repr`: `5.0`, `0.1`, `1e-05`,
///   `1e+100`, `1.2345678901234568e+16`, all valid JSON);
/// - a NaN or infinite `double` as `null` (JSON has no spelling for them; JavaScript's
///   `JSON.stringify` does the same, where Python would write the invalid `NaN`).
extension JSONValue {
    /// The compact JSON text.
    public func serialized() -> String {
        var writer = JSONByteWriter()
        write(to: &writer)
        return writer.makeString()
    }

    /// The compact JSON text as UTF-8 bytes.
    public func serializedBytes() -> [UInt8] {
        var writer = JSONByteWriter()
        write(to: &writer)
        return writer.makeArray()
    }

    /// Appends the compact JSON text to `out`.
    public func write(into out: inout [UInt8]) {
        // Written into a private buffer and appended once: see JSONByteWriter for why.
        var writer = JSONByteWriter()
        write(to: &writer)
        out.append(contentsOf: writer.bytes)
    }

    func write(to out: inout JSONByteWriter) {
        switch self {
        case .null:
            out.append("null")
        case .bool(let value):
            out.append(value ? "true" : "false")
        case .int(let value):
            Self.writeInteger(value, to: &out)
        case .double(let value):
            if value.isFinite {
                var text = value.description
                text.withUTF8 { out.append($0.baseAddress!, count: $0.count) }
            } else {
                out.append("null")
            }
        case .string(let value):
            Self.writeEscapedString(value, to: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            var first = true
            for element in elements {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                element.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            var first = true
            for member in object.entries {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                Self.writeEscapedString(member.key, to: &out)
                out.append(UInt8(ascii: ":"))
                member.value.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    // MARK: Strings

    /// Appends `string` as a JSON string literal, quotes included, escaped as described above.
    ///
    /// For writers that frame JSON by hand without building a tree, such as the polling
    /// endpoint's `{"id":7,"data":"..."}`.
    public static func writeEscapedString(_ string: String, into out: inout [UInt8]) {
        withUTF8(of: string) { writeEscapedString(utf8: UnsafeRawBufferPointer($0), into: &out) }
    }

    /// Appends the UTF-8 text `utf8` as a JSON string literal, quotes included.
    ///
    /// The caller guarantees `utf8` is valid UTF-8 (text taken from a `String`, or already
    /// validated, such as a WebSocket text message): only ASCII bytes are looked at, and every
    /// other byte is copied as it is.
    public static func writeEscapedString(utf8 bytes: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        let text = UnsafeBufferPointer(
            start: bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        let length = escapedLength(text)
        let start = out.count
        // Grow by the exact length, then escape in place: one append instead of one per run.
        out.append(contentsOf: repeatElement(0, count: length))
        _ = out.withUnsafeMutableBufferPointer { buffer in
            writeEscaped(text, to: buffer.baseAddress! + start)
        }
    }

    static func writeEscapedString(_ string: String, to out: inout JSONByteWriter) {
        withUTF8(of: string) { text in
            // A short string (every key, most values) is escaped in one pass into room for the
            // worst case, six bytes per byte; a long one is measured first, so a megabyte of
            // text does not reserve six.
            if text.count <= 128 {
                out.commit(writeEscaped(text, to: out.reserve(text.count &* 6 &+ 2)))
            } else {
                let length = escapedLength(text)
                out.commit(writeEscaped(text, to: out.reserve(length)))
            }
        }
    }

    /// Runs `body` on the UTF-8 bytes of `string` without copying them (native and small
    /// strings are contiguous; a copy is made only for a string that is not, which Linux's
    /// standard library never produces).
    @inline(__always)
    private static func withUTF8<R>(of string: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let result = string.utf8.withContiguousStorageIfAvailable(body) { return result }
        var copy = string
        return copy.withUTF8(body)
    }

    /// The length of `text` escaped, quotes included.
    static func escapedLength(_ text: UnsafeBufferPointer<UInt8>) -> Int {
        var length = text.count + 2
        guard let base = text.baseAddress else { return length }
        var i = nextSpecialByte(base, from: 0, count: text.count)
        while i < text.count {
            let byte = base[i]
            length += byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || hasShortEscape(byte) ? 1 : 5
            i = nextSpecialByte(base, from: i + 1, count: text.count)
        }
        return length
    }

    /// Writes `text` escaped, quotes included, at `out`, which has room for it (see
    /// `escapedLength`), and returns the number of bytes written. Bytes that need no escape
    /// are copied in runs, not one by one.
    @discardableResult
    static func writeEscaped(_ text: UnsafeBufferPointer<UInt8>, to out: UnsafeMutablePointer<UInt8>) -> Int {
        out[0] = UInt8(ascii: "\"")
        var o = out + 1
        if let base = text.baseAddress {
            let count = text.count
            var runStart = 0
            var i = nextSpecialByte(base, from: 0, count: count)
            while i < count {
                o.update(from: base + runStart, count: i - runStart)
                o += i - runStart
                o += writeEscape(base[i], to: o)
                runStart = i + 1
                i = nextSpecialByte(base, from: runStart, count: count)
            }
            o.update(from: base + runStart, count: count - runStart)
            o += count - runStart
        }
        o[0] = UInt8(ascii: "\"")
        return o + 1 - out
    }

    /// The offset of the first byte at or after `start` that must be escaped (`"`, `\\`, or
    /// below 0x20), or `count` if there is none. Eight bytes a step, then byte by byte.
    @inline(__always)
    static func nextSpecialByte(_ base: UnsafePointer<UInt8>, from start: Int, count: Int) -> Int {
        var i = start
        while count - i >= 8 {
            let k = firstSpecialByte(loadWord(base + i))
            if k < 8 { return i + k }
            i += 8
        }
        while i < count {
            let byte = base[i]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return i }
            i += 1
        }
        return count
    }

    /// The index (0...7) of the first of the eight bytes of `word` (from `loadWord`) that is `"`,
    /// `\\` or below 0x20, or 8 if none is.
    ///
    /// The bit tricks are "determine if a word has a byte less than n" and "has a zero byte"
    /// from Sean Anderson's Bit Twiddling Hacks. A borrow can raise false flags only *above* a
    /// true match, so the lowest flag (the first byte in memory) is exact;
    /// bytes of 0x80 and above never match, so UTF-8 text passes eight bytes a step too.
    @inline(__always)
    static func firstSpecialByte(_ word: UInt64) -> Int {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let control = (word &- ones &* 0x20) & ~word
        let isQuote = (quote &- ones) & ~quote
        let isBackslash = (backslash &- ones) & ~backslash
        let flags = (control | isQuote | isBackslash) & highs
        return flags.trailingZeroBitCount &>> 3
    }

    /// Eight bytes from `pointer`, the first in the lowest bits on any machine, so that
    /// "lowest flagged byte" means "first in memory", and borrows run from earlier bytes to later.
    @inline(__always)
    static func loadWord(_ pointer: UnsafePointer<UInt8>) -> UInt64 {
        UInt64(littleEndian: UnsafeRawPointer(pointer).loadUnaligned(as: UInt64.self))
    }

    @inline(__always)
    private static func hasShortEscape(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x08, 0x09, 0x0A, 0x0C, 0x0D: return true
        default: return false
        }
    }

    /// Writes the escape for `byte` at `out` and returns its length (2 or 6).
    @inline(__always)
    private static func writeEscape(_ byte: UInt8, to out: UnsafeMutablePointer<UInt8>) -> Int {
        out[0] = UInt8(ascii: "\\")
        switch byte {
        case UInt8(ascii: "\""): out[1] = UInt8(ascii: "\"")
        case UInt8(ascii: "\\"): out[1] = UInt8(ascii: "\\")
        case 0x08: out[1] = UInt8(ascii: "b")
        case 0x0C: out[1] = UInt8(ascii: "f")
        case 0x0A: out[1] = UInt8(ascii: "n")
        case 0x0D: out[1] = UInt8(ascii: "r")
        case 0x09: out[1] = UInt8(ascii: "t")
        default:
            // \u00XX, lowercase hex as Python writes it.
            out[1] = UInt8(ascii: "u")
            out[2] = UInt8(ascii: "0")
            out[3] = UInt8(ascii: "0")
            out[4] = Hex.digit(byte >> 4)
            out[5] = Hex.digit(byte)
            return 6
        }
        return 2
    }

    // MARK: Integers

    /// Appends a decimal integer without going through `String`.
    static func writeInteger(_ value: Int64, into out: inout [UInt8]) {
        var writer = JSONByteWriter(capacity: 20)
        writeInteger(value, to: &writer)
        out.append(contentsOf: writer.bytes)
    }

    static func writeInteger(_ value: Int64, to out: inout JSONByteWriter) {
        var magnitude = value.magnitude
        var length = value < 0 ? 2 : 1
        var rest = magnitude
        while rest >= 10 {
            rest /= 10
            length += 1
        }
        let window = out.reserve(length)
        if value < 0 { window[0] = UInt8(ascii: "-") }
        var i = length
        repeat {
            i -= 1
            let (quotient, remainder) = magnitude.quotientAndRemainder(dividingBy: 10)
            window[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remainder)
            magnitude = quotient
        } while magnitude != 0
        out.commit(length)
    }
}
