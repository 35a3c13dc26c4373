/// Identifies an armed timer. It goes stale when the timer fires (one-shot) or is cancelled;
/// cancelling a stale id does nothing, so callers never need to track whether it already fired.
public struct TimerID: Hashable, Sendable {
    let index: Int32
    let generation: UInt32
}

/// A hashed timing wheel: O(1) arm, O(1) cancel, and expiry proportional to the ticks elapsed.
///
/// Connection timeouts (handshake, header read, idle, long-poll hold) are armed and cancelled far
/// more often than they fire, which is what a wheel is good at. Each node stores its absolute
/// deadline tick and lives in the slot `deadline & mask`; a slot's list may hold nodes of later
/// revolutions, which stay put until their deadline comes round.
///
/// ```
///  slots: [ 0 ][ 1 ][ 2 ] ... [mask]   [due]   <- one extra list: expired, waiting to be fired
///           |         |                  |
///          n7 <-> n2  n5                n9 <-> n4
///  nodes: one array; a free list threads through released nodes, and those past `used`
///         have never been touched. A node names no list: the first of a list keeps its list
///         in `prev` (negative), and the due list is told by the deadline (see `isDue`).
/// ```
///
/// Nodes carry no closure: the loop keeps closures in a side table by node index, and connection
/// timeouts carry only a token, so re-arming a connection's timeout allocates nothing.
struct TimerWheel: ~Copyable {
    /// 32 bytes: a connection with a timeout holds one, so they count per idle connection
    /// (issue 18).
    struct Node {
        var deadline: UInt64 = 0
        var payload: UInt64 = 0       // the owner's: a connection token, or 0 for closure timers
        var next: Int32 = -1
        /// The node before this one in its list, or, for the first of a list, `-1 - list`.
        var prev: Int32 = -1
        var generation: UInt32 = 0
        var periodTicks: UInt32 = 0  // 0: one-shot; at most 2^32 - 1 ms (49.7 days)
    }

    private static let slotBits = 12
    static let slotCount = 1 << slotBits  // 4096 one-millisecond ticks per revolution
    private static let mask = UInt64(slotCount - 1)
    private var dueList: Int32 { Int32(Self.slotCount) }

    private var heads: UnsafeMutablePointer<Int32>  // slotCount + 1 list heads (the last: due)
    private var nodes: UnsafeMutablePointer<Node>
    private var capacity: Int
    /// Nodes initialised: those below are armed or on the free list, those from here to
    /// `capacity` have never been touched. A growth then costs memory only as timers are armed,
    /// not the whole doubled array at once (it counts per idle connection: issue 18).
    private var used = 0
    private var freeHead: Int32 = -1
    private(set) var armedCount = 0
    /// The last tick whose slot has been swept.
    private(set) var currentTick: UInt64
    /// The earliest tick worth waking for, or nil when it must be recomputed by a scan.
    private var cachedNextTick: UInt64?

    init(startTick: UInt64) {
        heads = .allocate(capacity: Self.slotCount + 1)
        heads.initialize(repeating: -1, count: Self.slotCount + 1)
        capacity = 0
        nodes = .allocate(capacity: 0)
        currentTick = startTick
        cachedNextTick = nil
    }

    deinit {
        heads.deallocate()
        nodes.deinitialize(count: used)
        nodes.deallocate()
    }

    // MARK: Arm and cancel

    /// `periodTicks` over 2^32 - 1 (49.7 days of milliseconds) is taken as that.
    mutating func arm(at deadline: UInt64, periodTicks: UInt64, payload: UInt64) -> TimerID {
        let index = takeFreeNode()
        let when = max(deadline, currentTick + 1)  // never into a slot already swept
        nodes[Int(index)].deadline = when
        nodes[Int(index)].periodTicks = UInt32(clamping: periodTicks)
        nodes[Int(index)].payload = payload
        link(index, into: Int32(when & Self.mask))
        armedCount += 1
        if let cached = cachedNextTick, when < cached { cachedNextTick = when }
        return TimerID(index: index, generation: nodes[Int(index)].generation)
    }

    /// Returns false if the id is stale (fired or cancelled already).
    @discardableResult
    mutating func cancel(_ id: TimerID) -> Bool {
        guard isArmed(id) else { return false }
        unlink(id.index)
        release(id.index)
        return true
    }

    /// Moves an armed timer's deadline later without relinking it: a connection's idle timeout,
    /// pushed back by every request, then costs a store instead of an unlink and a link. The node
    /// stays in the slot of its earlier deadline, and the sweep that reaches that slot moves it on
    /// to the slot of the new one (`collectExpired`), so it still fires on its own tick. False,
    /// with nothing changed, when the id is stale, the timer is already due, or the deadline would
    /// move earlier: the caller cancels and arms instead.
    mutating func postpone(_ id: TimerID, to deadline: UInt64) -> Bool {
        guard isArmed(id) else { return false }
        let i = Int(id.index)
        guard !isDue(i), deadline >= nodes[i].deadline else { return false }
        nodes[i].deadline = deadline
        return true
    }

    /// A released node's generation has moved past every id it ever handed out, so the
    /// generation alone tells an armed timer from a stale id.
    func isArmed(_ id: TimerID) -> Bool {
        id.index >= 0 && Int(id.index) < used && nodes[Int(id.index)].generation == id.generation
    }

