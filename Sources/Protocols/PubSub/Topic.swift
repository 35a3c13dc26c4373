/// Something that receives a topic's messages: a connection of some transport, a held request.
/// Each transport brings its own conformance (in its own folder); the topic names none of them.
///
/// The topic applies one slow-consumer gate (`DeliveryGate`, with the policy given at
/// `subscribe`) to every subscriber: it asks `isWritable` before each message, and either hands
/// the message over, holds it, or disconnects the subscriber. A subscriber whose gate holds
/// messages tells the topic when its connection drains (`Topic.writabilityChanged`).
public protocol TopicSubscriber: AnyObject {
    /// Whether the connection takes a message now (below its high watermark). Default: true.
    var isWritable: Bool { get }
    /// Write `message` in this transport's wire format (`message.encoded(as:)`, made once per
    /// message for every subscriber of the transport).
    func topic(_ topic: Topic, didPublish message: TopicMessage)
    /// Under `.dropOldest`, `count` messages were dropped while the connection was full: tell
    /// the client (a marker), before the held messages follow. Default: nothing.
    func topic(_ topic: Topic, didDrop count: Int)
    /// Under `.disconnect`, a message found the connection full: the subscriber has left the
    /// topic already; close the connection with a reason. Default: nothing.
    func topicDidDisconnectSlowConsumer(_ topic: Topic)
    /// The room's numbering began again (ids back near 1): another loop or process that numbers
    /// it had forgotten the room (it kept nothing, and was evicted). A subscriber that tracks ids
    /// should end, so its client resumes and gets the reset answer. Default: nothing.
    func topicDidRestart(_ topic: Topic)
}

extension TopicSubscriber {
    public var isWritable: Bool { true }
    public func topic(_ topic: Topic, didDrop count: Int) {}
    public func topicDidDisconnectSlowConsumer(_ topic: Topic) {}
    public func topicDidRestart(_ topic: Topic) {}
}

/// A subscription to one topic, as the topic handed it out: the subscriber's slot in the topic
/// and the generation it was given. Opaque on purpose: it is how a subscriber leaves
/// (`unsubscribe`), how a publisher leaves itself out (`publish(except:)`, carried through the
/// relays to the sender's loop), and how a drain is reported; never the bits of an object's
/// address, which a freed subscriber's successor can reuse. A token whose subscriber has left
/// names nobody, even once its slot is reused: every subscription takes a new generation from a
/// counter the hub's topics share (a room dropped and made again does not start it over).
public struct SubscriberToken: Hashable, Sendable {
    let slot: UInt32
    let generation: UInt32

    /// The token in one word, for a holder that keeps one beside many other fields (a WebSocket
    /// keeps its subscription in 8 bytes, not an Optional's 9): 0 stands for no token, as no
    /// token has generation 0 (it marks a free slot).
    package var packed: UInt64 { UInt64(generation) << 32 | UInt64(slot) }

    package init?(packed: UInt64) {
        guard packed >> 32 != 0 else { return nil }
        slot = UInt32(truncatingIfNeeded: packed)
        generation = UInt32(truncatingIfNeeded: packed >> 32)
    }

    init(slot: UInt32, generation: UInt32) {
        self.slot = slot
        self.generation = generation
    }
}

/// What a hub keeps for replay, and how much a history read answers. Every bound is in bytes as
/// well as in count: a client can publish large messages, and name many rooms.
public struct PubSubLimits: Sendable {
    /// Messages each room keeps for replay (a client resuming from the last id it saw).
    public var replayCapacity = 1000
    /// Bytes each room's log keeps (texts, their encodings, and about 128 bytes per message);
    /// the newest message stays even alone over it.
    public var maxRoomReplayBytes = 4 << 20
    /// Bytes every room's log keeps together, on this hub (one per loop). Past it, the oldest
    /// messages of the least recently used room leave first.
    public var maxReplayBytes = 64 << 20
    /// Rooms that keep a history on this hub. Past it, the least recently used room's history
    /// is dropped (and the room with it, unless it has subscribers: rooms with subscribers are
    /// bounded by the connections that hold them).
    public var maxRooms = 10_000
    /// A history read (`Topic.page`) answers at most this many messages ...
    public var maxPageMessages = 1000
    /// ... and stops before the message that would take its texts past this many bytes (a
    /// first message larger than this is answered alone).
    public var maxPageBytes = 64 << 10

