import Protocols
import Reactor

/// A topic's message as one unmasked WebSocket text frame: the WebSocket transport's wire format
/// for pub/sub, encoded once per message for every WebSocket subscriber.
public enum WebSocketTopicEncoding: TopicEncoding {
    public static func encode(_ message: TopicMessage) -> SharedBytes {
        message.text.withUnsafeBytes { WebSocketFrameEncoder.serverFrame(opcode: .text, payload: $0) }
    }
}

extension TopicMessage {
    /// The text as one unmasked WebSocket text frame (made once, shared by every subscriber).
    public var webSocketFrame: SharedBytes { encoded(as: WebSocketTopicEncoding.self) }
}

/// A WebSocket is itself a topic subscriber under the `.disconnect` policy, which needs no state
/// of its own: `ws.subscribe(to: topic)` costs the topic's entry for it and the token the socket
/// keeps, no object per socket (as uWebSockets' `ws.subscribe`), where a `WebSocketSubscription`
/// is an object per socket. Every message goes out as the topic's shared frame; a socket past its
/// high watermark is dropped by the topic's gate and closed with 1008. `isWritable` is the
/// socket's own.
extension WebSocket: TopicSubscriber {
    /// Subscribes this socket to `topic`, keeping the token in the socket. One topic at a time on
    /// this road (leave it with `unsubscribe(from:)` before another, and when the socket closes);
    /// for several, keep the tokens `topic.subscribe(ws)` returns, or use `WebSocketSubscription`.
    public func subscribe(to topic: Topic) {
        topicToken = topic.subscribe(self)
    }

    /// The token of the topic this socket subscribed to with `subscribe(to:)`: what
    /// `topic.publish(_:except:)` takes to leave the sender out.
    public var subscription: SubscriberToken? { topicToken }

    /// Leaves `topic` (nothing if the gate already dropped the socket, or it never subscribed).
    public func unsubscribe(from topic: Topic) {
        guard let token = topicToken else { return }
        topicToken = nil
        topic.unsubscribe(token)
    }

    public func topic(_ topic: Topic, didPublish message: TopicMessage) {
        send(frame: message.webSocketFrame)
    }

    public func topicDidDisconnectSlowConsumer(_ topic: Topic) {
        WebSocketSubscription.closeAsSlowConsumer(self)
    }

    /// The room's ids began again: a client counting frames would count wrong, so it is closed
    /// and resumes (getting the reset answer).
    public func topicDidRestart(_ topic: Topic) {
        unsubscribe(from: topic)
        close(code: .goingAway, reason: "the room's history restarted")
    }
}

/// A WebSocket subscribed to a topic under any policy, as an object of its own (so one socket
/// may hold several): each message goes out as the topic's shared text frame, through the
/// topic's gate. Forward the socket's writability changes (`writabilityChanged`) so held
/// messages can drain.
public final class WebSocketSubscription: TopicSubscriber {
    public let socket: WebSocket
    public let topic: Topic
    private var token: SubscriberToken?

    public init(socket: WebSocket, topic: Topic, policy: SlowConsumerPolicy = .disconnect) {
        self.socket = socket
        self.topic = topic
        token = topic.subscribe(self, policy: policy)
    }

    public var isWritable: Bool { socket.isWritable }

    public func topic(_ topic: Topic, didPublish message: TopicMessage) {
        socket.send(frame: message.webSocketFrame)
    }

    /// The drop marker: a text message with the count.
    public func topic(_ topic: Topic, didDrop count: Int) {
        socket.send(text: "(\(count) messages dropped)")
    }

    public func topicDidDisconnectSlowConsumer(_ topic: Topic) {
        token = nil
        Self.closeAsSlowConsumer(socket)
    }

    /// The room's ids began again: the client resumes elsewhere and gets the reset answer.
    public func topicDidRestart(_ topic: Topic) {
        cancel()
        socket.close(code: .goingAway, reason: "the room's history restarted")
    }

    /// Call from `webSocketWritabilityDidChange`.
    public func writabilityChanged(_ isWritable: Bool) {
        if let token { topic.writabilityChanged(token, isWritable: isWritable) }
    }

    /// Leaves the topic (on close).
    public func cancel() {
        if let token { topic.unsubscribe(token) }
        token = nil
    }

    /// Closes a WebSocket subscriber that could not keep up (1008, with the reason).
    public static func closeAsSlowConsumer(_ socket: WebSocket) {
        socket.close(code: .policyViolation, reason: "slow consumer: could not keep up with the room")
    }
}
