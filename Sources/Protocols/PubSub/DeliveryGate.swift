/// The slow-consumer policy of one subscriber, shared by every transport: deliver while the
/// connection is writable; past its high watermark either disconnect, or hold a bounded number of
/// messages (dropping the oldest) and, once it drains, send a marker with the number dropped
/// followed by what was held.
struct DeliveryGate {
    let policy: SlowConsumerPolicy
    private var held: [TopicMessage] = []
    private var heldStart = 0
    private(set) var dropped = 0

    init(policy: SlowConsumerPolicy) { self.policy = policy }

    enum Action { case send, hold, disconnect }

    /// What to do with a new message given the connection's writability.
    mutating func admit(_ message: TopicMessage, writable: Bool) -> Action {
        if writable && held.count == heldStart { return .send }
        switch policy {
        case .disconnect:
            return .disconnect
        case .dropOldest(let maxPending):
            held.append(message)
            if held.count - heldStart > maxPending {
                heldStart += 1
                dropped += 1
            }
            return .hold
        }
    }

    /// The connection drained: the number dropped since the last drain (for the marker) and the
    /// held messages to send now, oldest first.
    mutating func drain() -> (dropped: Int, messages: ArraySlice<TopicMessage>) {
        let out = (dropped, held[heldStart...])
        held = []
        heldStart = 0
        dropped = 0
        return out
    }
}
