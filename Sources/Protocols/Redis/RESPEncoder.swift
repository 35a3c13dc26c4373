/// Writes commands the way every Redis client does: an array of bulk strings
/// (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`). Binary-safe; nothing is escaped. Pipelining is just
/// appending several commands to one buffer and writing it once.
public enum RESPEncoder {
    /// Appends one command (its name and arguments, each any bytes) to `out`.
    public static func append<Argument: Collection>(_ arguments: [Argument], to out: inout [UInt8]) where Argument.Element == UInt8 {
        out.reserveCapacity(out.count + 16 + arguments.reduce(0) { $0 + $1.count + 16 })
        out.append(UInt8(ascii: "*"))
        appendDecimal(arguments.count, to: &out)
        for a in arguments {
            out.append(UInt8(ascii: "$"))
            appendDecimal(a.count, to: &out)
            out.append(contentsOf: a)
            out.append(0x0D)
            out.append(0x0A)
        }
    }

    /// Appends one command whose arguments are text (each sent as its UTF-8).
    public static func append(_ arguments: [String], to out: inout [UInt8]) {
        append(arguments.map { Array($0.utf8) }, to: &out)
    }

    /// One command, encoded.
    public static func command(_ arguments: [String]) -> [UInt8] {
        var out: [UInt8] = []
        append(arguments, to: &out)
        return out
    }

    /// `n` in decimal, then CRLF.
    static func appendDecimal(_ n: Int, to out: inout [UInt8]) {
        precondition(n >= 0)
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var v = n
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[19 - count] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
                count += 1
            } while v > 0
            out.append(contentsOf: d[(20 - count)...])
        }
        out.append(0x0D)
        out.append(0x0A)
    }
}

/// Writes RESP values (the server's side of the protocol). The client never needs it; tests and
/// the fuzzer use it to produce well-formed replies of every type.
public enum RESPValueEncoder {
    public static func encode(_ v: RESPValue) -> [UInt8] {
        var out: [UInt8] = []
        append(v, to: &out)
        return out
    }

    public static func append(_ v: RESPValue, to out: inout [UInt8]) {
        func line(_ type: Character, _ text: String) {
            out.append(type.asciiValue!)
            out.append(contentsOf: text.utf8)
            out += [0x0D, 0x0A]
        }
        func blob(_ type: Character, _ bytes: [UInt8]) {
            out.append(type.asciiValue!)
            RESPEncoder.appendDecimal(bytes.count, to: &out)
            out.append(contentsOf: bytes)
            out += [0x0D, 0x0A]
        }
        func aggregate(_ type: Character, _ items: [RESPValue]) {
            out.append(type.asciiValue!)
            RESPEncoder.appendDecimal(items.count, to: &out)
            for i in items { append(i, to: &out) }
        }
        switch v {
        case .simpleString(let s): line("+", s)
        case .error(let s): line("-", s)
        case .integer(let n): line(":", String(n))
        case .bulkString(let b): blob("$", b)
        case .null: line("_", "")
        case .array(let a): aggregate("*", a)
        case .double(let d): line(",", d.isNaN ? "nan" : d == .infinity ? "inf" : d == -.infinity ? "-inf" : String(d))
        case .boolean(let b): line("#", b ? "t" : "f")
        case .bigNumber(let s): line("(", s)
        case .verbatimString(let format, let text): blob("=", Array(format.utf8) + [UInt8(ascii: ":")] + text)
        case .blobError(let b): blob("!", b)
        case .map(let pairs):
            out.append(UInt8(ascii: "%"))
            RESPEncoder.appendDecimal(pairs.count, to: &out)
            for p in pairs {
                append(p.key, to: &out)
                append(p.value, to: &out)
            }
        case .set(let a): aggregate("~", a)
        case .push(let a): aggregate(">", a)
        }
    }
}
