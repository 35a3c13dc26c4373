import Reactor

/// Named topics (rooms) on one loop, with counters that make fan-out costs visible; and channels,
/// on which a layer with its own per-loop state (Socket.IO's rooms) reaches its peers on the other
/// loops and processes the relay spans.
public final class PubSub {
    public let loop: EventLoop
    /// Messages each topic keeps for replay (SSE resume, polling cursors).
    public let replayCapacity: Int
    private var topics: [String: Topic] = [:]
    private var channelReceivers: [String: (SharedBytes) -> Void] = [:]

    /// Numbers and spreads messages beyond this loop (other loops, other processes); nil: this
    /// loop is the whole world. Set it before the first publish.
    public var relay: (any PubSubRelay)?
    /// This hub's loop index in its relay.
    public internal(set) var relayIndex = 0

    /// Shared with every topic and message (which may outlive a reference to the hub).
    public let counters = PubSubCounters()

    /// Messages published, deliveries made, and wire encodings produced (at most one per message
    /// per wire format that has subscribers).
    public var publishCount: Int { counters.published }
    public var deliveryCount: Int { counters.delivered }
    public var encodeCount: Int { counters.encoded }

    public init(loop: EventLoop, replayCapacity: Int = 1000) {
        self.loop = loop
        self.replayCapacity = replayCapacity
    }

    /// The topic named `name`, created on first use.
    public func topic(_ name: String) -> Topic {
        if let t = topics[name] { return t }
        let t = Topic(name: name, counters: counters, replayCapacity: replayCapacity)
        t.hub = self
        topics[name] = t
        return t
    }

    /// An existing topic, or nil.
    public func existingTopic(_ name: String) -> Topic? { topics[name] }

    public var topicCount: Int { topics.count }

    /// Subscribers over every topic.
    public var subscriberCount: Int { topics.values.reduce(0) { $0 + $1.subscriberCount } }

    // MARK: Channels

    /// Runs `receiver` on this loop with every message sent on `channel` from another loop of this
    /// process or from another process (`broadcastElsewhere`); one receiver per channel per hub.
    /// Messages have no ids and no replay: a loop or process that is not listening when one is
    /// sent, or a broker that is down, means a message it does not get (at most once).
    public func listen(channel: String, _ receiver: @escaping (SharedBytes) -> Void) {
        channelReceivers[channel] = receiver
        relay?.listen(channel: channel, from: self)
    }

    /// Channels with a receiver here (a relay registered late subscribes to them).
    public var listenedChannels: [String] { Array(channelReceivers.keys) }

    /// Whether a message sent on a channel reaches anything beyond this loop (there is a relay).
    public var reachesOtherLoops: Bool { relay != nil }

    /// Sends `message` to `channel`'s receivers on every other loop of this process and, when the
    /// relay goes through a broker, on every loop of every other process; never to this loop's own
    /// receiver: the sender delivers here itself, from what it already has (no decoding, and no
    /// copy of it arriving twice). Without a relay, does nothing.
    public func broadcastElsewhere(_ message: SharedBytes, on channel: String) {
        relay?.broadcast(message, channel: channel, from: self)
    }

    /// A message from another loop or process (called by relays, on this loop).
    public func receive(_ message: SharedBytes, on channel: String) {
        channelReceivers[channel]?(message)
    }
}

/// What happens to a subscriber whose connection cannot keep up (its queue above the high
/// watermark). The others are never slowed: delivery is write-through, and a full queue only
/// ever affects its own connection.
public enum SlowConsumerPolicy: Sendable {
    /// Close the connection, with a reason (WebSocket close 1008; an event stream just ends).
    case disconnect
    /// Hold at most this many messages for the subscriber, dropping the oldest; when the
    /// connection drains, send a marker saying how many were dropped, then what was held.
    case dropOldest(maxPending: Int)
}

/// Fan-out counters of one hub, for metrics and for checking "one encode per wire format".
public final class PubSubCounters {
    public internal(set) var published = 0
    public internal(set) var delivered = 0
    public internal(set) var encoded = 0
}

/// Gives a room one sequence of ids across loops or processes: takes each message published on
/// some loop, numbers it, and delivers it (`Topic.deliver`) on every loop, exactly once each and
/// in id order, calling the publisher's `completion` with the id on its own loop.
///
/// It also carries channel messages (`PubSub.broadcastElsewhere`), which have no ids: each goes to
/// every loop but the sender's, once, in the order one loop sent them.
public protocol PubSubRelay: AnyObject {
    func relay(_ text: SharedBytes, room: String, from hub: PubSub, except: UInt?, completion: ((UInt64) -> Void)?)
    /// Delivers `message` with `PubSub.receive` on every loop the relay spans but `hub`'s. Called on `hub`'s loop.
    func broadcast(_ message: SharedBytes, channel: String, from hub: PubSub)
    /// `hub` has a receiver for `channel` (a relay through a broker subscribes to it). Called on `hub`'s loop.
    func listen(channel: String, from hub: PubSub)
}
