/// A wire format a topic's messages are sent in, brought by the transport that speaks it (each
/// transport's folder defines its own): pub/sub knows none of them.
/// A subscriber asks its message for `message.encoded(as: MyEncoding.self)`; the first to ask
/// pays for the encoding, and every other subscriber of that transport shares the same bytes.
public protocol TopicEncoding {
    /// The message in this wire format. Called at most once per message (the result is cached on
    /// the message), on the topic's loop.
    static func encode(_ message: TopicMessage) -> SharedBytes
}

/// One published message: its id in the topic, its text, and each wire encoding made at most once.
///
/// Owned, not borrowed: immutable, its bytes shared by reference, so a subscriber, an SSE stream or
/// a long poll may keep it as long as it likes (unlike a WebSocket payload or an `HTTPByteView`).
///
/// A publish to ten thousand subscribers of one transport encodes one message: the first subscriber that
/// asks for it pays, and the rest share the same bytes. The encodings live in a few fixed slots
/// inside the message (no dictionary, no allocation beyond the bytes themselves), each tagged with
/// the encoding type that made it.
public final class TopicMessage: GatedMessage {
    public let id: UInt64
    /// The message as published (UTF-8 text).
    public let text: SharedBytes
    let counters: PubSubCounters
    /// Unchecked: every subscriber of a publish reads it (inlined into the transport's module,
    /// where the compiler cannot prove accesses apart, so a checked `var` costs a run-time
    /// exclusivity check per recipient: +85 instructions per WebSocket delivery). No access to it
    /// can overlap another: each is one read or one store with no call inside (`encoded(as:)`
    /// encodes before it stores), on the topic's loop.
    @exclusivity(unchecked) @usableFromInline var cache = EncodingCache()

    /// Three (encoding, bytes) pairs, inline: a lookup compares one or two pointers. A fourth
    /// wire format asked of the same message is encoded for each request (and counted), not
    /// cached: no transport needs more than one, and a room rarely mixes more than two.
    @usableFromInline struct EncodingCache {
        @usableFromInline var key0: ObjectIdentifier?
        @usableFromInline var bytes0: SharedBytes?
        @usableFromInline var key1: ObjectIdentifier?
        @usableFromInline var bytes1: SharedBytes?
        @usableFromInline var key2: ObjectIdentifier?
        @usableFromInline var bytes2: SharedBytes?
        init() {}

        @inlinable func bytes(for key: ObjectIdentifier) -> SharedBytes? {
            if key0 == key { return bytes0 }
            if key1 == key { return bytes1 }
            if key2 == key { return bytes2 }
            return nil
        }

        /// Stores `bytes` in the first free slot; false when all are taken.
        mutating func store(_ bytes: SharedBytes, for key: ObjectIdentifier) -> Bool {
            if key0 == nil { (key0, bytes0) = (key, bytes); return true }
            if key1 == nil { (key1, bytes1) = (key, bytes); return true }
            if key2 == nil { (key2, bytes2) = (key, bytes); return true }
            return false
        }

        var bytesHeld: Int { (bytes0?.count ?? 0) + (bytes1?.count ?? 0) + (bytes2?.count ?? 0) }
    }

    /// A message numbered `id`; `counters` count the encodings it makes.
    public init(id: UInt64, text: SharedBytes, counters: PubSubCounters) {
        self.id = id
        self.text = text
        self.counters = counters
    }

    /// The message in `encoding`'s wire format: encoded on the first request, the same bytes
    /// after that. Inlined into the transport's subscriber, so a hit costs a pointer comparison.
    @inlinable
    public func encoded<E: TopicEncoding>(as encoding: E.Type) -> SharedBytes {
        if let hit = cache.bytes(for: ObjectIdentifier(encoding)) { return hit }
        return remember(E.encode(self), for: ObjectIdentifier(encoding))
    }

    /// Caches a fresh encoding and counts it (`PubSub.encodeCount`: one per message per format).
    @usableFromInline
    func remember(_ bytes: SharedBytes, for key: ObjectIdentifier) -> SharedBytes {
        counters.encoded += 1
        _ = cache.store(bytes, for: key)
        return bytes
    }

    /// The bytes this message keeps alive: its text and the encodings made so far.
    public var retainedBytes: Int { text.count + cache.bytesHeld }

    public var string: String { text.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }
}

/// Fan-out counters of one hub, for metrics and for checking "one encode per wire format".
public final class PubSubCounters {
    // Counted on every publish (and `delivered` for every recipient): unchecked, since a checked
    // class `var` costs a run-time exclusivity check per access, and each is one increment.
    @exclusivity(unchecked) public internal(set) var published = 0
    @exclusivity(unchecked) public internal(set) var delivered = 0
    @exclusivity(unchecked) public internal(set) var encoded = 0
    /// The last subscription generation handed out (`SubscriberToken`), over every topic of the
    /// hub: a token from a room that was dropped and made again still names nobody in the new one.
    var lastGeneration: UInt32 = 0

    public init() {}
}
