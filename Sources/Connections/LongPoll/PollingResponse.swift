import Protocols
import Reactor

/// The polling endpoints' answer, written straight to bytes:
/// `{"cursor":<last id>,"messages":[{"id":n,"data":"text"},...]}`.
public enum PollingResponse {
    public static func json(cursor: UInt64, messages: [TopicMessage]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(32 + messages.reduce(0) { $0 + $1.text.count + 24 })
        out += #"{"cursor":"#.utf8
        out += String(cursor).utf8
        out += #","messages":["#.utf8
        for (i, m) in messages.enumerated() {
            if i > 0 { out.append(0x2C) }
            out += #"{"id":"#.utf8
            out += String(m.id).utf8
            out += #","data":"#.utf8
            m.text.withUnsafeBytes { JSONString.appendQuoted($0, to: &out) }
            out.append(0x7D)
        }
        out += "]}".utf8
        return out
    }

    /// The same answer as one shared block of exactly its size: a connection that cannot take it
    /// at once queues it by reference, never as a copy.
    public static func shared(cursor: UInt64, messages: [TopicMessage]) -> SharedBytes {
        json(cursor: cursor, messages: messages).withUnsafeBytes { SharedBytes(copying: $0) }
    }
}

/// JSON string quoting over UTF-8 bytes (RFC 8259 7): quote, backslash and control characters
/// escaped, everything else copied as is.
enum JSONString {
    static func appendQuoted(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(0x22)
        // Runs of bytes that need no escape are copied at once: a long history is mostly those,
        // and a byte-at-a-time append would hold the loop for every page it answers.
        var runStart = 0
        for (i, b) in bytes.enumerated() where b < 0x20 || b == 0x22 || b == 0x5C {
            if runStart < i { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<i])) }
            runStart = i + 1
            switch b {
            case 0x22: out += [0x5C, 0x22]
            case 0x5C: out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, 0x6E]
            case 0x0D: out += [0x5C, 0x72]
            case 0x09: out += [0x5C, 0x74]
            case 0x08: out += [0x5C, 0x62]
            case 0x0C: out += [0x5C, 0x66]
            default: out += [0x5C, 0x75, 0x30, 0x30, Hex.digit(b >> 4), Hex.digit(b)]
            }
        }
        if runStart < bytes.count { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart...])) }
        out.append(0x22)
    }
}