    public init() {}
}

/// The hub that keeps a topic (`PubSub`, in the glue: it knows the loop and the relays). What a
/// topic tells it is `package`: an application uses the hub, it does not write one.
package protocol TopicHub: AnyObject {
    /// `topic` gained or lost its last subscriber, or its log changed by `logDelta` bytes.
    func roomChanged(_ topic: Topic, logDelta: Int, used: Bool)
    /// `topic`'s history was read: it is the most recently used.
    func touch(_ topic: Topic)
    /// The topic named `name` went away (nobody held it).
    func forget(_ name: String)
    /// Hands a publish to the hub's relay, which numbers it; false when there is none (the topic
    /// numbers it itself).
    func relay(_ text: SharedBytes, from topic: Topic, except: SubscriberToken?, completion: ((UInt64) -> Void)?) -> Bool
}

/// A named room: a sequence of messages numbered 1, 2, 3, ..., a bounded replay log, and
/// subscribers of any transport, each behind the same slow-consumer gate. Subscribing and
/// unsubscribing are O(1): a dense array of subscribers (iterated by a publish), and a table of
/// slots by token (its position in the dense array), removal by swapping with the last.
///
/// Its hub keeps a room while it has subscribers or messages in its log, within its bounds
/// (`PubSubLimits`); a room that has neither lives only as long as someone holds the `Topic`.
/// A room dropped and used again starts a new history at 1: a client resuming from an older id
/// then asks "from the future", and gets the reset answer. A topic made on its own (no hub) is
/// the whole world: it numbers its messages itself.
public final class Topic {
    public let name: String
    /// The id of the newest message (0 before the first).
    /// Unchecked, like `hub` below and the hub's fields: every publish reads and writes them, a
    /// checked class `var` costs a run-time exclusivity check per access (DESIGN.md), and each
    /// access is one load or store with no call inside, on the topic's loop.
    @exclusivity(unchecked) public private(set) var lastID: UInt64 = 0
    let counters: PubSubCounters
    @exclusivity(unchecked) package weak var hub: (any TopicHub)?
    let pageMessages: Int
    let pageBytes: Int
    var log: ReplayLog<TopicMessage>

    /// One subscriber and its gate; `entries` is what a publish walks.
    private struct Entry {
        let subscriber: any TopicSubscriber
        let token: SubscriberToken
        let gate: DeliveryGate<TopicMessage>
    }
    /// A token's slot: its generation (0 when free) and its position in `entries`, or, when
    /// free, the next free slot (a free list threaded through the table: no second array).
    private struct Slot {
        var generation: UInt32
        var position: UInt32
    }
    private var entries: [Entry] = []
    private var slots: [Slot] = []
    private var freeSlot = UInt32.max

    // The hub's least-recently-used list of rooms that keep messages (see `PubSub`). The hub
    // reads these on every publish from its own module, where a checked `var` of a class costs a
    // run-time exclusivity check per access. Unchecked: each access is one load or store with no
    // call inside, on the topic's loop, so none can overlap another.
    @exclusivity(unchecked) package var older: Topic?
    @exclusivity(unchecked) package var newer: Topic?
    @exclusivity(unchecked) package var inHistory = false
    /// Whether the hub holds it strongly (it has subscribers, history, or remote holds).
    @exclusivity(unchecked) package var isKept = false
    /// Other loops that keep this room, when this loop numbers it (see `PubSub.hold`).
    @exclusivity(unchecked) package var remoteHolds = 0

