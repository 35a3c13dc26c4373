/// The read path: one read per readable event into the loop's shared receive buffer, the
/// unconsumed tail a connection keeps between reads, and redelivery of that tail without a read.
extension EventLoop {
    /// Reads once and hands the handler the kept tail plus the new bytes. With `fromSocket` false
    /// it hands over the kept tail alone (see `redeliverBufferedInput`).
    func handleReadable(_ fd: Int32, fromSocket: Bool = true) {
        let slot = s.pointee.slots + Int(fd)
        let generation = slot.pointee.generation
        let buffer = s.pointee.receiveBuffer
        let capacity = s.pointee.receiveCapacity
        if slot.pointee.flags.contains(.lingering) {
            guard fromSocket else { return }
            switch Sys.read(fd, buffer, capacity) {
            case .bytes, .wouldBlock: break  // dropped: nobody will answer it
            case .eof, .error: closeNow(fd, reason: pendingCloseReason(fd))
            }
            return
        }
        if slot.pointee.flags.contains(.transformed) {
            handleTransformedReadable(fd, fromSocket: fromSocket)
            return
        }
        guard fromSocket else {
            deliverKeptTail(slot, fd)
            return
        }
        // An unconsumed tail goes in front of the new bytes so the handler sees one contiguous view.
        var prefix = 0
        if let tail = slot.pointee.tail {
            prefix = tail.count
            buffer.copyMemory(from: tail.bytes, byteCount: prefix)
        }

        switch Sys.read(fd, buffer + prefix, capacity - prefix) {
        case .bytes(let n):
            s.pointee.statistics.bytesRead &+= UInt64(n)
            s.pointee.statistics.reads &+= 1
            let total = prefix + n
            let connection = Connection(loop: self, fd: fd, generation: generation)
            guard let handler = slot.pointee.handler else { return }
            s.pointee.corkFD = fd
            let consumed = handler.connection(connection, didRead: UnsafeRawBufferPointer(start: buffer, count: total))
            // The table does not move (see `LoopState.slots`), but the callback may have closed
            // this connection, and opened another on the same fd: the generation tells.
            guard slot.pointee.generation == generation, slot.pointee.kind == .connection else {
                return  // closed inside the callback; closeNow already dropped the cork
            }
            keepTail(slot, from: buffer, total: total, consumed: consumed)
            guard endReadCallback(fd, slot) else { return }
            if total - consumed >= capacity, slot.pointee.generation == generation {
                closeNow(fd, reason: .inputOverflow)
            }
        case .wouldBlock:
            break
        case .eof:
            slot.pointee.flags.insert(.readEOF)
            updateInterest(fd)
            if let handler = slot.pointee.handler {
                handler.connectionDidReadEOF(Connection(loop: self, fd: fd, generation: generation))
            }
        case .error(let e):
            closeNow(fd, reason: reasonFor(errno: e))
        }
    }

    /// What follows a read callback, from the socket or a redelivery, once its tail is kept: the
    /// cork's one write, and the close a failed write inside the callback asked for. False when
    /// the connection closed.
    @inline(__always)
    private func endReadCallback(_ fd: Int32, _ slot: UnsafeMutablePointer<Slot>) -> Bool {
        if !s.pointee.keepCorkAfterRead { endCork(fd) }
        guard !slot.pointee.flags.contains(.writeFailed) else {
            closeNow(fd, reason: pendingCloseReason(fd))  // a write failed inside the callback
            return false
        }
        return true
    }

    func setReadPaused(_ c: Connection, _ paused: Bool) {
        guard let slot = liveSlot(c) else { return }
        if paused { slot.pointee.flags.insert(.readPausedByUser) } else { slot.pointee.flags.remove(.readPausedByUser) }
        updateInterest(c.fd)
    }

    // MARK: The kept tail

