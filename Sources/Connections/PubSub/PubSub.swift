import Protocols
import Reactor

/// Named topics (rooms) on one loop, with counters that make fan-out costs visible; and channels,
/// on which a layer with its own per-loop state (rooms of its own) reaches its peers on the other
/// loops and processes the relay spans.
///
/// The topics themselves (`Topic`, its replay log and its slow-consumer gate) are sans-I/O, in
/// `Protocols`; the hub is here because it belongs to a loop (a relay starts its connections on
/// it) and hands publishes to relays that cross loops and processes.
public final class PubSub: TopicHub {
    /// What the hub keeps for replay, and how much a history read answers (`PubSubLimits`).
    public typealias Limits = PubSubLimits

    public let loop: EventLoop
    public let limits: Limits
    /// Messages each topic keeps for replay (`limits.replayCapacity`).
    public var replayCapacity: Int { limits.replayCapacity }

    /// A room by name: held strongly while it has subscribers or keeps messages (`kept`), and
    /// only weakly otherwise (`named`), so a room that someone named but that keeps nothing lives
    /// exactly as long as a reference to it, and one name always means one `Topic` meanwhile.
    private struct Room {
        var kept: Topic?
        weak var named: Topic?
    }
    private var rooms: [String: Room] = [:]
    // Every publish reads and writes the four below (`roomChanged`), and a checked class `var`
    // costs a run-time exclusivity check per access (DESIGN.md). Unchecked: each access is one
    // load or store with no call inside, on the hub's loop, so none can overlap another.
    /// Rooms that keep messages, least recently used first (a list through the topics).
    @exclusivity(unchecked) private var oldest: Topic?
    @exclusivity(unchecked) private var newest: Topic?
    @exclusivity(unchecked) public private(set) var historyRoomCount = 0
    /// Bytes kept by every room's replay log on this hub.
    @exclusivity(unchecked) public private(set) var replayBytes = 0
    private var channelReceivers: [String: (SharedBytes) -> Void] = [:]
    /// Receivers of the messages no `listen` claims, by channel prefix (`listenUnclaimed`).
    private var unclaimedReceivers: [(prefix: String, receiver: (SharedBytes, String) -> Void)] = []

    /// Numbers and spreads messages beyond this loop (other loops, other processes); nil: this
    /// loop is the whole world. Set it before the first publish.
    public var relay: (any PubSubRelay)?
    /// This hub's loop index in its relay, set by the relay that registers the hub.
    package var relayIndex = 0

    /// Shared with every topic and message (which may outlive a reference to the hub).
    public let counters = PubSubCounters()

    /// Messages published, deliveries made, and wire encodings produced (at most one per message
    /// per wire format that has subscribers).
    public var publishCount: Int { counters.published }
    public var deliveryCount: Int { counters.delivered }
    public var encodeCount: Int { counters.encoded }

    public init(loop: EventLoop, limits: Limits = Limits()) {
        self.loop = loop
        self.limits = limits
    }

    public convenience init(loop: EventLoop, replayCapacity: Int) {
        var limits = Limits()
        limits.replayCapacity = replayCapacity
        self.init(loop: loop, limits: limits)
    }

    deinit {
        // The history list links topics both ways: unlink it so they can go.
        while let t = oldest { unlink(t) }
    }

    /// The topic named `name`. A new one is kept once it has a subscriber or a message; until
    /// then it lives only as long as the caller holds it (a read of an unknown room leaves
    /// nothing behind). Look a room up again rather than keep a `Topic` you neither subscribe
    /// to nor publish in.
    public func topic(_ name: String) -> Topic {
        if let r = rooms[name], let t = r.kept ?? r.named { return t }
        let t = Topic(name: name, counters: counters, limits: limits)
        t.hub = self
        rooms[name] = Room(kept: nil, named: t)
        return t
    }