    /// A room named `name`. Its messages count their encodings in `counters` (the hub's, shared
    /// by its topics; also what its subscription generations come from).
    public init(name: String, counters: PubSubCounters = PubSubCounters(), limits: PubSubLimits = PubSubLimits()) {
        self.name = name
        self.counters = counters
        self.log = ReplayLog(capacity: limits.replayCapacity, maxBytes: limits.maxRoomReplayBytes)
        self.pageMessages = max(1, limits.maxPageMessages)
        self.pageBytes = max(0, limits.maxPageBytes)
    }

    deinit { hub?.forget(name) }

    public var subscriberCount: Int { entries.count }

    /// Messages and bytes the replay log keeps now.
    public var replayCount: Int { log.count }
    public var replayBytes: Int { log.bytes }
    /// The id of the oldest message the log keeps (nil when it keeps none).
    public var oldestKeptID: UInt64? { log.oldestID }

    // MARK: Subscribers

    /// Subscribes `s` under `policy` (what happens when its connection cannot keep up) and
    /// returns its token: keep it to leave (`unsubscribe`), to leave yourself out of a publish,
    /// and to report a drain. Subscribing the same object twice makes two subscriptions.
    @discardableResult
    public func subscribe(_ s: any TopicSubscriber, policy: SlowConsumerPolicy = .disconnect) -> SubscriberToken {
        counters.lastGeneration &+= 1
        if counters.lastGeneration == 0 { counters.lastGeneration = 1 }  // 0 marks a free slot
        let slot: UInt32
        if freeSlot != .max {
            slot = freeSlot
            freeSlot = slots[Int(slot)].position
        } else {
            slot = UInt32(slots.count)
            slots.append(Slot(generation: 0, position: 0))
        }
        let token = SubscriberToken(slot: slot, generation: counters.lastGeneration)
        slots[Int(slot)] = Slot(generation: token.generation, position: UInt32(entries.count))
        entries.append(Entry(subscriber: s, token: token, gate: DeliveryGate(policy: policy)))
        if entries.count == 1 { hub?.roomChanged(self, logDelta: 0, used: true) } else { hub?.touch(self) }
        return token
    }

    /// Whether `token` still names a subscriber of this topic.
    public func isSubscribed(_ token: SubscriberToken) -> Bool { position(of: token) != nil }

    /// Removes the subscription `token` names; a token that names nobody (already left, or
    /// disconnected by its gate) does nothing.
    public func unsubscribe(_ token: SubscriberToken) {
        guard let p = position(of: token) else { return }
        let last = entries.removeLast()
        if p < entries.count {
            entries[p] = last
            slots[Int(last.token.slot)].position = UInt32(p)
        }
        slots[Int(token.slot)] = Slot(generation: 0, position: freeSlot)
        freeSlot = token.slot
        if entries.isEmpty {
            // An emptied room keeps no table: a crowd that left does not stay paid for.
            entries = []
            slots = []
            freeSlot = .max
            hub?.roomChanged(self, logDelta: 0, used: false)
        }
    }

    private func position(of token: SubscriberToken) -> Int? {
        let i = Int(token.slot)
        guard i < slots.count, slots[i].generation == token.generation else { return nil }
        return Int(slots[i].position)
    }

    /// Messages and bytes the gate of `token`'s subscriber holds (0 when it is not behind).
    public func held(by token: SubscriberToken) -> (count: Int, bytes: Int) {
        guard let p = position(of: token) else { return (0, 0) }
        return (entries[p].gate.heldCount, entries[p].gate.heldBytes)
    }

    /// The connection of `token`'s subscriber became writable (or not): under `.dropOldest`,
    /// a drained one gets the drop marker (`topic(_:didDrop:)`) and what was held, oldest first.
    /// Call it from the transport's writability callback.
    public func writabilityChanged(_ token: SubscriberToken, isWritable: Bool) {
        guard isWritable, let p = position(of: token) else { return }
        let e = entries[p]
        e.gate.writabilityChanged(true, marker: { e.subscriber.topic(self, didDrop: $0) },
                                  send: { e.subscriber.topic(self, didPublish: $0) })
    }

