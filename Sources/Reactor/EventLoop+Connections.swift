/// A connection's slot: opening one, finding it again from a handle, its handler, and the epoll
/// interest that follows its state. The data paths are beside it: `EventLoop+Read` (readable
/// events, the kept tail, redelivery), `EventLoop+Write` and `EventLoop+Cork` (sends, the deferred
/// chain, the queue and its watermarks), `EventLoop+Close` (shutdown, linger, abort, timeouts).
extension EventLoop {
    /// Takes ownership of a connected descriptor and gives it a handler.
    func openConnection(_ fd: Int32, kind: Slot.Kind = .connection, interest: Interest = .read) throws(SystemError) -> Connection {
        let generation = try register(fd, kind: kind, interest: interest)
        let slot = s.pointee.slots + Int(fd)
        slot.pointee.highWatermark = Int32(clamping: configuration.highWatermark)
        slot.pointee.lowWatermark = Int32(clamping: configuration.lowWatermark)
        s.pointee.connectionCount += 1
        return Connection(loop: self, fd: fd, generation: generation)
    }

    /// The slot of a handle that is still current, or nil.
    @inline(__always)
    func liveSlot(_ c: Connection) -> UnsafeMutablePointer<Slot>? {
        guard c.fd >= 0, Int(c.fd) < s.pointee.initializedSlots else { return nil }
        let slot = s.pointee.slots + Int(c.fd)
        guard slot.pointee.generation == c.generation else { return nil }
        let kind = slot.pointee.kind
        return kind == .connection || kind == .connecting ? slot : nil
    }

    /// The handle of the connection a token names (the fd in the low half, the generation in the
    /// high half; see `Slot.token`), as the loop's lists of connections keep them.
    @inline(__always)
    func connection(token: UInt64) -> Connection {
        Connection(loop: self, fd: Int32(truncatingIfNeeded: token & 0xFFFF_FFFF),
                   generation: UInt32(truncatingIfNeeded: token >> 32))
    }

    func isLive(_ c: Connection) -> Bool { liveSlot(c) != nil }

    func handler(of c: Connection) -> (any ConnectionHandler)? { liveSlot(c)?.pointee.handler }

    /// Hands the connection to another handler (a protocol switch: HTTP to WebSocket). The new
    /// handler gets every later event; call `redeliverBufferedInput` to give it bytes the old one
    /// left unconsumed.
    func setHandler(_ c: Connection, _ handler: any ConnectionHandler) {
        guard let slot = liveSlot(c) else { return }
        slot.pointee.handler = handler
    }

    /// Read interest unless paused, at EOF or closing; write interest exactly while bytes are queued
    /// (a level-triggered EPOLLOUT on an empty queue would wake the loop for nothing).
    func updateInterest(_ fd: Int32) {
        let slot = s.pointee.slots + Int(fd)
        guard slot.pointee.kind == .connection else { return }
        var interest: Interest = []
        let noRead: Slot.Flags = [.readPausedByUser, .readPausedByBackpressure, .readEOF, .closeAfterFlush]
        if slot.pointee.flags.isDisjoint(with: noRead) || slot.pointee.flags.contains(.lingering) { interest.insert(.read) }
        if !slot.pointee.queue.isEmpty { interest.insert(.write) }
        setInterest(fd, interest)
    }
}