    /// An existing topic, or nil (creates nothing).
    public func existingTopic(_ name: String) -> Topic? {
        guard let r = rooms[name] else { return nil }
        return r.kept ?? r.named
    }

    /// Rooms known on this hub (kept, or named and still referenced).
    public var topicCount: Int { rooms.count }

    /// Subscribers over every topic.
    public var subscriberCount: Int { rooms.values.reduce(0) { $0 + ($1.kept?.subscriberCount ?? 0) } }

    // MARK: Keeping rooms (called by topics)

    /// A topic's publish goes to the relay, which numbers it, when there is one.
    package func relay(_ text: SharedBytes, from topic: Topic, except: SubscriberToken?, completion: ((UInt64) -> Void)?) -> Bool {
        guard let relay else { return false }
        relay.relay(text, room: topic.name, from: self, except: except, completion: completion)
        return true
    }

    /// `t` gained or lost its last subscriber, or its log changed by `delta` bytes: keep it or let
    /// it go, move it to the most recently used end, and enforce the hub's bounds.
    package func roomChanged(_ t: Topic, logDelta delta: Int = 0, used: Bool = true) {
        replayBytes += delta
        if !t.keepsHistory {
            if t.inHistory { unlink(t) }
        } else if !t.inHistory {
            link(t)
        } else if used && newest !== t {
            // Already the most recently used (every publish to a busy room): nothing moves.
            unlink(t)
            link(t)
        }
        updateKeeping(t)
        enforceBounds(protecting: t)
    }

    /// Moves `t` to the most recently used end (a read of its history).
    package func touch(_ t: Topic) {
        guard t.inHistory, newest !== t else { return }
        unlink(t)
        link(t)
    }

    /// A topic went away (nobody held it): forget its name unless another topic has it.
    package func forget(_ name: String) {
        if let r = rooms[name], r.kept == nil, r.named == nil { rooms[name] = nil }
    }

    private func updateKeeping(_ t: Topic) {
        let needed = t.subscriberCount > 0 || t.keepsHistory || t.remoteHolds > 0
        // Every publish comes here: no hashing of the name when nothing changes.
        guard needed != t.isKept else { return }
        var changed = false
        // Keeps `t` alive while the table lets go of it: its deinit must not run inside the
        // dictionary's mutation (it removes its own entry).
        withExtendedLifetime(t) {
            if var r = rooms[t.name] {
                guard (r.kept ?? r.named) === t else { return }  // a stale handle: not the room any more
                changed = (r.kept != nil) != needed
                r.kept = needed ? t : nil
                r.named = t
                rooms[t.name] = r
                t.isKept = needed
            } else if needed {
                rooms[t.name] = Room(kept: t, named: t)
                t.isKept = true
                changed = true
            }
        }
        if changed { relay?.roomKeeping(t.name, kept: needed, lastID: t.lastID, from: self) }
    }

    /// Another loop keeps (`delta` 1) or let go of (-1) a room this hub numbers (called by a
    /// relay, on this loop): the room, and with it its numbering, stays while any loop keeps it,
    /// even with nothing here. `lastID` is that loop's newest id, which a room that is new here
    /// continues from.
    package func hold(_ room: String, _ delta: Int, lastID: UInt64) {
        let t = topic(room)
        t.remoteHolds = max(0, t.remoteHolds + delta)
        t.continueNumbering(from: lastID)
        roomChanged(t, used: false)
    }

    private func enforceBounds(protecting current: Topic) {
        // Too many rooms keep a history: the least recently used loses all of it.
        while historyRoomCount > limits.maxRooms, let victim = oldest, victim !== current {
            replayBytes -= victim.dropHistory()
            unlink(victim)
            updateKeeping(victim)
        }
        // Over the byte budget: the oldest messages of the least recently used room go first.
        while replayBytes > limits.maxReplayBytes, let victim = oldest {
            replayBytes -= victim.dropOldestMessage()
            if !victim.keepsHistory {
                unlink(victim)
                updateKeeping(victim)
            }
        }
    }