    /// Whether an armed node is on the due list. Every node in the wheel's slots is due after
    /// `currentTick` (armed so, and a sweep to `now` moves each one due by then to the due list),
    /// and every node on the due list was due by the sweep that moved it: the deadline tells.
    private func isDue(_ i: Int) -> Bool { nodes[i].deadline <= currentTick }

    func payload(of index: Int32) -> UInt64 { nodes[Int(index)].payload }

    /// The id node `index` has now (stale unless the node is armed): for an owner that keeps only
    /// the index of a node it knows to be armed.
    func id(at index: Int32) -> TimerID { TimerID(index: index, generation: nodes[Int(index)].generation) }

    // MARK: Expiry

    /// Moves every node whose deadline is at or before `now` to the due list. Fires nothing, so
    /// callbacks run outside any access to the wheel and may arm and cancel freely.
    mutating func collectExpired(now: UInt64) {
        guard now > currentTick else { return }
        if armedCount > 0 {
            // After a long sleep every slot may hold expired nodes: sweep each slot at most once.
            let steps = min(now - currentTick, UInt64(Self.slotCount))
            var tick = currentTick + 1
            for _ in 0..<steps {
                var i = heads[Int(tick & Self.mask)]
                while i >= 0 {
                    let next = nodes[Int(i)].next
                    let deadline = nodes[Int(i)].deadline
                    if deadline <= now {
                        unlink(i)
                        link(i, into: dueList)
                    } else if deadline & Self.mask != tick & Self.mask {
                        // Postponed since it was linked here: on to the slot of its deadline.
                        unlink(i)
                        link(i, into: Int32(deadline & Self.mask))
                    }
                    i = next
                }
                tick += 1
            }
        }
        currentTick = now
        if let cached = cachedNextTick, cached <= now { cachedNextTick = nil }
    }

    /// Takes the next expired timer, re-arming it first if it repeats. Returns its id and payload;
    /// a one-shot's id is already stale when returned.
    mutating func popDue() -> (id: TimerID, payload: UInt64)? {
        let i = heads[Int(dueList)]
        guard i >= 0 else { return nil }
        unlink(i)
        let node = nodes[Int(i)]
        let id = TimerID(index: i, generation: node.generation)
        if node.periodTicks > 0 {
            let when = max(node.deadline + UInt64(node.periodTicks), currentTick + 1)
            nodes[Int(i)].deadline = when
            link(i, into: Int32(when & Self.mask))
            if let cached = cachedNextTick, when < cached { cachedNextTick = when }
        } else {
            release(i)
        }
        return (id, node.payload)
    }

    /// The earliest tick at which a timer may be due, or nil when none is armed. May be early (a
    /// slot's node can belong to a later revolution): the loop then wakes, finds nothing, sleeps.
    mutating func nextWakeTick() -> UInt64? {
        if armedCount == 0 { return nil }
        if heads[Int(dueList)] >= 0 { return currentTick }
        if let cached = cachedNextTick { return cached }
        // The first non-empty slot ahead; its nodes may belong to a later revolution, in which
        // case the wake-up is early, and harmless. Cached until a sweep passes it or an earlier
        // timer is armed, so a busy loop does not rescan every iteration.
        var tick = currentTick + 1
        for _ in 0..<Self.slotCount {
            if heads[Int(tick & Self.mask)] >= 0 { break }
            tick += 1
        }
        cachedNextTick = tick
        return tick
    }

    // MARK: Lists

    private mutating func takeFreeNode() -> Int32 {
        if freeHead >= 0 {
            let i = freeHead
            freeHead = nodes[Int(i)].next
            return i
        }
        if used == capacity { grow() }
        (nodes + used).initialize(to: Node())
        used += 1
        return Int32(used - 1)
    }

    private mutating func release(_ i: Int32) {
        nodes[Int(i)].generation &+= 1
        nodes[Int(i)].next = freeHead
        freeHead = i
        armedCount -= 1
    }

    /// Timer nodes the first growth allocates: a loop arms a few of its own (accept retry,
    /// shutdown deadline) and then one per connection with a timeout, doubling from here.
    private static let initialNodeCapacity = 64

    /// Doubles the array, moving the nodes in use; the new half stays untouched until armed.
    private mutating func grow() {
        let newCapacity = max(Self.initialNodeCapacity, capacity * 2)
        let newNodes = UnsafeMutablePointer<Node>.allocate(capacity: newCapacity)
        newNodes.moveInitialize(from: nodes, count: used)
        nodes.deallocate()
        nodes = newNodes
        capacity = newCapacity
    }

    /// Puts node `i` first in `list` (a slot, or the due list).
    private mutating func link(_ i: Int32, into list: Int32) {
        let head = heads[Int(list)]
        nodes[Int(i)].prev = -1 - list
        nodes[Int(i)].next = head
        if head >= 0 { nodes[Int(head)].prev = i }
        heads[Int(list)] = i
    }

    private mutating func unlink(_ i: Int32) {
        let n = nodes[Int(i)]
        if n.prev >= 0 { nodes[Int(n.prev)].next = n.next } else { heads[Int(-1 - n.prev)] = n.next }
        // The next one takes this one's place: after it, or first in the list (`prev` says which).
        if n.next >= 0 { nodes[Int(n.next)].prev = n.prev }
        // Its own links are left as they were: an unlinked node is next linked (`link` sets
        // both) or released (`release` sets `next`), and nothing reads them in between.
    }
}
