/// What happens to a subscriber whose connection cannot keep up (its queue above the high
/// watermark, or its session's byte bound). The others are never slowed: delivery is
/// write-through, and a full queue only ever affects its own connection.
public enum SlowConsumerPolicy: Sendable, Equatable {
    /// Close the connection, with a reason (each transport closes the way its wire allows).
    case disconnect
    /// Hold at most `maxPending` messages and `maxPendingBytes` bytes for the subscriber (their
    /// texts and encodings), dropping the oldest; when the connection drains, send a marker
    /// saying how many were dropped, then what was held. The newest is always held.
    case dropOldest(maxPending: Int, maxPendingBytes: Int = 1 << 20)
}

/// A message a gate can hold: it says what it keeps alive, which is what its bound counts.
public protocol GatedMessage: AnyObject {
    /// The bytes this message keeps alive (its text and the encodings made so far).
    var retainedBytes: Int { get }
}

/// The one slow-consumer gate, for every transport: deliver while the connection takes more;
/// once it does not, either disconnect, or hold a bounded run of messages (bounded in count and
/// in bytes, dropping the oldest) and, once it drains, hand back a marker with the number dropped
/// followed by what was held. `Topic` applies it to each of its subscribers; a layer with rooms
/// of its own applies it to each client its broadcast reaches.
///
/// One word (8 bytes), because one lives beside every subscriber and an idle subscriber is paid
/// for in bytes: `.disconnect` needs no state at all (nil), and `.dropOldest` keeps its bounds
/// and what it holds in one object, made when the subscriber subscribes. The state is a reference,
/// so a copy of the gate (a topic's snapshot of its subscribers) shares it: `admit` and `drain`
/// never write the struct itself.
public struct DeliveryGate<Message: GatedMessage> {
    @usableFromInline let held: Backlog?

    /// A ring: a dropped message leaves it at once, and its bytes with it (a stalled stream under
    /// `dropOldest` holds at most its bound, never everything it was ever sent).
    @usableFromInline final class Backlog {
        let maxPending: Int
        let maxPendingBytes: Int
        var ring = MessageRing<Message>()
        var dropped = 0
        /// Holding since the connection stopped taking messages (until the next drain). Read by
        /// the inlined `admit` for every message to a `.dropOldest` subscriber; unchecked, since
        /// a checked class `var` reached from inlined code costs a run-time exclusivity check
        /// each time (+31 instructions per SSE delivery), and each access is one load or store.
        @exclusivity(unchecked) @usableFromInline var isHolding = false

        init(maxPending: Int, maxPendingBytes: Int) {
            self.maxPending = max(1, maxPending)
            self.maxPendingBytes = max(0, maxPendingBytes)
        }
    }

    public init(policy: SlowConsumerPolicy = .disconnect) {
        switch policy {
        case .disconnect: held = nil
        case .dropOldest(let n, let bytes): held = Backlog(maxPending: n, maxPendingBytes: bytes)
        }
    }

    public var policy: SlowConsumerPolicy {
        guard let held else { return .disconnect }
        return .dropOldest(maxPending: held.maxPending, maxPendingBytes: held.maxPendingBytes)
    }

    public enum Action: Sendable, Equatable { case send, hold, disconnect }

    /// Messages and bytes held for a subscriber that is behind (0 when it is not).
    public var heldCount: Int { held?.ring.count ?? 0 }
    public var heldBytes: Int { held?.ring.bytes ?? 0 }

    /// What to do with a new message, given whether the connection takes it now. A message that
    /// finds older ones held queues behind them, writable or not, so order holds.
    /// Inlined, in the glue too (a Socket.IO broadcast's gate, per client reached), so the
    /// `.disconnect` answer is one test and no call, specialized for the message type; holding is
    /// out of line.
    @inlinable @inline(__always)
    public func admit(_ message: Message, writable: Bool) -> Action {
        guard let b = held else { return writable ? .send : .disconnect }
        if writable && !b.isHolding { return .send }
        return hold(message, in: b)
    }

    @usableFromInline func hold(_ message: Message, in b: Backlog) -> Action {
        b.isHolding = true
        b.ring.append(message)
        while b.ring.count > 1 && (b.ring.count > b.maxPending || b.ring.bytes > b.maxPendingBytes) {
            b.ring.removeFirst()
            b.dropped += 1
        }
        return .hold
    }

    /// The connection drained: the number dropped since the last drain (for the marker) and the
    /// held messages to send now, oldest first.
    public func drain() -> (dropped: Int, messages: [Message]) {
        guard let b = held, b.isHolding else { return (0, []) }
        let out = (b.dropped, b.ring.suffix(from: 0))
        b.ring.removeAll()
        b.dropped = 0
        b.isHolding = false
        return out
    }

    /// Once the connection drains: `marker` with the number dropped (if any), then `send` for
    /// each held message, oldest first.
    public func writabilityChanged(_ isWritable: Bool, marker: (Int) -> Void, send: (Message) -> Void) {
        guard isWritable else { return }
        let (dropped, messages) = drain()
        if dropped > 0 { marker(dropped) }
        for m in messages { send(m) }
    }
}