    private func link(_ t: Topic) {
        t.older = newest
        t.newer = nil
        newest?.newer = t
        newest = t
        if oldest == nil { oldest = t }
        t.inHistory = true
        historyRoomCount += 1
    }

    private func unlink(_ t: Topic) {
        guard t.inHistory else { return }
        if let o = t.older { o.newer = t.newer } else { oldest = t.newer }
        if let n = t.newer { n.older = t.older } else { newest = t.older }
        t.older = nil
        t.newer = nil
        t.inHistory = false
        historyRoomCount -= 1
    }

    // MARK: Channels

    /// Runs `receiver` on this loop with every message sent on `channel` from another loop of this
    /// process or from another process (`broadcastElsewhere`); one receiver per channel per hub.
    /// Messages have no ids and no replay: a loop or process that is not listening when one is
    /// sent, or a broker that is down, means a message it does not get (at most once).
    public func listen(channel: String, _ receiver: @escaping (SharedBytes) -> Void) {
        channelReceivers[channel] = receiver
        relay?.listen(channel: channel, from: self)
    }

    /// Removes `channel`'s receiver here (a dynamic namespace's child that was dropped): what
    /// arrives on it afterwards is dropped. A relay through a broker stays subscribed to it (it
    /// has no unsubscribe yet), so such a relay still receives the channel's messages.
    public func unlisten(channel: String) {
        channelReceivers[channel] = nil
    }

    /// Runs `receiver` with each message that arrives on a channel starting with `prefix` that no
    /// `listen` claims here: a loop that lacks something the other loops have (a dynamic
    /// namespace's child made only there, or dropped here while a broker keeps the channel) can
    /// still answer a request that counts on every loop's answer, instead of leaving it to its
    /// timeout. The first prefix that matches takes the message.
    public func listenUnclaimed(prefix: String, _ receiver: @escaping (_ message: SharedBytes, _ channel: String) -> Void) {
        unclaimedReceivers.append((prefix, receiver))
    }

    /// Channels with a receiver here (a relay registered late subscribes to them).
    public var listenedChannels: [String] { Array(channelReceivers.keys) }

    /// Whether a message sent on a channel reaches anything beyond this loop (there is a relay).
    public var reachesOtherLoops: Bool { relay != nil }

    /// How many other hubs a `broadcastElsewhere` reaches: 0 without a relay, nil when the relay
    /// cannot tell (through a broker).
    public var otherHubCount: Int? { relay == nil ? 0 : relay!.otherHubCount }

    /// Sends `message` to `channel`'s receivers on every other loop of this process and, when the
    /// relay goes through a broker, on every loop of every other process; never to this loop's own
    /// receiver: the sender delivers here itself, from what it already has (no decoding, and no
    /// copy of it arriving twice). Without a relay, does nothing.
    public func broadcastElsewhere(_ message: SharedBytes, on channel: String) {
        relay?.broadcast(message, channel: channel, from: self)
    }

    /// Like `broadcastElsewhere`, and then says, on this loop, how many other processes the
    /// message reached: 0 without a relay or within one process, the broker's count of the other
    /// processes subscribed to `channel` through Redis (0 while it is down: the message reached
    /// this process's loops only), nil when it cannot tell (the connection dropped with the
    /// publish in flight). A counted cluster request (`ClusterTally`) waits for that many.
    public func broadcastElsewhere(_ message: SharedBytes, on channel: String, reachedProcesses: @escaping (Int?) -> Void) {
        guard let relay else { return reachedProcesses(0) }
        relay.broadcast(message, channel: channel, from: self, reachedProcesses: reachedProcesses)
    }

    /// This process's id in its relay (random per process: `ClusterServer.process`); 0 without one.
    public var processID: UInt64 { relay?.processID ?? 0 }

