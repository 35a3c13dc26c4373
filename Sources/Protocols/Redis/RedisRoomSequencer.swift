/// Puts each room's messages from Redis back into one gap-free sequence, sans-I/O.
///
/// Messages reach a process through a subscription, which loses what was published while it was
/// down, and through catch-up reads of the room's stream. This type decides, per room, what to
/// deliver and what to fetch:
///
/// - the next id (`last + 1`) is delivered at once, followed by any held ones that now follow;
/// - an older id is a duplicate (a catch-up read and a live message overlapping) and is dropped;
/// - a newer id means a gap: it is held, and a catch-up read of the stream after `last` is asked
///   for (one at a time per room);
/// - a catch-up page delivers what follows `last`; when the last page is in and ids are still
///   missing, they are not in the stream (trimmed, or lost with a Redis that restarted empty):
///   they are reported as skipped and delivery moves on to what is held, so one loss never stalls
///   a room.
///
/// `Payload` is whatever the owner needs to deliver a message (the relay's text and origin).
public struct RedisRoomSequencer<Payload> {
    /// A catch-up read to make: the room's stream entries with ids after `after`.
    public struct Fetch: Hashable, Sendable {
        public var room: String
        public var after: UInt64

        public init(room: String, after: UInt64) {
            self.room = room
            self.after = after
        }
    }

    private struct Room {
        var last: UInt64 = 0
        var held: [UInt64: Payload] = [:]
        var fetching = false
        /// A fetch failed or a resync was asked for while one was in flight: fetch again.
        var refetch = false
    }

    private var rooms: [String: Room] = [:]
    /// Most messages held per room while a gap is being filled; beyond, the oldest held are
    /// delivered across the gap (reported as skipped) rather than growing without bound.
    public var maxHeldPerRoom: Int
    /// Rooms remembered. Past it, rooms with nothing in progress (no gap being filled) are
    /// forgotten, down to three quarters of it: a forgotten room starts again like a new one
    /// (see `seed`), so a process that sees messages in ever new rooms keeps bounded state.
    public var maxRooms: Int

    public init(maxHeldPerRoom: Int = 100_000, maxRooms: Int = 20_000) {
        self.maxHeldPerRoom = maxHeldPerRoom
        self.maxRooms = max(1, maxRooms)
    }

    /// Whether `room` is remembered.
    public func knows(_ room: String) -> Bool { rooms[room] != nil }

    /// Makes an unknown room continue after `last` (what this process already delivered in it,
    /// when the sequencer forgot it) instead of reading its stream from the start.
    public mutating func seed(_ room: String, last: UInt64) {
        guard rooms[room] == nil else { return }
        var r = Room()
        r.last = last
        rooms[room] = r
    }

    /// Forgets idle rooms while over `maxRooms`.
    private mutating func forgetIdleRooms() {
        guard rooms.count > maxRooms else { return }
        let target = maxRooms - maxRooms / 4
        var idle: [String] = []
        for (name, r) in rooms where !r.fetching && !r.refetch && r.held.isEmpty {
            idle.append(name)
            if rooms.count - idle.count <= target { break }
        }
        for name in idle { rooms[name] = nil }
    }

    /// The newest id delivered in `room` (0 if none).
    public func lastID(_ room: String) -> UInt64 { rooms[room]?.last ?? 0 }

    /// Rooms this sequencer has seen.
    public var roomNames: [String] { Array(rooms.keys) }

    /// Messages held behind a gap, over every room.
    public var heldCount: Int { rooms.values.reduce(0) { $0 + $1.held.count } }

    /// A live message. Calls `deliver` for what can be delivered now; returns a read to make, if any.
    public mutating func received(room: String, id: UInt64, payload: Payload,
                                  deliver: (UInt64, Payload) -> Void,
                                  skipped: (ClosedRange<UInt64>) -> Void = { _ in }) -> Fetch? {
        var r = rooms[room] ?? Room()
        defer {
            rooms[room] = r
            forgetIdleRooms()
        }
        guard id > r.last else { return nil }
        if id == r.last + 1 && !r.fetching {
            r.last = id
            deliver(id, payload)
            Self.drainHeld(&r, deliver: deliver)
            return nil
        }
        r.held[id] = payload
        if r.held.count > maxHeldPerRoom { Self.skipGaps(&r, deliver: deliver, skipped: skipped) }
        if r.fetching { return nil }
        r.fetching = true
        return Fetch(room: room, after: r.last)
    }

    /// A page of a catch-up read, in stream order. `isLastPage`: the read reached the end of the
    /// stream (fewer entries than asked for). Returns the next read to make (the next page, or a
    /// fresh read if one was asked for meanwhile), if any.
    public mutating func fetched(room: String, entries: [(UInt64, Payload)], isLastPage: Bool,
                                 deliver: (UInt64, Payload) -> Void,
                                 skipped: (ClosedRange<UInt64>) -> Void) -> Fetch? {
        var r = rooms[room] ?? Room()
        defer { rooms[room] = r }
        for (id, payload) in entries where id > r.last {
            if id > r.last + 1 { skipped(r.last + 1...id - 1) }
            r.held[id] = nil
            r.last = id
            deliver(id, payload)
        }
        Self.drainHeld(&r, deliver: deliver)
        if !isLastPage || r.refetch {
            r.refetch = false
            return Fetch(room: room, after: r.last)
        }
        // The stream has nothing more: whatever is still missing before a held id is gone.
        Self.skipGaps(&r, deliver: deliver, skipped: skipped)
        r.fetching = false
        return nil
    }

    /// Makes `room` known, so the next `resync` reads it even if nothing was delivered in it yet
    /// (a room whose first message this process published while unsubscribed).
    public mutating func track(_ room: String) {
        if rooms[room] == nil {
            rooms[room] = Room()
            forgetIdleRooms()
        }
    }

    /// A catch-up read could not be made or answered (Redis down): it is asked for again by
    /// `resync(onlyStalled: true)` once commands can be sent.
    public mutating func fetchFailed(room: String) {
        guard var r = rooms[room] else { return }
        r.fetching = false
        r.refetch = true
        rooms[room] = r
    }

    /// Reads to make after a reconnect: for every room (the subscription was down, so anything may
    /// have been missed), or only for rooms whose reads failed or that hold messages behind a gap.
    public mutating func resync(onlyStalled: Bool) -> [Fetch] {
        var out: [Fetch] = []
        for (name, var r) in rooms {
            if onlyStalled && (r.fetching || (!r.refetch && r.held.isEmpty)) { continue }
            if r.fetching {
                r.refetch = true  // the read in flight may predate the subscription: read again after it
            } else {
                r.fetching = true
                r.refetch = false
                out.append(Fetch(room: name, after: r.last))
            }
            rooms[name] = r
        }
        return out
    }

    private static func drainHeld(_ r: inout Room, deliver: (UInt64, Payload) -> Void) {
        while let next = r.held.removeValue(forKey: r.last + 1) {
            r.last += 1
            deliver(r.last, next)
        }
    }

    /// Delivers every held message in id order, reporting the ids missing between them.
    private static func skipGaps(_ r: inout Room, deliver: (UInt64, Payload) -> Void, skipped: (ClosedRange<UInt64>) -> Void) {
        for id in r.held.keys.sorted() {
            if id > r.last + 1 { skipped(r.last + 1...id - 1) }
            r.last = id
            deliver(id, r.held.removeValue(forKey: id)!)  // `id` is one of `held`'s own keys
        }
    }
}
