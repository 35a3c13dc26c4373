import Glibc

/// The per-connection data path: reads into the shared receive buffer, write-through sends, the
/// cork, the outbound queue with its watermarks, timeouts and closing.
extension EventLoop {
    // MARK: Opening

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

    func isLive(_ c: Connection) -> Bool { liveSlot(c) != nil }

    func handler(of c: Connection) -> (any ConnectionHandler)? { liveSlot(c)?.pointee.handler }

    // MARK: Reading

    /// Reads once and hands the handler the kept tail plus the new bytes. With `fromSocket` false
    /// it hands over the kept tail alone (see `redeliverBufferedInput`).
    func handleReadable(_ fd: Int32, fromSocket: Bool = true) {
        let slot = s.pointee.slots + Int(fd)
        let generation = slot.pointee.generation
        let buffer = s.pointee.receiveBuffer
        let capacity = s.pointee.receiveCapacity
        // An unconsumed tail goes in front of the new bytes so the handler sees one contiguous view.
        if slot.pointee.flags.contains(.lingering) {
            guard fromSocket else { return }
            switch Sys.read(fd, buffer, capacity) {
            case .bytes, .wouldBlock: break  // dropped: nobody will answer it
            case .eof, .error: closeNow(fd, reason: pendingCloseReason(fd))
            }
            return
        }
        let prefix = Int(slot.pointee.tailCount)
        if prefix > 0 { buffer.copyMemory(from: slot.pointee.tail!, byteCount: prefix) }
        if !fromSocket && prefix == 0 { return }

        switch fromSocket ? Sys.read(fd, buffer + prefix, capacity - prefix) : .bytes(0) {
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
            endCork(fd)
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

    /// Keeps the unconsumed bytes for the next read, in a block sized to them (see `TailPool`):
    /// grown when the tail outgrows its block, moved to a smaller one when it shrinks to a quarter,
    /// given back when empty.
    private func keepTail(_ slot: UnsafeMutablePointer<Slot>, from buffer: UnsafeMutableRawPointer, total: Int, consumed: Int) {
        let remaining = total - min(max(consumed, 0), total)
        if remaining == 0 {
            if slot.pointee.tail != nil { releaseTail(slot) }
            return
        }
        let held = Int(slot.pointee.tailCapacity)
        if remaining > held || (held > TailPool.smallest && s.pointee.tailPool.capacity(for: remaining) <= held / 4) {
            // The tail's bytes are in the receive buffer (copied in front of the read), so the
            // old block can go before the new one is filled.
            releaseTail(slot)
            let (block, capacity) = s.pointee.tailPool.acquire(remaining)
            slot.pointee.tail = block
            slot.pointee.tailCapacity = Int32(capacity)
            s.pointee.tailBytesHeld += capacity
        }
        slot.pointee.tail!.copyMemory(from: buffer + (total - remaining), byteCount: remaining)
        slot.pointee.tailCount = Int32(remaining)
    }

    /// Queues the connection's kept input for delivery to its handler in this iteration, without
    /// waiting for new bytes: for a protocol that left requests unconsumed while it was busy (an
    /// HTTP response completed later, with pipelined requests behind it).
    func redeliverBufferedInput(_ c: Connection) {
        // Checked when it runs, not now: inside a read callback the tail is kept only on return.
        guard liveSlot(c) != nil else { return }
        s.pointee.redeliveries.append(c.id)
    }

    /// Writes the queues that sends from other connections' callbacks left for the end of the
    /// iteration. Indexes rather than copies the list: a flush may add to it (a writability
    /// callback that sends), and a copy would allocate every iteration.
    func flushDeferredSends() {
        var i = 0
        while i < s.pointee.deferredFlushes.count {
            let token = s.pointee.deferredFlushes[i]
            i += 1
            let c = Connection(loop: self, fd: Int32(truncatingIfNeeded: token & 0xFFFF_FFFF),
                               generation: UInt32(truncatingIfNeeded: token >> 32))
            guard let slot = liveSlot(c), slot.pointee.kind == .connection else { continue }
            slot.pointee.flags.remove(.flushPending)
            writeDeferred(c.fd)
        }
        s.pointee.deferredFlushes.removeAll(keepingCapacity: true)
        s.pointee.deferredSends.removeAll(keepingCapacity: true)
    }

    /// Writes the sends deferred for `fd` now, oldest first, with one sendmsg; what the kernel
    /// does not take is queued. Every other way out for a connection's bytes (a send from its own
    /// callback, shutdown, close, EPOLLOUT) calls this first, so nothing overtakes them.
    func writeDeferred(_ fd: Int32) {
        let slot = s.pointee.slots + Int(fd)
        let last = slot.pointee.deferredLast
        guard last >= 0 else { return }
        slot.pointee.deferredLast = -1
        var count = 0
        var i = last
        while i >= 0 {
            count += 1
            i = s.pointee.deferredSends[Int(i)].previous
        }
        if count <= LoopState.iovecCapacity {
            // Walk the chain newest first, filling the iovecs from the end: oldest first on the wire.
            let iov = s.pointee.iovecs
            var k = count
            i = last
            while i >= 0 {
                k -= 1
                let bytes = s.pointee.deferredSends[Int(i)].bytes
                iov[k] = iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.base), iov_len: bytes.count)
                i = s.pointee.deferredSends[Int(i)].previous
            }
            _ = writeGathered(fd, iov, count)
            return
        }
        // More than one sendmsg takes: into the queue in order (rare: a burst to one connection).
        var chain: [SharedBytes] = []
        chain.reserveCapacity(count)
        i = last
        while i >= 0 {
            chain.append(s.pointee.deferredSends[Int(i)].bytes)
            i = s.pointee.deferredSends[Int(i)].previous
        }
        for bytes in chain.reversed() { slot.pointee.queue.append(bytes) }
        flushQueue(fd)
    }

