/// A first-in first-out run of messages with the bytes they keep alive, for the replay log and a
/// slow subscriber's backlog. A ring buffer that grows by doubling as messages arrive and shrinks
/// when it is mostly empty, so a room that once held a thousand messages and now holds three pays
/// for a handful of slots, not a thousand: rooms are many, and an idle one is paid for in bytes.
///
/// Each message is charged what it cost when it entered (`cost`), and that same amount is given
/// back when it leaves, so `bytes` never drifts whatever encodings the message gains meanwhile.
///
/// Generic over the message so the one slow-consumer gate (`DeliveryGate`) holds a topic's
/// messages and any other layer's shared messages alike (`GatedMessage`).
struct MessageRing<Message: GatedMessage> {
    private struct Entry {
        let message: Message
        var cost: Int
    }

    private var slots: [Entry?] = []
    private var head = 0  // slot of the oldest message
    private(set) var count = 0
    /// The sum of the costs of the messages held.
    private(set) var bytes = 0

    /// What one message is taken to keep alive: its text, the encodings it has made so far, and
    /// the objects around them (the message, its shared bytes, its slot).
    static func cost(of m: Message) -> Int { m.retainedBytes + 128 }

    var isEmpty: Bool { count == 0 }
    /// Slots allocated (for the tests that check rings shrink).
    var slotCount: Int { slots.count }

    subscript(position: Int) -> Message {
        slots[(head + position) % slots.count]!.message
    }

    var first: Message? { count == 0 ? nil : self[0] }
    var last: Message? { count == 0 ? nil : self[count - 1] }

    mutating func append(_ m: Message) {
        if count == slots.count { resize(to: max(4, slots.count * 2)) }
        let cost = Self.cost(of: m)
        slots[(head + count) % slots.count] = Entry(message: m, cost: cost)
        count += 1
        bytes += cost
    }

    /// Charges the newest message again, with what it has made since it was appended (the
    /// encodings its live delivery produced). Returns the change in bytes.
    @discardableResult
    mutating func rechargeNewest() -> Int {
        guard count > 0 else { return 0 }
        let i = (head + count - 1) % slots.count
        let now = Self.cost(of: slots[i]!.message)
        let delta = now - slots[i]!.cost
        slots[i]!.cost = now
        bytes += delta
        return delta
    }

    /// Removes the oldest message; returns it and the bytes given back.
    @discardableResult
    mutating func removeFirst() -> (message: Message, cost: Int)? {
        guard count > 0 else { return nil }
        let e = slots[head]!
        slots[head] = nil
        head = (head + 1) % slots.count
        count -= 1
        bytes -= e.cost
        if count == 0 {
            slots = []  // an emptied ring keeps nothing
            head = 0
        } else if slots.count > 8 && count <= slots.count / 4 {
            resize(to: slots.count / 2)
        }
        return (e.message, e.cost)
    }

    mutating func removeAll() {
        slots = []
        head = 0
        count = 0
        bytes = 0
    }

    /// The messages from `position` on, oldest first.
    func suffix(from position: Int) -> [Message] {
        guard position < count else { return [] }
        var out: [Message] = []
        out.reserveCapacity(count - position)
        for i in position..<count { out.append(self[i]) }
        return out
    }

    private mutating func resize(to size: Int) {
        var fresh = [Entry?](repeating: nil, count: size)
        for i in 0..<count { fresh[i] = slots[(head + i) % slots.count] }
        slots = fresh
        head = 0
    }
}
