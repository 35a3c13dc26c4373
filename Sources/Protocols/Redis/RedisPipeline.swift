/// A message received on a subscribed connection (`message`, `pmessage` or `smessage`).
public struct RedisPubSubMessage: Hashable, Sendable {
    /// The channel it was published to.
    public var channel: [UInt8]
    /// The pattern that matched, for `PSUBSCRIBE` deliveries.
    public var pattern: [UInt8]?
    public var payload: [UInt8]

    public init(channel: [UInt8], pattern: [UInt8]? = nil, payload: [UInt8]) {
        self.channel = channel
        self.pattern = pattern
        self.payload = payload
    }
}

/// Matches what a Redis server sends to the commands that asked for it, sans-I/O. Package-only:
/// `RedisConnection` is the client applications use; this is its bookkeeping.
///
/// Redis answers commands in order, so pipelining is a FIFO: each command sent appends an entry
/// (with the caller's `Context`, say a completion closure) and each reply pops one. Two things
/// bend that rule, and this type is where they are handled:
///
/// - Subscribe-family commands (`SUBSCRIBE a b c`) are answered with one acknowledgement per name;
///   the entry completes with the last one.
/// - Messages on subscribed channels arrive between replies. In RESP3 they are pushes (`>`), told
///   apart by type. In RESP2 they are plain arrays, told apart by their first element
///   (`message`, `pmessage`), which is only unambiguous because a RESP2 connection in subscribed
///   mode may send nothing but subscribe-family commands and PING (the client enforces this).
package struct RedisPipeline<Context> {
    package typealias Version = RESPVersion

    /// What kind of answer a command expects.
    package enum Kind: Sendable, Equatable {
        /// One reply.
        case regular
        /// (P)SUBSCRIBE or (P)UNSUBSCRIBE with this many names: one acknowledgement each.
        case subscription(names: Int)
    }

    /// What one value from the server was.
    package enum Event {
        /// The reply to the oldest pending command (an error reply included).
        case reply(Context, RESPValue)
        /// A message on a subscribed channel or pattern.
        case message(RedisPubSubMessage)
        /// An acknowledgement of a subscribe-family command that still expects more.
        case acknowledged
        /// A push that is neither a message nor an acknowledgement (RESP3 client-side caching
        /// invalidations, a server-side unsubscribe): for the client to log or ignore.
        case push(RESPValue)
        /// A reply with no command waiting for it: the stream is out of step; close it.
        case unexpected(RESPValue)
    }

    package var version: Version
    private struct Entry {
        var context: Context
        var kind: Kind
        var acknowledged = 0
    }
    private var pending = RedisFIFO<Entry>()
    /// Channels plus patterns subscribed, as the server counted them in its last acknowledgement.
    package private(set) var subscriptionCount = 0

    package init(version: Version = .resp2) { self.version = version }

    /// Commands sent and not yet answered.
    package var pendingCount: Int { pending.count }

    /// Subscribe-family commands among the pending ones.
    private var pendingSubscriptionCommands = 0

    /// True while a RESP2 connection may send only subscribe-family commands and PING.
    package var isInRESP2SubscribedMode: Bool {
        version == .resp2 && (subscriptionCount > 0 || pendingSubscriptionCommands > 0)
    }

    /// Records a command just written, in write order.
    package mutating func sent(_ context: Context, kind: Kind = .regular) {
        pending.append(Entry(context: context, kind: kind))
        if kind != .regular { pendingSubscriptionCommands += 1 }
    }

    /// Classifies one decoded value.
    package mutating func receive(_ value: RESPValue) -> Event {
        switch value {
        case .push(let items):
            return classify(items, asPush: true) ?? .push(value)
        case .array(let items) where version == .resp2 && isInRESP2SubscribedMode:
            if let event = classify(items, asPush: false) { return event }
        default:
            break
        }
        return reply(value)
    }

    /// Everything still pending, oldest first, when the connection is lost: each command's fate is
    /// unknown (it may or may not have run), so the caller decides whether to retry.
    package mutating func abandonAll() -> [Context] {
        subscriptionCount = 0
        pendingSubscriptionCommands = 0
        return pending.removeAll().map(\.context)
    }

    // MARK: -

    private mutating func reply(_ value: RESPValue) -> Event {
        guard let entry = pending.popFirst() else { return .unexpected(value) }
        if entry.kind != .regular { pendingSubscriptionCommands -= 1 }
        return .reply(entry.context, value)
    }

    /// A message or an acknowledgement, or nil if `items` is neither.
    private mutating func classify(_ items: [RESPValue], asPush: Bool) -> Event? {
        // Kinds are short ASCII words: a small String, compared without allocating.
        guard let first = items.first?.bytes, first.count <= 12 else { return nil }
        switch String(decoding: first, as: UTF8.self) {
        case "message" where items.count == 3, "smessage" where items.count == 3:
            guard let channel = items[1].bytes, let payload = items[2].bytes else { return nil }
            return .message(RedisPubSubMessage(channel: channel, payload: payload))
        case "pmessage" where items.count == 4:
            guard let pattern = items[1].bytes, let channel = items[2].bytes, let payload = items[3].bytes else { return nil }
            return .message(RedisPubSubMessage(channel: channel, pattern: pattern, payload: payload))
        case "subscribe", "psubscribe", "unsubscribe", "punsubscribe", "ssubscribe", "sunsubscribe":
            guard items.count == 3, let count = items[2].integer else { return nil }
            guard case .subscription(let names)? = pending.first?.kind else {
                // Not ours to count (the server dropped a subscription on its own): tell the caller.
                return asPush ? .push(.push(items)) : nil
            }
            subscriptionCount = Int(clamping: count)
            pending.updateFirst { $0.acknowledged += 1 }
            // `pending.first` exists: its kind was matched by the guard above.
            if pending.first!.acknowledged < max(names, 1) { return .acknowledged }
            return reply(asPush ? .push(items) : .array(items))
        case "pong" where !asPush && items.count == 2:
            return reply(.array(items))  // RESP2 PING while subscribed
        default:
            return nil
        }
    }
}
