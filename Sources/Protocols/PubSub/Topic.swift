import Reactor

/// Something that receives a topic's messages: a WebSocket, an event stream, a held long poll.
public protocol TopicSubscriber: AnyObject {
    func topic(_ topic: Topic, didPublish message: TopicMessage)
}

/// A named room: a sequence of messages numbered 1, 2, 3, ..., a bounded replay log, and
/// subscribers of any transport. Subscribing and unsubscribing are O(1) (a dense array plus an
/// index by identity, removal by swapping with the last).
public final class Topic {
    public let name: String
    /// The id of the newest message (0 before the first).
    public private(set) var lastID: UInt64 = 0
    let counters: PubSubCounters
    weak var hub: PubSub?
    private var log: ReplayLog
    private var subscribers: [any TopicSubscriber] = []
    private var positions: [ObjectIdentifier: Int] = [:]

    init(name: String, counters: PubSubCounters, replayCapacity: Int) {
        self.name = name
        self.counters = counters
        self.log = ReplayLog(capacity: replayCapacity)
    }

    public var subscriberCount: Int { subscribers.count }

    public func isSubscribed(_ s: any TopicSubscriber) -> Bool { positions[ObjectIdentifier(s)] != nil }

    public func subscribe(_ s: any TopicSubscriber) {
        let key = ObjectIdentifier(s)
        guard positions[key] == nil else { return }
        positions[key] = subscribers.count
        subscribers.append(s)
    }

    public func unsubscribe(_ s: any TopicSubscriber) {
        guard let i = positions.removeValue(forKey: ObjectIdentifier(s)) else { return }
        let last = subscribers.removeLast()
        if i < subscribers.count {
            subscribers[i] = last
            positions[ObjectIdentifier(last)] = i
        }
    }

    /// Publishes `text` (UTF-8) with the room's next id, to every subscriber but `except`.
    ///
    /// On a single loop the message is numbered and delivered at once, and the id is returned.
    /// When the hub has a relay (several loops, or processes through a broker), the relay numbers
    /// it, so one room keeps one sequence everywhere: delivery happens when the relay hands the
    /// message back (`deliver`), `completion` gets the id then, and this returns nil.
    @discardableResult
    public func publish(_ text: SharedBytes, except: (any TopicSubscriber)? = nil, completion: ((UInt64) -> Void)? = nil) -> UInt64? {
        if let hub, let relay = hub.relay {
            relay.relay(text, room: name, from: hub, except: except.map { UInt(bitPattern: ObjectIdentifier($0)) }, completion: completion)
            return nil
        }
        let id = lastID + 1
        deliver(id: id, text: text, except: except.map { UInt(bitPattern: ObjectIdentifier($0)) })
        completion?(id)
        return id
    }

    @discardableResult
    public func publish(_ text: String, except: (any TopicSubscriber)? = nil, completion: ((UInt64) -> Void)? = nil) -> UInt64? {
        publish(SharedBytes(text), except: except, completion: completion)
    }

    /// Delivers a message numbered elsewhere (by a relay) to this loop's subscribers and log.
    /// `except` is the identity of a local subscriber to skip (the sender, on its own loop).
    public func deliver(id: UInt64, text: SharedBytes, except: UInt? = nil) {
        lastID = id
        let message = TopicMessage(id: id, text: text, counters: counters)
        log.append(message)
        counters.published += 1
        // Iterate over a snapshot: a delivery may unsubscribe (a long poll answers once).
        let targets = subscribers
        for s in targets where UInt(bitPattern: ObjectIdentifier(s)) != except {
            s.topic(self, didPublish: message)
            counters.delivered += 1
        }
    }

    /// The replayable messages after `id`, and whether some were lost: `gap` is true when
    /// messages after `id` have already left the log (or `id` is from the future, as after a
    /// server restart), so a client must treat its history as incomplete.
    public func messages(after id: UInt64) -> (messages: [TopicMessage], gap: Bool) {
        let messages = log.messages(after: id)
        let firstKept = log.oldestID ?? (lastID + 1)
        let gap = id > lastID || (id + 1 < firstKept && lastID > id)
        return (messages, gap)
    }
}
