import Protocols
import Reactor

/// One published message: its id in the topic, its text, and each wire encoding made at most once.
///
/// Owned, not borrowed: immutable, its bytes shared by reference, so a subscriber, an SSE stream or
/// a long poll may keep it as long as it likes (unlike a WebSocket payload or an `HTTPByteView`).
///
/// A publish to ten thousand WebSocket subscribers encodes one frame; the first subscriber that
/// asks for `webSocketFrame` pays for it and the rest share the same bytes.
public final class TopicMessage {
    public let id: UInt64
    /// The message as published (UTF-8 text).
    public let text: SharedBytes
    let counters: PubSubCounters
    private var frame: SharedBytes?
    private var event: SharedBytes?

    init(id: UInt64, text: SharedBytes, counters: PubSubCounters) {
        self.id = id
        self.text = text
        self.counters = counters
    }

    /// The text as one unmasked WebSocket text frame.
    public var webSocketFrame: SharedBytes {
        if let frame { return frame }
        let encoded = text.withUnsafeBytes { WebSocketFrameEncoder.serverFrame(opcode: .text, payload: $0) }
        counters.encoded += 1
        frame = encoded
        return encoded
    }

    /// The text as a Server-Sent Event with `id: <id>`.
    public var sseEvent: SharedBytes {
        if let event { return event }
        let encoded = text.withUnsafeBytes { SSEEncoder.event(id: String(id), data: $0) }
        counters.encoded += 1
        event = encoded
        return encoded
    }

    /// The bytes this message keeps alive: its text and the encodings made so far.
    public var retainedBytes: Int { text.count + (frame?.count ?? 0) + (event?.count ?? 0) }

    public var string: String { text.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }
}
