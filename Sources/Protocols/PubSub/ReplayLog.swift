/// The last `capacity` messages of a topic, oldest first: what a reconnecting client is replayed
/// from (SSE `Last-Event-ID`, a polling cursor). A ring buffer: appending never shifts.
struct ReplayLog {
    private var ring: [TopicMessage?]
    private var head = 0  // index of the oldest message
    private(set) var count = 0

    init(capacity: Int) {
        ring = Array(repeating: nil, count: max(1, capacity))
    }

    var capacity: Int { ring.count }

    mutating func append(_ m: TopicMessage) {
        if count < ring.count {
            ring[(head + count) % ring.count] = m
            count += 1
        } else {
            ring[head] = m
            head = (head + 1) % ring.count
        }
    }

    var oldestID: UInt64? { count == 0 ? nil : ring[head]!.id }

    /// Messages with an id greater than `id`, oldest first.
    func messages(after id: UInt64) -> [TopicMessage] {
        guard count > 0, let oldest = oldestID else { return [] }
        // Ids are consecutive, so the first wanted message's position is arithmetic.
        let skip = id >= oldest ? Int(min(UInt64(count), id - oldest + 1)) : 0
        var out: [TopicMessage] = []
        out.reserveCapacity(count - skip)
        for i in skip..<count { out.append(ring[(head + i) % ring.count]!) }
        return out
    }
}