    /// How many loops (hubs) this process has in its relay: 1 without one.
    public var processLoopCount: Int { relay?.processLoopCount ?? 1 }

    /// This loop as a server of a counted cluster request.
    public var clusterServer: ClusterServer {
        ClusterServer(process: processID, loop: relayIndex, processLoops: processLoopCount)
    }

    /// A message from another loop or process (called by relays, on this loop).
    package func receive(_ message: SharedBytes, on channel: String) {
        if let receiver = channelReceivers[channel] { return receiver(message) }
        for unclaimed in unclaimedReceivers where channel.utf8.starts(with: unclaimed.prefix.utf8) {
            return unclaimed.receiver(message, channel)
        }
    }
}

/// Gives a room one sequence of ids across loops or processes: takes each message published on
/// some loop, numbers it, and delivers it (`Topic.deliver`) on every loop, exactly once each and
/// in id order, calling the publisher's `completion` with the id on its own loop.
///
/// `except` is the sender's token (`publish(except:)`), meaningful on the sender's loop only:
/// deliver there with it, elsewhere with nil.
///
/// It also carries channel messages (`PubSub.broadcastElsewhere`), which have no ids: each goes to
/// every loop but the sender's, once, in the order one loop sent them.
///
/// The relays are `LoopGroupRelay` (here) and one through a broker (with the broker's client).
/// The hub's side of the contract
/// (`Topic.deliver(id:)`, `PubSub.receive`, `PubSub.hold`, `PubSub.relayIndex`) is `package`:
/// an application picks a relay, it does not write one, since a mistake there breaks every
/// room's id order.
public protocol PubSubRelay: AnyObject {
    func relay(_ text: SharedBytes, room: String, from hub: PubSub, except: SubscriberToken?, completion: ((UInt64) -> Void)?)
    /// Delivers `message` with `PubSub.receive` on every loop the relay spans but `hub`'s. Called on `hub`'s loop.
    func broadcast(_ message: SharedBytes, channel: String, from hub: PubSub)
    /// `hub` has a receiver for `channel` (a relay through a broker subscribes to it). Called on `hub`'s loop.
    func listen(channel: String, from hub: PubSub)
    /// `hub` began (`kept`) or stopped keeping `room` (it has subscribers or history, or no longer
    /// has either); `lastID` is its newest id there. A relay whose rooms are numbered by one of
    /// its hubs keeps the room there meanwhile (`PubSub.hold`), so a room forgotten by its
    /// numbering hub cannot restart its ids under another loop's subscribers. Default: nothing.
    func roomKeeping(_ room: String, kept: Bool, lastID: UInt64, from hub: PubSub)
    /// How many hubs besides the sender's a channel message reaches, when the relay knows (the
    /// loops of a process); nil when it cannot (a broker's other processes). Default: nil.
    var otherHubCount: Int? { get }
    /// `broadcast`, then `reachedProcesses` on `hub`'s loop with how many other processes got the
    /// message (0 for a relay within one process; nil when it cannot tell). Default: `broadcast`,
    /// then nil.
    func broadcast(_ message: SharedBytes, channel: String, from hub: PubSub, reachedProcesses: @escaping (Int?) -> Void)
    /// This process's id, drawn at random when the relay is made. Default: 0.
    var processID: UInt64 { get }
    /// How many hubs (loops) of this process the relay spans. Default: 1.
    var processLoopCount: Int { get }
}

extension PubSubRelay {
    public func roomKeeping(_ room: String, kept: Bool, lastID: UInt64, from hub: PubSub) {}
    public var otherHubCount: Int? { nil }
    public func broadcast(_ message: SharedBytes, channel: String, from hub: PubSub, reachedProcesses: @escaping (Int?) -> Void) {
        broadcast(message, channel: channel, from: hub)
        reachedProcesses(nil)
    }
    public var processID: UInt64 { 0 }
    public var processLoopCount: Int { 1 }
}
