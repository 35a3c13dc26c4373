import Protocols
import Reactor

/// An open `text/event-stream` response: events go out as they are written, with comment
/// heartbeats on a timer so proxies keep the stream open, until the client goes away.
///
/// The body is delimited by closing the connection (no chunked framing), so an event encoded once
/// as `SharedBytes` is sent byte for byte to every subscriber.
///
/// The connection keeps the stream alive until it ends (its abandon handler holds it); nothing
/// else needs to.
///
/// Ownership: what a stream hands back is owned (each `TopicMessage` is an immutable, shared
/// value: keep it as long as needed). What opened it, the `HTTPRequest`, stays readable while the
/// stream is open, since its response is not complete until the stream ends; once it ended or its
/// client left, the request reads as empty (see `HTTPRequest`). Read `Last-Event-ID` and the query
/// when the stream opens. A stream subscribed to a topic (`subscribe(to:)`) is the topic's
/// subscriber itself (an idle subscriber is paid for in bytes, and the broadcast benchmark holds
/// one to 1 KiB); the topic applies its slow-consumer gate, the one every transport shares.
public final class SSEStream: TopicSubscriber {
    public let responder: HTTPResponder
    private let loop: EventLoop
    private var heartbeat: TimerID?
    private var onClose: (() -> Void)?
    private var topic: Topic?
    /// The subscription, once live (not while replaying: the replay reads the log instead).
    private var token: SubscriberToken?
    private var policy = SlowConsumerPolicy.disconnect
    private var finished = false
    /// The last id replayed, while catching up from the log (nil once live).
    private var replayAfter: UInt64?
    private var onReplayed: ((TopicMessage) -> Void)?
    private var replayScheduled = false

    /// The shared heartbeat comment.
    static let heartbeatBytes = SharedBytes(SSEEncoder.comment("heartbeat"))

    /// Starts the stream on `responder`: status 200, `text/event-stream`, no caching.
    /// `retry` tells the browser how long to wait before reconnecting.
    public init?(responder: HTTPResponder, heartbeatInterval: Duration? = .seconds(15), retry: Int? = 2000) {
        self.responder = responder
        self.loop = responder.connection.loop
        let started = responder.beginStream(
            .ok, contentType: "text/event-stream; charset=utf-8",
            headers: [("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no")], framing: .untilClose)
        guard started else { return nil }
        if let retry {
            // No blank line after it: the field joins the first event's block instead of
            // forming an event of its own.
            var out: [UInt8] = []
            out += "retry: \(retry)\n".utf8
            out.withUnsafeBytes { _ = responder.write($0) }
        }
        if let heartbeatInterval {
            // Unowned: the timer is cancelled when the stream finishes, before it can go away.
            // Not `Keepalive`: the heartbeat is one-way (a comment for proxies to see), with no
            // answer to wait for, so a plain repeating timer is the whole of it.
            heartbeat = loop.scheduleRepeating(every: heartbeatInterval) { [unowned self] in
                if !self.responder.write(Self.heartbeatBytes) { self.finish() }
            }
        }
        // Strong on purpose: the connection holds the stream until it ends, then lets it go.
        responder.onAbandoned { self.finish() }
    }

    /// Whether the client is still connected.
    public var isOpen: Bool { responder.isPending }

    /// The connection under the stream (for its watermarks and buffered amount).
    public var connection: Connection { responder.connection }

    /// Whether the connection is below its high watermark (what the topic's gate asks).
    public var isWritable: Bool { connection.isWritable }

    /// The stream's subscription to its topic, once live (for `Topic.held(by:)`, say).
    public var subscription: SubscriberToken? { token }

    /// Sends encoded event bytes (from `SSEEncoder`).
    @discardableResult
    public func send(_ event: SharedBytes) -> Bool { responder.write(event) }

    @discardableResult
    public func send(id: String? = nil, event: String? = nil, data: String) -> Bool {
        var out: [UInt8] = []
        SSEEncoder.encode(id: id, event: event, data: data, into: &out)
        return out.withUnsafeBytes { responder.write($0) }
    }

