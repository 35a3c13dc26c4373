/// A topic's newest messages, oldest first: what a reconnecting client is replayed from (the
/// last id it saw, whatever its transport calls it). Bounded in count (`capacity`)
/// and in bytes (`maxBytes`): past either, the oldest leave. The newest message always stays,
/// even alone over `maxBytes`, so a client that just missed it can still get it; the hub's
/// budget over every room (`PubSub.Limits.maxReplayBytes`) has no such exception.
///
/// Ids increase but need not be consecutive (a relay may skip ids lost with a broker, and a room
/// that reappears on a loop starts wherever the room's numbering is), so a position is found by
/// binary search, never by arithmetic on ids.
///
/// Generic over the message: a room's `TopicMessage`s, and the packets Socket.IO keeps for
/// connection state recovery (`SocketIORecoveryStore`), numbered the same way.
struct ReplayLog<Message: ReplayableMessage> {
    private(set) var ring = MessageRing<Message>()
    let capacity: Int
    let maxBytes: Int

    init(capacity: Int, maxBytes: Int = .max) {
        self.capacity = max(1, capacity)
        self.maxBytes = max(0, maxBytes)
    }

    var count: Int { ring.count }
    var bytes: Int { ring.bytes }
    var isEmpty: Bool { ring.isEmpty }
    var oldestID: UInt64? { ring.first?.id }
    var last: Message? { ring.last }

    /// Appends `m`, then lets the oldest go while the log is over its bounds. Returns the change
    /// in bytes (for the hub's budget).
    mutating func append(_ m: Message) -> Int {
        let before = ring.bytes
        ring.append(m)
        _ = trim()
        return ring.bytes - before
    }

    /// Re-charges the newest message with the encodings made since it was appended (its live
    /// delivery), then trims. Returns the change in bytes (negative when trimming gave back more).
    mutating func rechargeNewest() -> Int {
        ring.rechargeNewest() - trim()
    }

    /// Drops the oldest while over a bound, keeping the newest. Returns the bytes given back.
    private mutating func trim() -> Int {
        var freed = 0
        while ring.count > capacity || (ring.count > 1 && ring.bytes > maxBytes) {
            freed += ring.removeFirst()!.cost
        }
        return freed
    }

    /// Removes the oldest message; returns the bytes given back (0 if empty).
    mutating func removeOldest() -> Int { ring.removeFirst()?.cost ?? 0 }

    /// Empties the log; returns the bytes given back.
    mutating func removeAll() -> Int {
        let freed = ring.bytes
        ring.removeAll()
        return freed
    }

    /// The position of the first message with an id greater than `id` (`count` if none).
    func position(after id: UInt64) -> Int {
        var low = 0, high = ring.count
        while low < high {
            let mid = (low + high) / 2
            if ring[mid].id <= id { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// The first message with an id greater than `id`, if the log has one.
    func message(after id: UInt64) -> Message? {
        let p = position(after: id)
        return p < ring.count ? ring[p] : nil
    }

    /// Messages with an id greater than `id`, oldest first.
    func messages(after id: UInt64) -> [Message] { ring.suffix(from: position(after: id)) }

    /// Whether the log holds the message numbered `id`.
    func contains(_ id: UInt64) -> Bool {
        let p = position(after: id)
        return p > 0 && ring[p - 1].id == id
    }

    /// The oldest message, if any.
    var first: Message? { ring.first }
}

/// A message a replay log can hold: gated (it knows the bytes it keeps alive) and numbered.
protocol ReplayableMessage: GatedMessage {
    var id: UInt64 { get }
}

extension TopicMessage: ReplayableMessage {}

extension ReplayLog where Message == TopicMessage {
    /// At most `maxCount` messages with an id greater than `id`, oldest first, stopping before the
    /// one that would take their texts past `maxBytes` (but never empty when there is one to give,
    /// or a message larger than a page could never be read).
    func page(after id: UInt64, maxCount: Int, maxBytes: Int) -> [TopicMessage] {
        var out: [TopicMessage] = []
        var bytes = 0
        var p = position(after: id)
        while p < ring.count && out.count < max(1, maxCount) {
            let m = ring[p]
            if !out.isEmpty && bytes + m.text.count > maxBytes { break }
            out.append(m)
            bytes += m.text.count
            p += 1
        }
        return out
    }
}
