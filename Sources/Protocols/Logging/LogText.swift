/// Peer-supplied text made safe for a log line: a close reason, a path, a header value, a room
/// name. One line per event only holds if no peer can write a line break into it, and an
/// operator's terminal only stays sane if no peer can write escape sequences to it.
///
/// - `\n`, `\r`, `\t` become `\n`, `\r`, `\t` written out (two characters each), a backslash
///   becomes `\\`, so what is in the log reads back unambiguously;
/// - every other C0 control and DEL becomes `\xNN`; C1 controls and U+2028/U+2029 (line breaks
///   to some log viewers) become `\u{NNNN}`;
/// - invalid UTF-8 becomes U+FFFD;
/// - the result is at most `limit` bytes of UTF-8, then a marker `…[N bytes in all]` when
///   something was cut, so a 16 MiB close reason or path costs a log line of a few hundred bytes.
///
/// Only the prefix that fits is read: the cost is bounded by `limit`, not by the input.
public enum LogText {
    /// The default cap, in bytes of escaped output.
    public static let defaultLimit = 256
    /// The cap for a whole line escaped at a library's log funnel (`HTTPServer.log`, ...).
    public static let lineLimit = 1024

    /// `bytes` escaped and capped (see `LogText`).
    public static func escape(_ bytes: UnsafeRawBufferPointer, limit: Int = defaultLimit) -> String {
        // Every input byte yields at least one output byte (escapes and U+FFFD only lengthen),
        // so `limit` input bytes, plus 4 so a character cut at the end is not seen before the
        // cap is, are all that can show.
        let limit = max(0, limit)
        let prefix = UnsafeRawBufferPointer(rebasing: bytes[0..<(bytes.count - limit <= 4 ? bytes.count : limit + 4)])
        var out = ""
        out.reserveCapacity(min(bytes.count, limit) + 24)
        var written = 0
        for scalar in String(decoding: prefix, as: UTF8.self).unicodeScalars {
            let piece = escaped(scalar)
            let size = piece.utf8.count
            if written + size > limit {
                out += "…[\(bytes.count) bytes in all]"
                return out
            }
            out += piece
            written += size
        }
        return out
    }

    /// `text` escaped and capped (see `LogText`).
    public static func escape(_ text: String, limit: Int = defaultLimit) -> String {
        withUTF8Bytes(of: text) { escape(UnsafeRawBufferPointer($0), limit: limit) }
    }

    /// `text` escaped and capped (see `LogText`).
    public static func escape(_ text: Substring, limit: Int = defaultLimit) -> String {
        escape(String(text), limit: limit)
    }

    /// One scalar as it appears in the log.
    private static func escaped(_ s: Unicode.Scalar) -> String {
        switch s.value {
        case 0x0A: return "\\n"
        case 0x0D: return "\\r"
        case 0x09: return "\\t"
        case 0x5C: return "\\\\"
        case 0x00..<0x20, 0x7F: return "\\x" + hex(s.value, digits: 2)
        case 0x80..<0xA0, 0x2028, 0x2029: return "\\u{" + hex(s.value, digits: 4) + "}"
        default: return String(Character(s))
        }
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let alphabet: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "A", "B", "C", "D", "E", "F"]
        var s = ""
        for k in stride(from: digits - 1, through: 0, by: -1) {
            s.append(alphabet[Int((value >> (UInt32(k) * 4)) & 0xF)])
        }
        return s
    }
}

extension HTTPByteView {
    /// These bytes escaped and capped for a log line (see `LogText`).
    public var logEscaped: String { LogText.escape(bytes) }
}
