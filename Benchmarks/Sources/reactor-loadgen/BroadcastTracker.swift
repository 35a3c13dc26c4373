/// The message every publish carries: a 10-digit sequence number and a filler, 32 bytes in all
/// ("0000000042-reactor-bench-payload"). Only ASCII, so it is valid text for every transport and
/// needs no escaping in JSON.
enum BenchPayload {
    static let size = 32
    static let filler = Array("-reactor-bench-payload".utf8)

    /// Writes message `seq`'s payload into `buffer` (exactly `size` bytes).
    static func write(_ seq: UInt64, into buffer: UnsafeMutableRawBufferPointer) {
        var n = seq
        for i in stride(from: 9, through: 0, by: -1) {
            buffer[i] = UInt8(ascii: "0") + UInt8(n % 10)
            n /= 10
        }
        for (i, b) in filler.enumerated() { buffer[10 + i] = b }
    }

    /// The sequence number at `offset` of a received payload; nil if it is not one of ours.
    static func sequence(in bytes: UnsafeRawBufferPointer, at offset: Int = 0) -> UInt64? {
        guard offset >= 0, bytes.count - offset >= size else { return nil }
        var n: UInt64 = 0
        for i in offset..<(offset + 10) {
            let d = bytes[i] &- UInt8(ascii: "0")
            guard d < 10 else { return nil }
            n = n * 10 + UInt64(d)
        }
        return n
    }
}

/// Which messages reached which subscriber, and when the last copy of each arrived.
///
/// Every subscriber must receive every message exactly once and in publish order: a gap, a
/// duplicate or a reordering stops the run with status 2 (a broken server must not look fast).
/// Per message it keeps the publish time and the copies still due in a ring, so recording a
/// delivery allocates nothing.
final class BroadcastTracker {
    struct Pending {
        var published: UInt64 = 0 // ns, the intended send time in the open loop
        var remaining: Int = 0
    }

    let subscriberCount: Int
    private var ring: [Pending]
    private let mask: UInt64
    /// Per subscriber: the sequence number it must receive next.
    private var expected: [UInt64]
    private(set) var published: UInt64 = 0
    private(set) var completed: UInt64 = 0
    /// Deliveries ever recorded (progress, for the stall watchdog).
    private(set) var deliveries: UInt64 = 0

    /// The measured window: deliveries and completions inside it, latencies of messages
    /// published inside it.
    var measuring = false
    var windowStart: UInt64 = 0
    private(set) var windowDeliveries: UInt64 = 0
    private(set) var windowCompleted: UInt64 = 0
    private(set) var lastDelivery = Histogram()
    /// Called when a message has reached every subscriber (the closed loop publishes more).
    var onComplete: (() -> Void)?

    init(subscribers: Int, capacity: Int = 1 << 16) {
        subscriberCount = subscribers
        ring = Array(repeating: Pending(), count: capacity)
        mask = UInt64(capacity - 1)
        expected = Array(repeating: 1, count: subscribers)
    }

    var outstanding: UInt64 { published - completed }
    var isFull: Bool { outstanding >= mask }

    /// Records the publish of the next message and returns its sequence number.
    func publish(at nanoseconds: UInt64) -> UInt64 {
        published += 1
        ring[Int(published & mask)] = Pending(published: nanoseconds, remaining: subscriberCount)
        return published
    }

    /// Subscriber `index` received message `seq`.
    func deliver(_ seq: UInt64, to index: Int) {
        guard seq == expected[index] else {
            let what = seq < expected[index] ? "a duplicate or reordered message" : "a gap (lost messages)"
            die("subscriber \(index) received message \(seq) where \(expected[index]) was due: \(what)", status: 2)
        }
        guard seq <= published else { die("subscriber \(index) received message \(seq), never published", status: 2) }
        expected[index] = seq + 1
        deliveries &+= 1
        if measuring { windowDeliveries &+= 1 }
        let slot = Int(seq & mask)
        ring[slot].remaining -= 1
        guard ring[slot].remaining == 0 else { return }
        completed += 1
        if measuring {
            windowCompleted += 1
            let now = ProcReadings.monotonicNanoseconds()
            if ring[slot].published >= windowStart { lastDelivery.record(now &- ring[slot].published) }
        }
        onComplete?()
    }

    /// Subscribers that have not received every published message.
    var laggards: Int { expected.reduce(0) { $0 + ($1 <= published ? 1 : 0) } }
}