    /// Keeps the unconsumed bytes for the next read, in a block sized to them (see `TailPool`):
    /// grown when the tail outgrows its block, moved to a smaller one when it shrinks to a
    /// `TailPool.shrinkRatio`th of it, given back when empty.
    /// Inline at its two callers: every read passes here (most consume all they got, with no
    /// tail before), and a pipelined read that leaves one does on every read; out of line it cost
    /// about 25 instructions a call (callgrind, `/plaintext-async` 16-deep).
    @inline(__always)
    func keepTail(_ slot: UnsafeMutablePointer<Slot>, from buffer: UnsafeMutableRawPointer, total: Int, consumed: Int) {
        let remaining = total - min(max(consumed, 0), total)
        if remaining == 0 {
            if slot.pointee.tail != nil { releaseTail(slot) }
            return
        }
        let held = heldTailCapacity(slot)
        if remaining > held
            || (held > TailPool.smallest && s.pointee.tailPool.capacity(for: remaining) <= held / TailPool.shrinkRatio) {
            // The tail's bytes are in the receive buffer (copied in front of the read), so the
            // old block can go before the new one is filled.
            releaseTail(slot)
            let (block, capacity) = s.pointee.tailPool.acquire(remaining)
            slot.pointee.tail = block
            s.pointee.tailBytesHeld += capacity
        }
        let tail = slot.pointee.tail!
        tail.fill(from: buffer + (total - remaining), count: remaining)
    }

    /// Gives a slot's tail block back to the pool (which frees it if it is full).
    func releaseTail(_ slot: UnsafeMutablePointer<Slot>) {
        guard let tail = slot.pointee.tail else { return }
        s.pointee.tailBytesHeld -= heldTailCapacity(slot)
        s.pointee.tailPool.release(tail)
        slot.pointee.tail = nil
    }

    /// The size of the block holding `c`'s unconsumed input (0: none), for tests and metrics.
    func tailCapacity(_ c: Connection) -> Int {
        guard let slot = liveSlot(c) else { return 0 }
        return heldTailCapacity(slot)
    }

    /// The size of the block a slot's tail is in (0: no tail).
    @inline(__always)
    func heldTailCapacity(_ slot: UnsafeMutablePointer<Slot>) -> Int {
        guard let tail = slot.pointee.tail else { return 0 }
        return s.pointee.tailPool.capacity(ofClass: tail.sizeClass)
    }

    // MARK: Redelivery

    /// Hands the handler the kept tail where it lies, in its block: a redelivery reads nothing,
    /// so the bytes need not pass through the receive buffer. An async route answering pipelined
    /// requests redelivers once per request; copied there and back, the tail cost two copies of
    /// all the requests still behind each one (callgrind, `/plaintext-async` 16-deep: about 300
    /// instructions per request with the full read path around them).
    ///
    /// The block is off the slot while the handler runs, so nothing the callback does (a close,
    /// which releases a slot's tail) can give it back to the pool under the handler's view; once
    /// the callback returns, the tail starts after what it consumed (the bytes stay where they
    /// are: `TailBlock.start`). The cork never borrows these bytes (it borrows only from the
    /// receive buffer), so a later read may overwrite them.
    private func deliverKeptTail(_ slot: UnsafeMutablePointer<Slot>, _ fd: Int32) {
        guard let tail = slot.pointee.tail, let handler = slot.pointee.handler else { return }
        let generation = slot.pointee.generation
        let held = heldTailCapacity(slot)
        slot.pointee.tail = nil
        let total = tail.count
        s.pointee.corkFD = fd
        let consumed = handler.connection(Connection(loop: self, fd: fd, generation: generation),
                                          didRead: UnsafeRawBufferPointer(start: tail.bytes, count: total))
        let live = slot.pointee.generation == generation && slot.pointee.kind == .connection
        // Only a read keeps a tail, and none of this descriptor's can run inside its own callback.
        assert(!live || slot.pointee.tail == nil, "a tail was kept during its own redelivery")
        let remaining = total - min(max(consumed, 0), total)
        if !live || remaining == 0 {
            s.pointee.tailBytesHeld -= held
            s.pointee.tailPool.release(tail)
            if !live { return }  // closed inside the callback; closeNow already dropped the cork
        } else {
            if remaining < total { tail.dropFirst(total - remaining) }
            slot.pointee.tail = tail
            // keepTail's shrink rule, written out: a shared predicate cost the read path 20
            // instructions (gate, http-get), whatever its form.
            if held > TailPool.smallest && s.pointee.tailPool.capacity(for: remaining) <= held / TailPool.shrinkRatio {
                moveTailToSmallerBlock(slot)
            }
        }
        _ = endReadCallback(fd, slot)
    }

