import Protocols

/// A topic's message as a Server-Sent Event with `id: <id>`: the SSE transport's wire format for
/// pub/sub, encoded once per message for every event stream subscribed to the room.
public enum SSETopicEncoding: TopicEncoding {
    public static func encode(_ message: TopicMessage) -> SharedBytes {
        message.text.withUnsafeBytes { SSEEncoder.event(id: String(message.id), data: $0) }
    }
}

extension TopicMessage {
    /// The text as a Server-Sent Event with `id: <id>` (made once, shared by every stream).
    public var sseEvent: SharedBytes { encoded(as: SSETopicEncoding.self) }
}
