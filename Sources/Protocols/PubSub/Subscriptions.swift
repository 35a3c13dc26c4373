import Reactor

/// A WebSocket subscribed to a topic: each message goes out as the topic's shared text frame.
/// Forward the socket's writability changes (`writabilityChanged`) so held messages can drain.
public final class WebSocketSubscription: TopicSubscriber {
    public let socket: WebSocket
    public let topic: Topic
    private var gate: DeliveryGate

    public init(socket: WebSocket, topic: Topic, policy: SlowConsumerPolicy = .disconnect) {
        self.socket = socket
        self.topic = topic
        self.gate = DeliveryGate(policy: policy)
        topic.subscribe(self)
    }

    public func topic(_ topic: Topic, didPublish message: TopicMessage) {
        switch gate.admit(message, writable: socket.isWritable) {
        case .send: socket.send(frame: message.webSocketFrame)
        case .hold: break
        case .disconnect:
            cancel()
            socket.close(code: .policyViolation, reason: "slow consumer: could not keep up with the room")
        }
    }

    /// Call from `webSocketWritabilityDidChange`.
    public func writabilityChanged(_ isWritable: Bool) {
        guard isWritable else { return }
        let (dropped, held) = gate.drain()
        if dropped > 0 { socket.send(text: "(\(dropped) messages dropped)") }
        for m in held { socket.send(frame: m.webSocketFrame) }
    }

    /// Leaves the topic (on close).
    public func cancel() { topic.unsubscribe(self) }
}

/// An event stream subscribed to a topic: each message goes out as the topic's shared event
/// (`id: n`, `data:` lines). When messages are dropped for a slow client, it gets
/// `event: dropped` with the count as data before the held ones.
public final class SSESubscription: TopicSubscriber {
    public let stream: SSEStream
    public let topic: Topic
    private var gate: DeliveryGate

    public init(stream: SSEStream, topic: Topic, policy: SlowConsumerPolicy = .dropOldest(maxPending: 256)) {
        self.stream = stream
        self.topic = topic
        self.gate = DeliveryGate(policy: policy)
        topic.subscribe(self)
        stream.onClose { [weak self] in self?.cancel() }
        stream.responder.onWritabilityChange { [weak self] writable in self?.writabilityChanged(writable) }
    }

    public func topic(_ topic: Topic, didPublish message: TopicMessage) {
        switch gate.admit(message, writable: stream.connection.isWritable) {
        case .send: stream.send(message.sseEvent)
        case .hold: break
        case .disconnect:
            cancel()
            stream.close()
        }
    }

    func writabilityChanged(_ isWritable: Bool) {
        guard isWritable else { return }
        let (dropped, held) = gate.drain()
        if dropped > 0 { stream.send(event: "dropped", data: String(dropped)) }
        for m in held { stream.send(m.sseEvent) }
    }

    public func cancel() { topic.unsubscribe(self) }
}

/// A held long-poll request: answered by the first message published after it subscribed, or
/// empty when its timer (in the loop's timing wheel) fires or the server shuts down gracefully,
/// or dropped when the client leaves.
public final class LongPollSubscription: TopicSubscriber {
    public let topic: Topic
    private let respond: ([TopicMessage]) -> Void
    private var timer: TimerID?
    private let loop: EventLoop

    /// Subscribes until a message arrives or `timeout` passes; `respond` runs exactly once,
    /// with the new messages (or none at the timeout), unless `cancel()` runs first.
    public init(topic: Topic, responder: HTTPResponder, timeout: Duration, respond: @escaping ([TopicMessage]) -> Void) {
        self.topic = topic
        self.respond = respond
        self.loop = responder.connection.loop
        topic.subscribe(self)
        timer = loop.schedule(after: timeout) { [weak self] in self?.finish([]) }
        responder.onAbandoned { [weak self] in self?.cancel() }
        // A server going away answers at once, as the timeout would (the client polls elsewhere).
        responder.onShutdown { [weak self] in self?.finish([]) }
    }

    public func topic(_ topic: Topic, didPublish message: TopicMessage) {
        finish([message])
    }

    public func cancel() {
        if let timer { loop.cancel(timer) }
        timer = nil
        topic.unsubscribe(self)
    }

    private func finish(_ messages: [TopicMessage]) {
        guard topic.isSubscribed(self) else { return }
        cancel()
        respond(messages)
    }
}