    func runRedeliveries() {
        while !s.pointee.redeliveries.isEmpty {
            let batch = s.pointee.redeliveries
            s.pointee.redeliveries.removeAll(keepingCapacity: true)
            for token in batch {
                let c = Connection(loop: self, fd: Int32(truncatingIfNeeded: token & 0xFFFF_FFFF),
                                   generation: UInt32(truncatingIfNeeded: token >> 32))
                guard let slot = liveSlot(c), slot.pointee.kind == .connection,
                      slot.pointee.flags.isDisjoint(with: [.readPausedByUser, .closeAfterFlush]) else { continue }
                handleReadable(c.fd, fromSocket: false)
            }
        }
    }

    /// Hands the connection to another handler (a protocol switch: HTTP to WebSocket). The new
    /// handler gets every later event; call `redeliverBufferedInput` to give it bytes the old one
    /// left unconsumed.
    func setHandler(_ c: Connection, _ handler: any ConnectionHandler) {
        guard let slot = liveSlot(c) else { return }
        slot.pointee.handler = handler
    }

    /// Gives a slot's tail block back to the pool (which frees it if it is full).
    func releaseTail(_ slot: UnsafeMutablePointer<Slot>) {
        if let tail = slot.pointee.tail {
            s.pointee.tailBytesHeld -= Int(slot.pointee.tailCapacity)
            s.pointee.tailPool.release(tail, capacity: Int(slot.pointee.tailCapacity))
            slot.pointee.tail = nil
        }
        slot.pointee.releaseTail()
    }

    /// The size of the block holding `c`'s unconsumed input (0: none), for tests and metrics.
    func tailCapacity(_ c: Connection) -> Int {
        guard let slot = liveSlot(c) else { return 0 }
        return Int(slot.pointee.tailCapacity)
    }

