/// One room message as the Redis relay carries it, and its two wire forms (sans-I/O):
///
/// - on the shared channel, one PUBLISH payload per message (one channel for every room keeps
///   each process's subscriptions O(1)):
///   `<room length in bytes>:<room><id>:<origin>:<text>`
///   The room is length-prefixed, so any bytes may appear in a room name or in the text;
/// - in the room's stream (for catching up), one entry `<id>-1` with fields `o` (origin) and `d`
///   (the text), as returned by XRANGE: `[[<id>-1, [o, <origin>, d, <text>]], ...]`.
///
/// The origin is `<process token>.<counter>`: the publishing process recognises its own messages
/// (to skip the sender, to answer the publisher) and a retried publish is recognised in the stream.
public struct RedisRoomEvent: Hashable, Sendable {
    public var room: String
    public var id: UInt64
    public var origin: [UInt8]
    public var text: [UInt8]

    public init(room: String, id: UInt64, origin: [UInt8], text: [UInt8]) {
        self.room = room
        self.id = id
        self.origin = origin
        self.text = text
    }

    /// The channel payload (what the publish script builds; here for tests and tools).
    public var payload: [UInt8] {
        var out = Array(String(room.utf8.count).utf8)
        out.append(UInt8(ascii: ":"))
        out += room.utf8
        out += String(id).utf8
        out.append(UInt8(ascii: ":"))
        out += origin
        out.append(UInt8(ascii: ":"))
        out += text
        return out
    }

    /// Parses a channel payload; nil if it is not one (someone else publishing on the channel).
    public init?(payload p: [UInt8]) {
        var i = 0
        guard let roomLength = Self.decimal(p, &i, maxDigits: 6), i < p.count, p[i] == UInt8(ascii: ":") else { return nil }
        i += 1
        guard p.count - i >= Int(roomLength) else { return nil }
        let room = String(decoding: p[i..<i + Int(roomLength)], as: UTF8.self)
        i += Int(roomLength)
        guard let id = Self.decimal(p, &i, maxDigits: 19), id > 0, i < p.count, p[i] == UInt8(ascii: ":") else { return nil }
        i += 1
        guard let colon = p[i...].firstIndex(of: UInt8(ascii: ":")) else { return nil }
        self.init(room: room, id: id, origin: Array(p[i..<colon]), text: Array(p[(colon + 1)...]))
    }

    /// Parses an XRANGE reply into events for `room`, in stream order. Entries that are not the
    /// relay's (another writer on the key) are skipped; nil if the reply is not an XRANGE reply.
    public static func entries(room: String, xrange reply: RESPValue) -> [RedisRoomEvent]? {
        guard let items = reply.elements else { return reply == .null ? [] : nil }
        var out: [RedisRoomEvent] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let pair = item.elements, pair.count == 2, let entryID = pair[0].bytes else { return nil }
            var i = 0
            guard let id = decimal(entryID, &i, maxDigits: 19), id > 0 else { continue }
            guard let fields = pair[1].elements ?? pair[1].mapAsElements else { continue }
            var origin: [UInt8]?
            var text: [UInt8]?
            for f in stride(from: 0, to: fields.count - 1, by: 2) {
                switch fields[f].bytes {
                case [UInt8(ascii: "o")]?: origin = fields[f + 1].bytes
                case [UInt8(ascii: "d")]?: text = fields[f + 1].bytes
                default: break
                }
            }
            guard let origin, let text else { continue }
            out.append(RedisRoomEvent(room: room, id: id, origin: origin, text: text))
        }
        return out
    }

    /// The decimal at `i` (at least one digit, at most `maxDigits`), moving `i` past it.
    package static func decimal(_ p: [UInt8], _ i: inout Int, maxDigits: Int) -> UInt64? {
        var n: UInt64 = 0
        let start = i
        while i < p.count, p[i] >= UInt8(ascii: "0"), p[i] <= UInt8(ascii: "9"), i - start < maxDigits {
            n = n * 10 + UInt64(p[i] - UInt8(ascii: "0"))
            i += 1
        }
        return i > start ? n : nil
    }
}

extension RESPValue {
    /// A RESP3 map flattened to key, value, key, value (stream fields may come as a map).
    var mapAsElements: [RESPValue]? {
        guard case .map(let pairs) = self else { return nil }
        return pairs.flatMap { [$0.key, $0.value] }
    }
}
