import Reactor

/// Named topics (rooms) on one loop, with counters that make fan-out costs visible.
public final class PubSub {
    public let loop: EventLoop
    /// Messages each topic keeps for replay (SSE resume, polling cursors).
    public let replayCapacity: Int
    private var topics: [String: Topic] = [:]

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
public protocol PubSubRelay: AnyObject {
    func relay(_ text: SharedBytes, room: String, from hub: PubSub, except: UInt?, completion: ((UInt64) -> Void)?)
}
