import Protocols
import Reactor

/// A relay that spans the hubs of several loops: each loop registers its hub, from its own thread,
/// before it serves anything. `LoopGroupRelay` (one process) and the relay through a broker (many,
/// with the broker's client) are both.
public protocol HubRelay: PubSubRelay, Sendable {
    func register(_ hub: PubSub, index: Int)
}

/// Rooms across the loops of one process. Each room has an owner loop (a hash of its name) that
/// numbers its messages: a message published on any loop goes to the owner (one cross-thread hop
/// unless it is already there), gets the room's next id, and is sent to every loop once, as the
/// same `SharedBytes`, through each loop's `execute` queue. Those queues are FIFO, so every loop
/// sees a room's messages in id order, and one publisher's messages in the order it sent them.
///
/// The owner keeps each room, and so its numbering, while any loop keeps it (`roomKeeping`): a
/// room kept only for a subscriber on another loop is never forgotten by its owner, whose ids
/// would otherwise begin again at 1 under that subscriber. A room no loop keeps is gone from all,
/// and starts again at 1 everywhere (its clients get the reset answer).
///
/// Channel messages (`PubSub.broadcastElsewhere`) have no ids: the sender's loop sends them to
/// every other loop directly, through the same queues.
///
/// Each loop registers its own hub from its own thread (`register`), and a hub is only ever touched
/// on its loop: that is the whole reason this type can be `@unchecked Sendable`.
public final class LoopGroupRelay: HubRelay, @unchecked Sendable {
    private let handles: [EventLoopHandle]
    private let hubs: LoopHubs  // hubs[i] is read and written only on loop i

    public init(handles: [EventLoopHandle]) {
        self.handles = handles
        self.hubs = LoopHubs(count: handles.count)
    }

    /// Attaches loop `index`'s hub; call on that loop before it serves anything.
    public func register(_ hub: PubSub, index: Int) {
        hubs[index] = hub
        hub.relay = self
        hub.relayIndex = index
    }

    /// Every other loop of the group.
    public var otherHubCount: Int? { handles.count - 1 }

    public let processID = UInt64.random(in: 1 ... .max)
    public var processLoopCount: Int { handles.count }

    /// One process: no other process is reached.
    public func broadcast(_ message: SharedBytes, channel: String, from hub: PubSub, reachedProcesses: @escaping (Int?) -> Void) {
        broadcast(message, channel: channel, from: hub)
        reachedProcesses(0)
    }

    func owner(of room: String) -> Int {
        Int(FNV1a.hash(room.utf8) % UInt64(handles.count))
    }

    public func relay(_ text: SharedBytes, room: String, from hub: PubSub, except: SubscriberToken?, completion: ((UInt64) -> Void)?) {
        let origin = hub.relayIndex
        let owner = owner(of: room)
        let done = LoopBound(completion, on: hub.loop)
        if owner == origin {
            number(text, room: room, on: hub, origin: origin, except: except, done: done)
        } else {
            handles[owner].execute { [self] _ in
                number(text, room: room, on: hubs[owner]!, origin: origin, except: except, done: done)
            }
        }
    }

    /// On the owner loop: assign the id, deliver here, and send the message to every other loop.
    private func number(_ text: SharedBytes, room: String, on ownerHub: PubSub, origin: Int, except: SubscriberToken?, done: LoopBound<((UInt64) -> Void)?>) {
        let owner = ownerHub.relayIndex
        let topic = ownerHub.topic(room)
        let id = topic.lastID + 1
        for j in handles.indices where j != owner {
            handles[j].execute { [self] _ in
                hubs[j]!.topic(room).deliver(id: id, text: text, except: j == origin ? except : nil)
                if j == origin { done.value?(id) }
            }
        }
        topic.deliver(id: id, text: text, except: owner == origin ? except : nil)
        if owner == origin { done.value?(id) }
    }

    /// Channel messages need no owner: the sender's loop hands the same bytes to every other loop.
    public func broadcast(_ message: SharedBytes, channel: String, from hub: PubSub) {
        let origin = hub.relayIndex
        for j in handles.indices where j != origin {
            handles[j].execute { [self] _ in hubs[j]?.receive(message, on: channel) }
        }
    }

    /// A loop other than the room's owner keeps the room, or let it go: the owner keeps the room
    /// (and its numbering) while any loop does. Messages go through the owner's FIFO queue, so a
    /// loop's holds and releases arrive in the order it made them.
    public func roomKeeping(_ room: String, kept: Bool, lastID: UInt64, from hub: PubSub) {
        let owner = owner(of: room)
        guard owner != hub.relayIndex else { return }
        handles[owner].execute { [self] _ in hubs[owner]?.hold(room, kept ? 1 : -1, lastID: lastID) }
    }

    /// Every loop is reached anyway: nothing to subscribe.
    public func listen(channel: String, from hub: PubSub) {}
}