    // MARK: Publishing

    /// Publishes `text` (UTF-8) with the room's next id, to every subscriber but `except`.
    ///
    /// On a single loop the message is numbered and delivered at once, and the id is returned.
    /// When the hub has a relay (several loops, or processes through a broker), the relay numbers
    /// it, so one room keeps one sequence everywhere: delivery happens when the relay hands the
    /// message back (`deliver`), `completion` gets the id then, and this returns nil.
    @discardableResult
    public func publish(_ text: SharedBytes, except: SubscriberToken? = nil, completion: ((UInt64) -> Void)? = nil) -> UInt64? {
        if let hub, hub.relay(text, from: self, except: except, completion: completion) { return nil }
        let id = lastID + 1
        deliver(id: id, text: text, except: except)
        completion?(id)
        return id
    }

    @discardableResult
    public func publish(_ text: String, except: SubscriberToken? = nil, completion: ((UInt64) -> Void)? = nil) -> UInt64? {
        publish(SharedBytes(text), except: except, completion: completion)
    }

    /// Delivers a message numbered elsewhere (by a relay) to this loop's subscribers and log,
    /// each through its gate. `except` is the token of a local subscriber to skip (the sender,
    /// on its own loop). Package-only: a message numbered outside a relay would break the room's
    /// id order.
    package func deliver(id: UInt64, text: SharedBytes, except: SubscriberToken? = nil) {
        if id <= lastID {
            restartHistory()
        }
        lastID = id
        let message = TopicMessage(id: id, text: text, counters: counters)
        let grew = log.append(message)
        hub?.roomChanged(self, logDelta: grew, used: true)
        counters.published += 1
        // Walk a snapshot (a retain, no copy): a delivery may unsubscribe (a held request
        // answers once, a gate disconnects), and a subscriber that left meanwhile is skipped.
        // Each entry is read in place, field by field, not copied whole: a copy retains and
        // releases its subscriber and its gate, for every recipient of every publish.
        let targets = entries
        for i in targets.indices {
            let token = targets[i].token
            guard token != except, isSubscribed(token) else { continue }
            counters.delivered += 1
            let subscriber = targets[i].subscriber
            switch targets[i].gate.admit(message, writable: subscriber.isWritable) {
            case .send:
                subscriber.topic(self, didPublish: message)
            case .hold:
                break
            case .disconnect:
                unsubscribe(token)
                subscriber.topicDidDisconnectSlowConsumer(self)
            }
        }
        // The encodings the delivery made stay with the message in the log: charge them (with or
        // without a hub to tell).
        if log.last === message {
            let delta = log.rechargeNewest()
            hub?.roomChanged(self, logDelta: delta, used: false)
        }
    }

    /// A room new here continues another loop's numbering (see `PubSub.hold`).
    package func continueNumbering(from id: UInt64) {
        if lastID == 0 { lastID = id }
    }

    /// The numbering began again elsewhere: the old history is gone here too, and subscribers
    /// that count ids are told.
    private func restartHistory() {
        let freed = log.removeAll()
        hub?.roomChanged(self, logDelta: -freed, used: false)
        for e in entries where isSubscribed(e.token) { e.subscriber.topicDidRestart(self) }
    }

    // MARK: The log, for the hub's bounds

    /// Whether the log keeps any message.
    package var keepsHistory: Bool { !log.isEmpty }

    /// Empties the log; returns the bytes given back.
    package func dropHistory() -> Int { log.removeAll() }

    /// Removes the log's oldest message; returns the bytes given back.
    package func dropOldestMessage() -> Int { log.removeOldest() }

    // MARK: Reading the history

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
