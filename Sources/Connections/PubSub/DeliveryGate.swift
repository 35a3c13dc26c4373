import Protocols

/// The slow-consumer policy of one subscriber, shared by every transport: deliver while the
/// connection is writable; past its high watermark either disconnect, or hold a bounded number of
/// messages (dropping the oldest) and, once it drains, send a marker with the number dropped
/// followed by what was held.
///
/// Small on purpose (24 bytes): one lives in every subscriber, and an idle subscriber is paid for
/// in bytes. What a slow subscriber holds lives in a backlog allocated only while it is behind.
public struct DeliveryGate {
    let policy: SlowConsumerPolicy
    private var backlog: Backlog?

    /// A ring: a dropped message leaves it at once, and its bytes with it (a stalled stream under
    /// `dropOldest` holds at most its bound, never everything it was ever sent).
    private final class Backlog {
        var held = MessageRing()
        var dropped = 0
    }

    public init(policy: SlowConsumerPolicy = .disconnect) { self.policy = policy }

    enum Action { case send, hold, disconnect }

    /// Messages and bytes held for a subscriber that is behind (0 when it is not).
    var heldCount: Int { backlog?.held.count ?? 0 }
    var heldBytes: Int { backlog?.held.bytes ?? 0 }

    /// What to do with a new message given the connection's writability.
    mutating func admit(_ message: TopicMessage, writable: Bool) -> Action {
        if writable && backlog == nil { return .send }
        switch policy {
        case .disconnect:
            return .disconnect
        case .dropOldest(let maxPending, let maxPendingBytes):
            let b = backlog ?? Backlog()
            backlog = b
            b.held.append(message)
            while b.held.count > 1 && (b.held.count > maxPending || b.held.bytes > maxPendingBytes) {
                b.held.removeFirst()
                b.dropped += 1
            }
            return .hold
        }
    }

    /// The connection drained: the number dropped since the last drain (for the marker) and the
    /// held messages to send now, oldest first.
    mutating func drain() -> (dropped: Int, messages: [TopicMessage]) {
        guard let b = backlog else { return (0, []) }
        backlog = nil
        return (b.dropped, b.held.suffix(from: 0))
    }
}

extension DeliveryGate {
    /// Hands `message` to a WebSocket subscriber as the topic's shared text frame, or holds it.
    /// Returns false when the policy disconnects the subscriber: the caller leaves the topic and
    /// then calls `disconnect(_:)`.
    public mutating func deliver(_ message: TopicMessage, to socket: WebSocket) -> Bool {
        switch admit(message, writable: socket.isWritable) {
        case .send: socket.send(frame: message.webSocketFrame)
        case .hold: break
        case .disconnect: return false
        }
        return true
    }

    /// Closes a WebSocket subscriber that could not keep up (1008, with the reason).
    public static func disconnect(_ socket: WebSocket) {
        socket.close(code: .policyViolation, reason: "slow consumer: could not keep up with the room")
    }

    /// Call from `webSocketWritabilityDidChange`: sends the drop marker and what was held.
    public mutating func writabilityChanged(_ isWritable: Bool, socket: WebSocket) {
        writabilityChanged(isWritable, marker: { socket.send(text: "(\($0) messages dropped)") },
                           send: { socket.send(frame: $0.webSocketFrame) })
    }

    /// Once the connection drains: `marker` with the number dropped (if any), then `send` for
    /// each held message, oldest first. Every transport's subscriber calls this with its framing.
    mutating func writabilityChanged(_ isWritable: Bool, marker: (Int) -> Void, send: (TopicMessage) -> Void) {
        guard isWritable else { return }
        let (dropped, held) = drain()
        if dropped > 0 { marker(dropped) }
        for m in held { send(m) }
    }
}
