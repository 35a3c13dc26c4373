import Protocols
import Reactor

/// A shared Engine.IO message is what a Socket.IO broadcast holds in a gate: what it keeps alive
/// is counted by its packet (its wire forms are that plus a few header bytes).
extension EngineIOMessage: GatedMessage {
    public var retainedBytes: Int { packet.count }
}

/// Socket.IO's side of the one slow-consumer gate (`DeliveryGate`, the type every pub/sub
/// subscriber is gated by): a broadcast reaches each client through its connection's gate, with
/// the session's byte bound (`EngineIOConfiguration.maxQueuedBytes`, `--max-session-queue`) as the
/// connection's "writable": a broadcast that would take what waits for the client (its polling
/// queue, or its WebSocket's unwritten bytes) past the bound finds it full.
///
/// The policy is `.disconnect`, always, and that is why the gate lives here as a constant rather
/// than as a setting: Socket.IO has no drop marker on its wire (a client could not tell it missed
/// events), a binary event is a text packet and its attachments in several Engine.IO messages
/// that a dropped one would tear apart, and acknowledgements count on every packet arriving. A
/// client that cannot keep up is closed as a slow consumer (WebSocket close 1008 and its backlog
/// dropped; a polling session ends), as the session's own queue bound closes it for every other
/// packet. The reference server holds such a client's packets without bound.
extension SocketIOConnection {
    static let broadcastPolicy = SlowConsumerPolicy.disconnect

    /// Hands one broadcast (a text message, then a binary one per attachment, shared by every
    /// client reached) to this client, through its gate: all of it, or the client is closed.
    /// A `volatile` broadcast skips a client whose transport is not writable now: dropped, not
    /// queued, and not counted against it by the gate (as `socket.volatile` does).
    func deliver(broadcast messages: [EngineIOMessage], volatile: Bool = false) {
        guard session.isOpen else { return }
        if volatile && !session.isWritable { return }
        var size = 0
        for m in messages { size += m.packet.count }
        let queued = session.queuedByteCount
        let fits = queued + size <= session.configuration.maxQueuedBytes
        // One decision for the whole packet: its messages must not be split.
        switch broadcastGate.admit(messages[0], writable: fits) {
        case .send:
            for m in messages { session.send(m) }
        case .hold:
            break  // not under `.disconnect`, the only policy a broadcast uses (see above)
        case .disconnect:
            session.closeAsSlowConsumer(queued: queued + size)
        }
    }
}
