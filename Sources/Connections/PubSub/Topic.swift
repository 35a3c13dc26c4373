import Protocols
import Reactor

/// Something that receives a topic's messages: a WebSocket, an event stream, a held long poll.
public protocol TopicSubscriber: AnyObject {
    func topic(_ topic: Topic, didPublish message: TopicMessage)
    /// The room's numbering began again (ids back near 1): another loop or process that numbers
    /// it had forgotten the room (it kept nothing, and was evicted). A subscriber that tracks ids
    /// should end, so its client resumes and gets the reset answer. Default: nothing.
    func topicDidRestart(_ topic: Topic)
}

extension TopicSubscriber {
    public func topicDidRestart(_ topic: Topic) {}
}

/// A named room: a sequence of messages numbered 1, 2, 3, ..., a bounded replay log, and
/// subscribers of any transport. Subscribing and unsubscribing are O(1) (a dense array plus an
/// index by identity, removal by swapping with the last).
///
/// The hub keeps a room while it has subscribers or messages in its log, within its bounds
/// (`PubSub.Limits`); a room that has neither lives only as long as someone holds the `Topic`.
/// A room dropped and used again starts a new history at 1: a client resuming from an older id
/// then asks "from the future", and gets the reset answer.
public final class Topic {
    public let name: String
    /// The id of the newest message (0 before the first).
    public private(set) var lastID: UInt64 = 0
    let counters: PubSubCounters
    weak var hub: PubSub?
    let pageMessages: Int
    let pageBytes: Int
    var log: ReplayLog
    private var subscribers: [any TopicSubscriber] = []
    private var positions: [ObjectIdentifier: Int] = [:]

    // The hub's least-recently-used list of rooms that keep messages (see `PubSub`).
    var older: Topic?
    var newer: Topic?
    var inHistory = false
    /// Whether the hub holds it strongly (it has subscribers, history, or remote holds).
    var isKept = false
    /// Other loops that keep this room, when this loop numbers it (see `PubSub.hold`).
    var remoteHolds = 0

    init(name: String, counters: PubSubCounters, limits: PubSub.Limits) {
        self.name = name
        self.counters = counters
        self.log = ReplayLog(capacity: limits.replayCapacity, maxBytes: limits.maxRoomReplayBytes)
        self.pageMessages = max(1, limits.maxPageMessages)
        self.pageBytes = max(0, limits.maxPageBytes)
    }

    deinit { hub?.forget(name) }

    public var subscriberCount: Int { subscribers.count }

    /// Messages and bytes the replay log keeps now.
    public var replayCount: Int { log.count }
    public var replayBytes: Int { log.bytes }
    /// The id of the oldest message the log keeps (nil when it keeps none).
    public var oldestKeptID: UInt64? { log.oldestID }

    public func isSubscribed(_ s: any TopicSubscriber) -> Bool { positions[ObjectIdentifier(s)] != nil }

    public func subscribe(_ s: any TopicSubscriber) {
        let key = ObjectIdentifier(s)
        guard positions[key] == nil else { return }
        positions[key] = subscribers.count
        subscribers.append(s)
        if subscribers.count == 1 { hub?.roomChanged(self) } else { hub?.touch(self) }
    }

    public func unsubscribe(_ s: any TopicSubscriber) {
        guard let i = positions.removeValue(forKey: ObjectIdentifier(s)) else { return }
        let last = subscribers.removeLast()
        if i < subscribers.count {
            subscribers[i] = last
            positions[ObjectIdentifier(last)] = i
        }
        if subscribers.isEmpty { hub?.roomChanged(self, used: false) }
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
    /// Package-only: a message numbered outside a relay would break the room's id order.
    package func deliver(id: UInt64, text: SharedBytes, except: UInt? = nil) {
        if id <= lastID {
            restartHistory()
        }
        lastID = id
        let message = TopicMessage(id: id, text: text, counters: counters)
        let grew = log.append(message)
        hub?.roomChanged(self, logDelta: grew)
        counters.published += 1
        // Iterate over a snapshot: a delivery may unsubscribe (a long poll answers once).
        let targets = subscribers
        for s in targets where UInt(bitPattern: ObjectIdentifier(s)) != except {
            s.topic(self, didPublish: message)
            counters.delivered += 1
        }
        // The encodings the delivery made stay with the message in the log: charge them.
        if log.last === message { hub?.roomChanged(self, logDelta: log.rechargeNewest(), used: false) }
    }

    /// A room new here continues another loop's numbering (see `PubSub.hold`).
    func continueNumbering(from id: UInt64) {
        if lastID == 0 { lastID = id }
    }

    /// The numbering began again elsewhere: the old history is gone here too, and subscribers
    /// that count ids are told.
    private func restartHistory() {
        let freed = log.removeAll()
        hub?.roomChanged(self, logDelta: -freed, used: false)
        for s in subscribers { s.topicDidRestart(self) }
    }

    /// The replayable messages after `id`, and whether some were lost: `gap` is true when
    /// messages after `id` have already left the log (or `id` is from the future, as after a
    /// server restart or a room that was dropped), so a client must treat its history as
    /// incomplete. Unbounded by design: prefer `page(after:)` or `next(after:)` to answer clients.
    public func messages(after id: UInt64) -> (messages: [TopicMessage], gap: Bool) {
        hub?.touch(self)
        return (log.messages(after: id), isGap(after: id))
    }

    /// One page of the messages after `id`: at most the hub's `maxPageMessages`, stopping before
    /// the one that would take the texts past `maxPageBytes` (a larger first message comes
    /// alone). Ask again after the last id of a page for the next.
    public func page(after id: UInt64) -> (messages: [TopicMessage], gap: Bool) {
        hub?.touch(self)
        return (log.page(after: id, maxCount: pageMessages, maxBytes: pageBytes), isGap(after: id))
    }

    /// The message after `id`, for replaying one at a time as a connection drains: `.message`,
    /// `.caughtUp` (nothing newer yet), or `.gap` (what follows `id` has left the log, or `id` is
    /// from the future).
    public func next(after id: UInt64) -> ReplayStep {
        if isGap(after: id) { return .gap }
        guard let m = log.message(after: id) else { return .caughtUp }
        return .message(m)
    }

    /// Whether messages after `id` are missing: it is from the future, or older than the log.
    public func isGap(after id: UInt64) -> Bool {
        let firstKept = log.oldestID ?? (lastID + 1)
        return id > lastID || (id + 1 < firstKept && lastID > id)
    }
}

/// One step of a replay (`Topic.next(after:)`).
public enum ReplayStep {
    case message(TopicMessage)
    case caughtUp
    case gap
}
