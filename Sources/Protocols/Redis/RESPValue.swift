/// One reply (or push) from a Redis server, RESP2 or RESP3, with everything copied out of the
/// receive buffer: a value outlives the read that carried it.
///
/// RESP2's two nulls (`$-1`, `*-1`) and RESP3's `_` all decode to `.null`: no caller here needs to
/// tell them apart, and one case keeps every `switch` honest.
public indirect enum RESPValue: Hashable, Sendable {
    /// `+OK`: a status line (never contains CR or LF).
    case simpleString(String)
    /// `-ERR ...`: the server refused the command; the text starts with an error code.
    case error(String)
    /// `:42`: a signed 64-bit integer.
    case integer(Int64)
    /// `$5 hello`: binary-safe bytes.
    case bulkString([UInt8])
    /// `$-1`, `*-1` (RESP2) or `_` (RESP3).
    case null
    case array([RESPValue])
    /// RESP3 `,3.14` (also `inf`, `-inf`, `nan`).
    case double(Double)
    /// RESP3 `#t` / `#f`.
    case boolean(Bool)
    /// RESP3 `(1234567890123456789012`: kept as its decimal text (sign and digits).
    case bigNumber(String)
    /// RESP3 `=15 txt:Some string`: a three-letter format and the text.
    case verbatimString(format: String, text: [UInt8])
    /// RESP3 `!21 SYNTAX invalid syntax`: a binary-safe error.
    case blobError([UInt8])
    /// RESP3 `%2`: key-value pairs in wire order (keys may repeat; nothing is deduplicated).
    case map([RESPPair])
    /// RESP3 `~3`: an unordered collection, kept in wire order.
    case set([RESPValue])
    /// RESP3 `>3`: out-of-band data (pub/sub messages, invalidations), not a command's reply.
    case push([RESPValue])

    /// The text of a simple or bulk string (bulk bytes decoded as UTF-8, repairing bad bytes).
    public var string: String? {
        switch self {
        case .simpleString(let s): s
        case .bulkString(let b): String(decoding: b, as: UTF8.self)
        case .verbatimString(_, let t): String(decoding: t, as: UTF8.self)
        default: nil
        }
    }

    /// The bytes of a bulk string (or the UTF-8 of a simple string).
    public var bytes: [UInt8]? {
        switch self {
        case .bulkString(let b): b
        case .simpleString(let s): Array(s.utf8)
        case .verbatimString(_, let t): t
        default: nil
        }
    }

    public var integer: Int64? {
        if case .integer(let n) = self { return n }
        return nil
    }

    /// The elements of an array, set or push.
    public var elements: [RESPValue]? {
        switch self {
        case .array(let a), .set(let a), .push(let a): a
        default: nil
        }
    }

    /// The error text of `-ERR ...` or `!len ...`, nil for any other value.
    public var errorMessage: String? {
        switch self {
        case .error(let e): e
        case .blobError(let b): String(decoding: b, as: UTF8.self)
        default: nil
        }
    }
}

/// One entry of a RESP3 map.
public struct RESPPair: Hashable, Sendable {
    public var key: RESPValue
    public var value: RESPValue

    public init(_ key: RESPValue, _ value: RESPValue) {
        self.key = key
        self.value = value
    }
}
