/// Names one handler registered on a socket (`on`, `once`, `onAny`, `onDisconnect`, ...), so it can
/// be removed with `off`. Node removes a listener by its function; Swift closures have no identity,
/// so registering returns this token instead. Unique per socket.
public struct SocketIOListenerID: Hashable, Sendable {
    let value: UInt64
}

/// The handlers of one kind, in the order Node's EventEmitter keeps them: appended by `on`, put in
/// front by `prepend`, a `once` handler removed before it runs.
struct SocketIOListenerList<Handler> {
    struct Entry {
        let id: SocketIOListenerID
        let once: Bool
        let handler: Handler
    }

    private(set) var entries: [Entry] = []
    /// How many entries are `once`: with none, an emission changes nothing (no scan, no copy).
    private(set) var onceCount = 0

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }

    mutating func add(_ entry: Entry, prepend: Bool = false) {
        if prepend { entries.insert(entry, at: 0) } else { entries.append(entry) }
        if entry.once { onceCount += 1 }
    }

    @discardableResult
    mutating func remove(_ id: SocketIOListenerID) -> Bool {
        guard let index = entries.firstIndex(where: { $0.id == id }) else { return false }
        if entries.remove(at: index).once { onceCount -= 1 }
        return true
    }

    mutating func removeAll() {
        entries.removeAll()
        onceCount = 0
    }

    /// The handlers one emission runs, in order, as the list is now: a handler added or removed
    /// while they run takes effect from the next emission (as in Node). `once` handlers leave the
    /// list first, so one that emits again does not run twice. Without `once` handlers this is the
    /// list's own storage, shared: no copy.
    mutating func firing() -> [Entry] {
        let now = entries
        if onceCount > 0 {
            entries.removeAll(where: \.once)
            onceCount = 0
        }
        return now
    }
}

/// A socket's event handlers by event name: a list per event, dropped with its last handler.
struct SocketIOListenerTable<Handler> {
    private var lists: [String: SocketIOListenerList<Handler>] = [:]

    mutating func add(_ event: String, _ entry: SocketIOListenerList<Handler>.Entry, prepend: Bool = false) {
        lists[event, default: SocketIOListenerList()].add(entry, prepend: prepend)
    }

    /// Removes the handler `id` from whichever event has it.
    @discardableResult
    mutating func remove(_ id: SocketIOListenerID) -> Bool {
        for event in lists.keys where lists[event]!.remove(id) {
            if lists[event]!.isEmpty { lists[event] = nil }
            return true
        }
        return false
    }

    /// Removes every handler of `event`.
    mutating func removeAll(_ event: String) { lists[event] = nil }

    mutating func removeAll() { lists.removeAll() }

    func count(_ event: String) -> Int { lists[event]?.count ?? 0 }

    /// The handlers `event` runs now (see `SocketIOListenerList.firing`).
    /// One hash lookup when the event has no `once` handler (the common case, on every event).
    mutating func firing(_ event: String) -> [SocketIOListenerList<Handler>.Entry] {
        guard let list = lists[event] else { return [] }
        guard list.onceCount > 0 else { return list.entries }
        let entries = lists[event]!.firing()
        if lists[event]!.isEmpty { lists[event] = nil }
        return entries
    }
}