    func setReadPaused(_ c: Connection, _ paused: Bool) {
        guard let slot = liveSlot(c) else { return }
        if paused { slot.pointee.flags.insert(.readPausedByUser) } else { slot.pointee.flags.remove(.readPausedByUser) }
        updateInterest(c.fd)
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

    // MARK: Sending

    func send(_ c: Connection, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let slot = liveSlot(c), slot.pointee.kind == .connection, canSend(slot) else { return false }
        if slot.pointee.deferredLast >= 0 {  // earlier deferred sends go first
            // A write may call back (a close, a writability change): `slot` stays valid memory,
            // but only `liveSlot` says it is still this connection. So after every call that may
            // call back, here and in the other sends, `shutdownWrite` and `close`.
            writeDeferred(c.fd)
            guard liveSlot(c) != nil else { return false }
        }
        let count = bytes.count
        guard count > 0, let base = bytes.baseAddress else { return true }
        if s.pointee.corkFD == c.fd && slot.pointee.queue.isEmpty {
            let borrow = count > LoopState.corkCopyLimit && isInReceiveBuffer(base, count)
            if borrow ? corkAppendBorrowed(base, count) : corkAppendCopy(base, count) { return true }
            writeCork(c.fd)  // full: write what it holds, then try again
            if liveSlot(c) == nil { return false }
            if slot.pointee.queue.isEmpty && (borrow ? corkAppendBorrowed(base, count) : corkAppendCopy(base, count)) {
                return true
            }
        }
        writeThrough(c.fd, base, count)
        return true
    }

    /// Sends two buffers as one write (a frame header and its payload, say). Small ones are
    /// gathered in the cork inside a read callback; large ones go out at once with one `sendmsg`
    /// (whatever the cork holds first, then both buffers), straight from the caller's memory: a
    /// 16 KiB echo is copied by the kernel only, never into the cork.
    func send(_ c: Connection, _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) -> Bool {
        guard let slot = liveSlot(c), slot.pointee.kind == .connection, canSend(slot) else { return false }
        if slot.pointee.deferredLast >= 0 {  // earlier deferred sends go first
            writeDeferred(c.fd)
            guard liveSlot(c) != nil else { return false }
        }
        let total = first.count + second.count
        let corked = s.pointee.corkFD == c.fd
        if !slot.pointee.queue.isEmpty || first.count == 0 || second.count == 0
            || total <= (corked ? LoopState.corkCopyLimit : 256) {
            // Small, or behind queued bytes: the plain path keeps the order and gathers in the cork.
            return send(c, first) && send(c, second)
        }
        if corked && isInReceiveBuffer(second.baseAddress!, second.count) {
            // The payload is the peer's own bytes (an echo): gather it by reference.
            return send(c, first) && send(c, second)
        }
        if corked { writeCork(c.fd) }
        guard liveSlot(c) != nil else { return false }
        let iov = s.pointee.iovecs
        iov[0] = iovec(iov_base: UnsafeMutableRawPointer(mutating: first.baseAddress!), iov_len: first.count)
        iov[1] = iovec(iov_base: UnsafeMutableRawPointer(mutating: second.baseAddress!), iov_len: second.count)
        return writeGathered(c.fd, iov, 2)
    }

    func send(_ c: Connection, _ bytes: SharedBytes) -> Bool {
        guard let slot = liveSlot(c), slot.pointee.kind == .connection, canSend(slot) else { return false }
        let count = bytes.count
        guard count > 0 else { return true }
        if s.pointee.corkFD == c.fd {
            if slot.pointee.deferredLast >= 0 {  // earlier deferred sends go first
                writeDeferred(c.fd)
                guard liveSlot(c) != nil else { return false }
            }
            // Small shared blocks are cheaper copied into the cork than written on their own.
            if slot.pointee.queue.isEmpty && count <= 2048 && corkAppendCopy(bytes.base, count) {
                return true
            }
            writeCork(c.fd)  // keeps the order: corked bytes go first
            guard liveSlot(c) != nil else { return false }
        } else if slot.pointee.queue.isEmpty {
            // A send to a connection other than the one being read: a broadcast fanning out.
            // It waits for the end of the iteration, so every message published to this
            // subscriber in the iteration leaves in one sendmsg instead of one each (uWebSockets
            // drains its pub/sub at the end of the loop iteration for the same reason). The
            // chain lives in the loop's reused array: no allocation per send. (A subscriber with
            // bytes queued already is behind: its send joins the queue below, for EPOLLOUT.)
            s.pointee.deferredSends.append(DeferredSend(bytes: bytes, previous: slot.pointee.deferredLast))
            slot.pointee.deferredLast = Int32(s.pointee.deferredSends.count - 1)
            if !slot.pointee.flags.contains(.flushPending) {
                slot.pointee.flags.insert(.flushPending)
                s.pointee.deferredFlushes.append(c.id)
            }
            return true
        }
        var written = 0
        if slot.pointee.queue.isEmpty {
            switch Sys.send(c.fd, bytes.base, count) {
            case .bytes(let n): written = n; countWrite(n)
            case .wouldBlock, .eof: break
            case .error(let e):
                closeNow(c.fd, reason: reasonFor(errno: e))
                return false
            }
        }
        if written < count {
            slot.pointee.queue.append(bytes, offset: written)
            didEnqueue(c.fd)
        }
        return true
    }

    @inline(__always)
    private func countWrite(_ n: Int) {
        s.pointee.statistics.bytesWritten &+= UInt64(n)
        s.pointee.statistics.writes &+= 1
    }

    private func canSend(_ slot: UnsafeMutablePointer<Slot>) -> Bool {
        slot.pointee.flags.isDisjoint(with: [.closeAfterFlush, .writeShutDown, .shutdownWriteAfterFlush])
    }

    /// Writes at once if nothing is queued; queues a copy of what the kernel does not take.
    private func writeThrough(_ fd: Int32, _ base: UnsafeRawPointer, _ count: Int) {
        let slot = s.pointee.slots + Int(fd)
        var written = 0
        if slot.pointee.queue.isEmpty {
            switch Sys.send(fd, base, count) {
            case .bytes(let n): written = n; countWrite(n)
            case .wouldBlock, .eof: break
            case .error(let e):
                closeNow(fd, reason: reasonFor(errno: e))
                return
            }
        }
        if written < count {
            slot.pointee.queue.append(SharedBytes(copying: UnsafeRawBufferPointer(start: base + written, count: count - written)))
            didEnqueue(fd)
        }
    }

    /// Writes out what the cork gathered for `fd`, keeping the cork open for later sends.
    private func writeCork(_ fd: Int32) {
        let segments = s.pointee.corkSegmentCount
        guard segments > 0 else { return }
        s.pointee.corkSegmentCount = 0
        s.pointee.corkCount = 0
        s.pointee.corkPendingBytes = 0
        let seg = s.pointee.corkSegments
        if segments == 1 {
            writeThrough(fd, seg[0].iov_base!, seg[0].iov_len)
            return
        }
        _ = writeGathered(fd, seg, segments)
    }

    /// Writes `count` iovecs with one `sendmsg` when nothing is queued ahead of them, and queues
    /// what the kernel does not take, in order, as one block. Returns false if the write failed
    /// (the connection is then closed).
    private func writeGathered(_ fd: Int32, _ iov: UnsafeMutablePointer<iovec>, _ count: Int) -> Bool {
        let slot = s.pointee.slots + Int(fd)
        var offered = 0
        for i in 0..<count { offered += iov[i].iov_len }
        var written = 0
        if slot.pointee.queue.isEmpty {
            switch Sys.sendv(fd, iov, count) {
            case .bytes(let n): written = n; countWrite(n)
            case .wouldBlock, .eof: break
            case .error(let e):
                closeNow(fd, reason: reasonFor(errno: e))
                return false
            }
        }
        if written < offered {
            let rest = SharedBytes(capacity: offered - written) { out in
                var skip = written
                var o = 0
                for i in 0..<count {
                    let len = iov[i].iov_len
                    if skip >= len { skip -= len; continue }
                    (out.baseAddress! + o).copyMemory(from: iov[i].iov_base! + skip, byteCount: len - skip)
                    o += len - skip
                    skip = 0
                }
                return o
            }
            slot.pointee.queue.append(rest)
            didEnqueue(fd)
        }
        return true
    }

    /// Copies `count` bytes into the cork; false when they do not fit (write the cork first).
    private func corkAppendCopy(_ base: UnsafeRawPointer, _ count: Int) -> Bool {
        guard s.pointee.corkCount + count <= s.pointee.corkCapacity else { return false }
        let dest = s.pointee.corkBuffer + s.pointee.corkCount
        let n = s.pointee.corkSegmentCount
        let seg = s.pointee.corkSegments
        if n > 0 && seg[n - 1].iov_base! + seg[n - 1].iov_len == dest {
            seg[n - 1].iov_len += count  // extends the cork buffer's last run
        } else {
            guard n < LoopState.corkSegmentCapacity else { return false }
            seg[n] = iovec(iov_base: dest, iov_len: count)
            s.pointee.corkSegmentCount = n + 1
        }
        dest.copyMemory(from: base, byteCount: count)
        s.pointee.corkCount += count
        s.pointee.corkPendingBytes += count
        return true
    }

    /// Adds a reference to bytes in the receive buffer; false when the segment list is full.
    private func corkAppendBorrowed(_ base: UnsafeRawPointer, _ count: Int) -> Bool {
        let n = s.pointee.corkSegmentCount
        guard n < LoopState.corkSegmentCapacity else { return false }
        s.pointee.corkSegments[n] = iovec(iov_base: UnsafeMutableRawPointer(mutating: base), iov_len: count)
        s.pointee.corkSegmentCount = n + 1
        s.pointee.corkPendingBytes += count
        return true
    }

    private func isInReceiveBuffer(_ base: UnsafeRawPointer, _ count: Int) -> Bool {
        let start = UnsafeRawPointer(s.pointee.receiveBuffer)
        return base >= start && base + count <= start + s.pointee.receiveCapacity
    }

    /// Ends a read callback's cork: one write for everything it sent.
    func endCork(_ fd: Int32) {
        guard s.pointee.corkFD == fd else { return }
        writeCork(fd)
        s.pointee.corkFD = -1
    }

    private func didEnqueue(_ fd: Int32) {
        let slot = s.pointee.slots + Int(fd)
        let queued = slot.pointee.queue.byteCount
        if queued > configuration.maxQueuedBytes {
            closeNow(fd, reason: .slowConsumer)
            return
        }
        updateInterest(fd)
        if queued > Int(slot.pointee.highWatermark) && !slot.pointee.flags.contains(.aboveHighWatermark) {
            slot.pointee.flags.insert([.aboveHighWatermark, .readPausedByBackpressure])
            updateInterest(fd)
            slot.pointee.handler?.connectionWritabilityDidChange(
                Connection(loop: self, fd: fd, generation: slot.pointee.generation), isWritable: false)
        }
    }

    /// Writes as much of the queue as the kernel takes (EPOLLOUT), then finishes a pending
    /// half-close or close, and reports crossing the low watermark.
    func flushQueue(_ fd: Int32) {
        let slot = s.pointee.slots + Int(fd)
        let generation = slot.pointee.generation
        if slot.pointee.deferredLast >= 0 {
            writeDeferred(fd)  // oldest first; queues what the kernel does not take
            // It may have closed the connection (a failed write, or a callback's close) and a
            // callback may have opened another on the same fd: the generation tells.
            guard slot.pointee.generation == generation, slot.pointee.kind == .connection else { return }
        }
        drain: while !slot.pointee.queue.isEmpty {
            let n = slot.pointee.queue.gather(into: s.pointee.iovecs, max: LoopState.iovecCapacity)
            var offered = 0
            for i in 0..<n { offered += s.pointee.iovecs[i].iov_len }
            switch Sys.sendv(fd, s.pointee.iovecs, n) {
            case .bytes(let written):
                countWrite(written)
                slot.pointee.queue.consume(written)
                if written < offered { break drain }  // the kernel's buffer is full
            case .wouldBlock, .eof:
                break drain
            case .error(let e):
                closeNow(fd, reason: reasonFor(errno: e))
                return
            }
        }
        if slot.pointee.queue.isEmpty {
            if slot.pointee.flags.contains(.closeAfterFlush) {
                if !slot.pointee.flags.contains(.lingering) { finishClose(fd, reason: pendingCloseReason(fd)) }
                return
            }
            if slot.pointee.flags.contains(.shutdownWriteAfterFlush) {
                _ = Glibc.shutdown(fd, Int32(SHUT_WR))
                slot.pointee.flags.remove(.shutdownWriteAfterFlush)
                slot.pointee.flags.insert(.writeShutDown)
            }
        }
        if slot.pointee.flags.contains(.aboveHighWatermark) && slot.pointee.queue.byteCount <= Int(slot.pointee.lowWatermark) {
            slot.pointee.flags.remove([.aboveHighWatermark, .readPausedByBackpressure])
            updateInterest(fd)
            slot.pointee.handler?.connectionWritabilityDidChange(
                Connection(loop: self, fd: fd, generation: slot.pointee.generation), isWritable: true)
        } else {
            updateInterest(fd)
        }
    }

    func bufferedAmount(_ c: Connection) -> Int {
        guard let slot = liveSlot(c) else { return 0 }
        var deferred = 0
        var i = slot.pointee.deferredLast
        while i >= 0 {
            deferred += s.pointee.deferredSends[Int(i)].bytes.count
            i = s.pointee.deferredSends[Int(i)].previous
        }
        return slot.pointee.queue.byteCount + deferred + (s.pointee.corkFD == c.fd ? s.pointee.corkPendingBytes : 0)
    }

    func isWritable(_ c: Connection) -> Bool {
        guard let slot = liveSlot(c) else { return false }
        return !slot.pointee.flags.contains(.aboveHighWatermark)
    }

    func setWatermarks(_ c: Connection, low: Int, high: Int) {
        precondition(low <= high, "low watermark above high")
        guard let slot = liveSlot(c) else { return }
        slot.pointee.lowWatermark = Int32(clamping: low)
        slot.pointee.highWatermark = Int32(clamping: high)
    }

    // MARK: Timeouts

    func setTimeout(_ c: Connection, _ timeout: Duration?) {
        guard let slot = liveSlot(c) else { return }
        if let armed = slot.pointee.timeout {
            s.pointee.wheel.cancel(armed)
            slot.pointee.timeout = nil
        }
        if let timeout {
            slot.pointee.timeout = armTimer(after: timeout, period: nil, payload: c.id)
        }
    }

    func connectionTimeoutFired(token: UInt64, timer: TimerID) {
        let fd = Int32(truncatingIfNeeded: token & 0xFFFF_FFFF)
        let c = Connection(loop: self, fd: fd, generation: UInt32(truncatingIfNeeded: token >> 32))
        guard let slot = liveSlot(c), slot.pointee.timeout == timer else { return }
        slot.pointee.timeout = nil
        if slot.pointee.flags.contains(.lingering) {
            closeNow(fd, reason: pendingCloseReason(fd))  // the peer never sent its EOF
        } else if slot.pointee.flags.contains(.closeAfterFlush) || slot.pointee.kind == .connecting {
            closeNow(fd, reason: .timeout)  // a flush or a connect that takes too long is abandoned
        } else {
            slot.pointee.handler?.connectionDidTimeout(c)
        }
    }

    // MARK: Closing

    func shutdownWrite(_ c: Connection) {
        guard let slot = liveSlot(c), slot.pointee.kind == .connection, canSend(slot) else { return }
        writeDeferred(c.fd)
        guard liveSlot(c) != nil else { return }
        if s.pointee.corkFD == c.fd { writeCork(c.fd) }
        guard liveSlot(c) != nil else { return }
        if slot.pointee.queue.isEmpty {
            _ = Glibc.shutdown(c.fd, Int32(SHUT_WR))
            slot.pointee.flags.insert(.writeShutDown)
        } else {
            slot.pointee.flags.insert(.shutdownWriteAfterFlush)
        }
    }

    func close(_ c: Connection, reason: CloseReason, flush: Bool) {
        guard let slot = liveSlot(c) else { return }
        if flush && slot.pointee.flags.contains(.lingering) { return }  // already closing
        if flush && slot.pointee.kind == .connection {
            writeDeferred(c.fd)
            guard liveSlot(c) != nil else { return }
            if s.pointee.corkFD == c.fd { writeCork(c.fd) }
            guard liveSlot(c) != nil else { return }
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

    /// The orderly end of a connection whose queue is empty: if the peer may still be sending,
    /// shut down our side and linger, reading and dropping its input until its EOF; otherwise
    /// close at once.
    private func finishClose(_ fd: Int32, reason: CloseReason) {
        let slot = s.pointee.slots + Int(fd)
        guard slot.pointee.kind == .connection, !slot.pointee.flags.contains(.readEOF) else {
            closeNow(fd, reason: reason)
            return
        }
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
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
        if let armed = slot.pointee.timeout { s.pointee.wheel.cancel(armed) }
        if s.pointee.corkFD == fd {
            s.pointee.corkFD = -1
            s.pointee.corkCount = 0
            s.pointee.corkSegmentCount = 0
            s.pointee.corkPendingBytes = 0
        }
        if !s.pointee.closingReasons.isEmpty { s.pointee.closingReasons[fd] = nil }
        deregisterAndRelease(fd, closeDescriptor: true)
        s.pointee.connectionCount -= 1
        s.pointee.statistics.closed &+= 1
        handler?.connectionDidClose(connection, reason: reason)
        connectionDidRelease()
    }
}
