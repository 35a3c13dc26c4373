import Glibc

/// The close path: half-close (`shutdownWrite`), close after the queue drains, lingering until
/// the peer's EOF, the abort that releases everything at once, and the per-connection timeout
/// that bounds each stage.
extension EventLoop {
    // MARK: Closing

    func shutdownWrite(_ c: Connection) {
        guard let slot = liveSlot(c), slot.pointee.kind == .connection, canSend(slot) else { return }
        guard writeEverythingPending(c) else { return }
        if slot.pointee.queue.isEmpty {
            Sys.shutdownWrite(c.fd)
            slot.pointee.flags.insert(.writeShutDown)
        } else {
            slot.pointee.flags.insert(.shutdownWriteAfterFlush)
        }
    }

    func close(_ c: Connection, reason: CloseReason, flush: Bool) {
        guard let slot = liveSlot(c) else { return }
        // A write already failed inside this read callback: it closes when the callback returns.
        if flush && slot.pointee.flags.contains(.writeFailed) { return }
        if flush && slot.pointee.flags.contains(.lingering) { return }  // already closing
        if flush && slot.pointee.kind == .connection {
            guard writeEverythingPending(c) else { return }
            if slot.pointee.flags.contains(.transformed) && !slot.pointee.flags.contains(.closeAfterFlush) {
                transformWillClose(c)  // after the pending bytes, before the close (TLS close_notify)
                guard liveSlot(c) != nil else { return }
            }
            if !slot.pointee.queue.isEmpty {
                if slot.pointee.flags.contains(.closeAfterFlush) { return }
                slot.pointee.flags.insert(.closeAfterFlush)
                s.pointee.closingReasons[c.fd] = reason
                updateInterest(c.fd)
                setTimeout(c, configuration.closeFlushTimeout)
                return
            }
            finishClose(c.fd, reason: reason)
            return
        }
        closeNow(c.fd, reason: reason)
    }

    /// Writes what waits outside the queue, in the order it was sent: the deferred chain, then the
    /// cork. Each write may call back and close `c` (see `sendingSlot`): false then.
    private func writeEverythingPending(_ c: Connection) -> Bool {
        writeDeferred(c.fd)
        guard liveSlot(c) != nil else { return false }
        if s.pointee.corkFD == c.fd { writeCork(c.fd) }
        return liveSlot(c) != nil
    }

    /// The queue of `fd` has just drained: finishes a close or half-close that waited for it.
    /// Returns true when the connection is closing (nothing more to do for it).
    func queueDidDrain(_ fd: Int32) -> Bool {
        let slot = s.pointee.slots + Int(fd)
        if slot.pointee.flags.contains(.closeAfterFlush) {
            if !slot.pointee.flags.contains(.lingering) { finishClose(fd, reason: pendingCloseReason(fd)) }
            return true
        }
        if slot.pointee.flags.contains(.shutdownWriteAfterFlush) {
            Sys.shutdownWrite(fd)
            slot.pointee.flags.remove(.shutdownWriteAfterFlush)
            slot.pointee.flags.insert(.writeShutDown)
        }
        return false
    }

    /// The orderly end of a connection whose queue is empty: if the peer may still be sending,
    /// shut down our side and linger, reading and dropping its input until its EOF; otherwise
    /// close at once.
    private func finishClose(_ fd: Int32, reason: CloseReason) {
        let slot = s.pointee.slots + Int(fd)
        guard slot.pointee.kind == .connection, !slot.pointee.flags.contains(.readEOF) else {
            closeNow(fd, reason: reason)
            return
        }
        Sys.shutdownWrite(fd)
        slot.pointee.flags.insert([.closeAfterFlush, .lingering, .writeShutDown])
        s.pointee.closingReasons[fd] = reason
        releaseTail(slot)
        updateInterest(fd)
        setTimeout(Connection(loop: self, fd: fd, generation: slot.pointee.generation), configuration.lingerTimeout)
    }

    /// Why a connection that is closing in stages (flush, linger) is closing. Kept beside the slot
    /// table, not in it: only closing connections need one.
    func pendingCloseReason(_ fd: Int32) -> CloseReason {
        s.pointee.closingReasons[fd] ?? .local
    }

    /// Releases everything the connection holds, then tells its handler: by then the handle is
    /// stale, so nothing the handler does can touch the closed (and maybe reused) descriptor.
    func closeNow(_ fd: Int32, reason: CloseReason) {
        let slot = s.pointee.slots + Int(fd)
        guard slot.pointee.kind == .connection || slot.pointee.kind == .connecting else { return }
        let connection = Connection(loop: self, fd: fd, generation: slot.pointee.generation)
        let handler = slot.pointee.handler
        disarmTimeout(slot)
        dropCork(fd)
        if !s.pointee.closingReasons.isEmpty { s.pointee.closingReasons[fd] = nil }
        deregisterAndRelease(fd, closeDescriptor: true)
        s.pointee.connectionCount -= 1
        s.pointee.statistics.closed &+= 1
        handler?.connectionDidClose(connection, reason: reason)
        connectionDidRelease()
    }

    func reasonFor(errno e: Int32) -> CloseReason {
        (e == ECONNRESET || e == EPIPE) ? .reset : .error(e)
    }

    // MARK: Timeouts

    /// Arms (or with nil, disarms) the connection's one timeout: the handler's idle timeout, a
    /// connect's deadline, or the loop's own bound on a flush or a linger.
    func setTimeout(_ c: Connection, _ timeout: Duration?) {
        guard let slot = liveSlot(c) else { return }
        if let armed = armedTimeout(slot) {
            // The common case, a timeout pushed back (the idle timeout after each request): the
            // armed timer only takes the later deadline.
            if let timeout, s.pointee.wheel.postpone(armed, to: deadlineTick(after: timeout)) { return }
            disarmTimeout(slot)
        }
        if let timeout {
            slot.pointee.timeoutIndex = armTimer(after: timeout, period: nil, payload: c.id).index
        }
    }

    /// The id of a slot's armed timeout: its node's, whose generation the wheel keeps (the slot
    /// keeps only the index, which it clears whenever the node is released).
    func armedTimeout(_ slot: UnsafeMutablePointer<Slot>) -> TimerID? {
        let index = slot.pointee.timeoutIndex
        guard index >= 0 else { return nil }
        let id = s.pointee.wheel.id(at: index)
        assert(s.pointee.wheel.isArmed(id), "a slot's timeout index names a released node")
        return id
    }

    /// Cancels a slot's armed timeout, if any, and forgets its index (the one way a slot lets
    /// go of its node before it fires).
    func disarmTimeout(_ slot: UnsafeMutablePointer<Slot>) {
        guard let armed = armedTimeout(slot) else { return }
        s.pointee.wheel.cancel(armed)
        slot.pointee.timeoutIndex = -1
    }

    func connectionTimeoutFired(token: UInt64, timer: TimerID) {
        let c = connection(token: token)
        // The wheel released the node as it fired, so its index is compared, not its id.
        guard let slot = liveSlot(c), slot.pointee.timeoutIndex == timer.index else { return }
        slot.pointee.timeoutIndex = -1
        if slot.pointee.flags.contains(.lingering) {
            closeNow(c.fd, reason: pendingCloseReason(c.fd))  // the peer never sent its EOF
        } else if slot.pointee.flags.contains(.closeAfterFlush) || slot.pointee.kind == .connecting {
            closeNow(c.fd, reason: .timeout)  // a flush or a connect that takes too long is abandoned
        } else {
            slot.pointee.handler?.connectionDidTimeout(c)
        }
    }
}