    /// Runs `body` once when the stream ends (client gone, or `close()`).
    public func onClose(_ body: @escaping () -> Void) {
        if let previous = onClose {
            onClose = { previous(); body() }
        } else {
            onClose = body
        }
    }

    /// Ends the stream and closes the connection.
    public func close() {
        responder.end()
        finish()
    }

    // MARK: Topic subscription

    /// Sends every message of `topic` from now on as the topic's shared event (`id: n`, `data:`
    /// lines), until the stream ends. Past the connection's high watermark, `policy` applies:
    /// by default up to 256 messages (and 1 MiB) are held, the oldest dropped, and once it drains
    /// the client gets `event: dropped` with the count as data, then the held ones.
    ///
    /// With `replayingAfter: id`, the stream first replays the room's log after `id` (check
    /// `Topic.next(after:)` for a gap before, to answer it your way), as fast as the connection
    /// takes it: never more than its high watermark queued, the rest written as it drains, and
    /// live messages read from the log meanwhile, so the order stays the ids'. If what it still
    /// has to replay leaves the log before it is written (a client that does not read), the
    /// stream ends: the client's resume then finds the gap. `replayed` runs for each message.
    public func subscribe(to topic: Topic, policy: SlowConsumerPolicy = .dropOldest(maxPending: 256),
                          replayingAfter after: UInt64? = nil, replayed: ((TopicMessage) -> Void)? = nil) {
        guard !finished, self.topic == nil else { return }
        self.topic = topic
        self.policy = policy
        replayAfter = after
        onReplayed = replayed
        responder.onWritabilityChange { [unowned self] writable in self.writabilityChanged(writable) }
        // While replaying, the stream is not subscribed: a live message is in the log, and the
        // replay reaches it in order; it subscribes once caught up, in the same loop turn.
        if after != nil { replay() } else { token = topic.subscribe(self, policy: policy) }
    }

    public func topic(_ topic: Topic, didPublish message: TopicMessage) {
        send(message.sseEvent)
    }

    /// The drop marker: `event: dropped` with the count as data.
    public func topic(_ topic: Topic, didDrop count: Int) {
        send(event: "dropped", data: String(count))
    }

    /// The gate gave up on a stream that could not keep up (`.disconnect`): it ends.
    public func topicDidDisconnectSlowConsumer(_ topic: Topic) {
        token = nil
        close()
    }

    /// Bytes one replay writes per loop turn before it lets the others run. The kernel takes up to
    /// its send buffer (megabytes) from a client that reads nothing, so writability alone would
    /// let a few hundred resuming clients hold the loop while their whole histories are copied.
    static let replayBurst = 16 << 10

    /// Writes the log after `replayAfter` while the connection is writable, a burst per loop turn;
    /// done when caught up.
    private func replay() {
        var budget = Self.replayBurst
        while let after = replayAfter, let topic, !finished {
            guard connection.isWritable else { return }  // the rest when it drains
            guard budget > 0 else {
                guard !replayScheduled else { return }
                replayScheduled = true
                loop.schedule(after: .zero) { [weak self] in
                    self?.replayScheduled = false
                    self?.replay()
                }
                return
            }
            switch topic.next(after: after) {
            case .message(let m):
                replayAfter = m.id
                let event = m.sseEvent
                budget -= event.count
                send(event)
                onReplayed?(m)
            case .caughtUp:
                replayAfter = nil
                onReplayed = nil
                token = topic.subscribe(self, policy: policy)
            case .gap:
                close()
            }
        }
    }

    /// The room's ids began again: the stream ends, and the client's resume (with its
    /// Last-Event-ID, now from the future) gets the reset answer.
    public func topicDidRestart(_ topic: Topic) { close() }

    private func writabilityChanged(_ isWritable: Bool) {
        if replayAfter != nil {
            if isWritable { replay() }
            return
        }
        if let token, let topic { topic.writabilityChanged(token, isWritable: isWritable) }
    }

    private func finish() {
        guard !finished else { return }
        finished = true
        if let heartbeat { loop.cancel(heartbeat) }
        heartbeat = nil
        if let token { topic?.unsubscribe(token) }
        token = nil
        topic = nil
        replayAfter = nil
        onReplayed = nil
        let handler = onClose
        onClose = nil
        handler?()
    }
}
