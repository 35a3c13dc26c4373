import Protocols
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
        guard gate.deliver(message, to: socket) else {
            cancel()
            DeliveryGate.disconnect(socket)
            return
        }
    }

    /// The room's ids began again: the client resumes elsewhere and gets the reset answer.
    public func topicDidRestart(_ topic: Topic) {
        cancel()
        socket.close(code: .goingAway, reason: "the room's history restarted")
    }

    /// Call from `webSocketWritabilityDidChange`.
    public func writabilityChanged(_ isWritable: Bool) {
        gate.writabilityChanged(isWritable, socket: socket)
    }

    /// Leaves the topic (on close).
    public func cancel() { topic.unsubscribe(self) }
}

/// A WebSocket is itself a topic subscriber under the `.disconnect` policy, which needs no state
/// of its own: `topic.subscribe(ws)` costs the topic's entry for it and nothing per socket (as
/// uWebSockets' `ws.subscribe`), where a `WebSocketSubscription` is an object per socket. Every
/// message goes out as the topic's shared frame; a socket past its high watermark leaves the topic
/// and is closed with 1008. Unsubscribe when it closes (`topic.unsubscribe(ws)`).
extension WebSocket: TopicSubscriber {
    public func topic(_ topic: Topic, didPublish message: TopicMessage) {
        if isWritable {
            send(frame: message.webSocketFrame)
        } else {
            topic.unsubscribe(self)
            DeliveryGate.disconnect(self)
        }
    }

    /// The room's ids began again: a client counting frames would count wrong, so it is closed
    /// and resumes (getting the reset answer).
    public func topicDidRestart(_ topic: Topic) {
        topic.unsubscribe(self)
        close(code: .goingAway, reason: "the room's history restarted")
    }
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

    /// Answered empty at once: the client's next poll finds the room's new numbering.
    public func topicDidRestart(_ topic: Topic) { finish([]) }

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