    /// Moves a slot's tail into a block sized to it (the pool's shrink rule, as `keepTail`).
    private func moveTailToSmallerBlock(_ slot: UnsafeMutablePointer<Slot>) {
        guard let old = slot.pointee.tail else { return }
        let count = old.count
        let (block, capacity) = s.pointee.tailPool.acquire(count)
        block.fill(from: old.bytes, count: count)
        releaseTail(slot)
        slot.pointee.tail = block
        s.pointee.tailBytesHeld += capacity
    }

    /// Queues the connection's kept input for delivery to its handler in this iteration, without
    /// waiting for new bytes: for a protocol that left requests unconsumed while it was busy (an
    /// HTTP response completed later, with pipelined requests behind it).
    func redeliverBufferedInput(_ c: Connection) {
        // Checked when it runs, not now: inside a read callback the tail is kept only on return.
        guard liveSlot(c) != nil else { return }
        s.pointee.redeliveries.append(c.id)
    }

    /// `Connection.deliverBufferedInputNow`: what a redelivery does, at once.
    func deliverBufferedInputNow(_ c: Connection) {
        guard let slot = liveSlot(c), slot.pointee.kind == .connection,
              slot.pointee.flags.isDisjoint(with: [.readPausedByUser, .closeAfterFlush]) else { return }
        // A read callback owns the cork while it runs: what a job gathered for another connection
        // goes first. What it gathered for this one stays, and the callback leaves the cork open:
        // an async route answering 16 pipelined requests then writes once, not 16 times.
        let corkingJobs = s.pointee.corkingJobs
        if corkingJobs {
            if s.pointee.corkFD != c.fd { endJobCork() }
            s.pointee.corkingJobs = false
            s.pointee.keepCorkAfterRead = true
        }
        handleReadable(c.fd, fromSocket: false)
        if corkingJobs {
            s.pointee.keepCorkAfterRead = false
            s.pointee.corkingJobs = true
            // Bytes the cork gathers by reference in the receive buffer are valid only until the
            // next read into it, which the jobs may start before they end: written now.
            if s.pointee.corkFD == c.fd && corkBorrowsReceiveBuffer() { writeCork(c.fd) }
        }
    }

    /// Hands every queued connection its kept input, until no handler asks again. Takes the list
    /// by batches: a handler may ask for another redelivery while its own runs.
    func runRedeliveries() {
        while !s.pointee.redeliveries.isEmpty {
            // Swapped, not copied: a copy would share the buffer, and emptying the shared one
            // would allocate a new one on every batch (a deferred HTTP response makes one).
            swap(&s.pointee.redeliveries, &s.pointee.redeliveryBatch)
            var i = 0
            while i < s.pointee.redeliveryBatch.count {
                let c = connection(token: s.pointee.redeliveryBatch[i])
                i += 1
                guard let slot = liveSlot(c), slot.pointee.kind == .connection,
                      slot.pointee.flags.isDisjoint(with: [.readPausedByUser, .closeAfterFlush]) else { continue }
                handleReadable(c.fd, fromSocket: false)
            }
            s.pointee.redeliveryBatch.removeAll(keepingCapacity: true)
        }
    }
}
