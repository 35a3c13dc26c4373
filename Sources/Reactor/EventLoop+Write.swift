import Glibc

extension LoopState {
    /// iovecs one sendmsg of the deferred chain or the queue takes (far under IOV_MAX, 1024): a
    /// chain longer than this is a burst to one connection, and goes through the queue.
    static let iovecCapacity = 64
    /// Up to this many bytes in all, a two-part send outside the connection's read callback goes
    /// as two plain sends rather than one gathering sendmsg. Kept from the two-part send's first
    /// version (2ed3ed0), which recorded no measurement for it.
    static let smallTwoPartLimit = 256
}

/// The write path. Every send ends in one primitive, `write`: when nothing is queued ahead, offer
/// the bytes to the kernel (one send, or one sendmsg for several buffers), count what it took, close
/// on a hard error, and queue the rest in order. Around it: the cork (`EventLoop+Cork`), sends to
/// other connections deferred to the end of the iteration (a broadcast leaves in one sendmsg per
/// subscriber), and the queue drained on EPOLLOUT with its watermarks.
extension EventLoop {
    // MARK: Sending

    func send(_ c: Connection, _ bytes: UnsafeRawBufferPointer) -> Bool {
        if s.pointee.corkingJobs && s.pointee.corkFD != c.fd { corkForJob(c.fd) }
        guard let slot = sendingSlot(c) else { return false }
        let count = bytes.count
        guard count > 0, let base = bytes.baseAddress else { return true }
        if s.pointee.corkFD == c.fd && slot.pointee.queue.isEmpty {
            let borrow = count > LoopState.corkCopyLimit && isInReceiveBuffer(base, count)
            if corkAppend(base, count, borrow: borrow) { return true }
            writeCork(c.fd)  // full: write what it holds, then try again
            if liveSlot(c) == nil { return false }
            if slot.pointee.queue.isEmpty && corkAppend(base, count, borrow: borrow) { return true }
        }
        let iov = s.pointee.iovecs
        iov[0] = iovec(iov_base: UnsafeMutableRawPointer(mutating: base), iov_len: count)
        write(c.fd, iov, 1)
        return true
    }

    /// Sends two buffers as one write (a frame header and its payload, say). Small ones are
    /// gathered in the cork inside a read callback; large ones go out at once with one `sendmsg`
    /// (whatever the cork holds first, then both buffers), straight from the caller's memory: a
    /// 16 KiB echo is copied by the kernel only, never into the cork.
    func send(_ c: Connection, _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) -> Bool {
        if s.pointee.corkingJobs && s.pointee.corkFD != c.fd { corkForJob(c.fd) }
        guard let slot = sendingSlot(c) else { return false }
        let total = first.count + second.count
        let corked = s.pointee.corkFD == c.fd
        // The common case (a small frame answered inside a read): both gathered in the cork at
        // once, after one set of checks rather than a `send` each.
        if corked && total <= LoopState.corkCopyLimit && slot.pointee.queue.isEmpty && corkAppendCopy(first, second) {
            return true
        }
        // A transformed (TLS) connection gathers both in the cork: one record, not two.
        if !slot.pointee.queue.isEmpty || first.count == 0 || second.count == 0
            || slot.pointee.flags.contains(.transformed)
            || total <= (corked ? LoopState.corkCopyLimit : LoopState.smallTwoPartLimit) {
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
        return write(c.fd, iov, 2)
    }

    /// Sends a shared block; what the kernel does not take is queued by reference, never copied.
    /// To a connection other than the one being read (a broadcast fanning out) the send waits for
    /// the end of the iteration (see `deferSend`).
    func send(_ c: Connection, _ bytes: SharedBytes) -> Bool {
        if s.pointee.corkingJobs && s.pointee.corkFD != c.fd { corkForJob(c.fd) }
        guard let slot = liveSlot(c), slot.pointee.kind == .connection, canSend(slot) else { return false }
        let count = bytes.count
        guard count > 0 else { return true }
        if s.pointee.corkFD == c.fd {
            guard writeDeferredFirst(c, slot) else { return false }
            // Small shared blocks are cheaper copied into the cork than written on their own.
            if slot.pointee.queue.isEmpty && count <= LoopState.sharedCorkCopyLimit && corkAppendCopy(bytes.base, count) {
                return true
            }
            writeCork(c.fd)  // keeps the order: corked bytes go first
            guard liveSlot(c) != nil else { return false }
        } else if slot.pointee.queue.isEmpty {
            deferSend(slot, c, bytes)
            return true
        }
        let iov = s.pointee.iovecs
        iov[0] = iovec(iov_base: bytes.base, iov_len: count)
        return write(c.fd, iov, 1, keeping: bytes)
    }

    /// The slot of a connection that may still send, once the sends deferred for it are written
    /// (nothing may overtake them); nil when it may not send, or closed meanwhile.
    ///
    /// A write may call back (a close, a writability change): `slot` stays valid memory, but only
    /// `liveSlot` says it is still this connection. So after every call that may call back, here,
    /// in the sends, `shutdownWrite` and `close`, the handle is checked again.
    @inline(__always)
    private func sendingSlot(_ c: Connection) -> UnsafeMutablePointer<Slot>? {
        guard let slot = liveSlot(c), slot.pointee.kind == .connection, canSend(slot),
              writeDeferredFirst(c, slot) else { return nil }
        return slot
    }

    /// Writes the sends deferred for `c`, if any; false if that closed it.
    @inline(__always)
    func writeDeferredFirst(_ c: Connection, _ slot: UnsafeMutablePointer<Slot>) -> Bool {
        guard slot.pointee.deferredLast >= 0 else { return true }
        writeDeferred(c.fd)
        return liveSlot(c) != nil
    }

    func canSend(_ slot: UnsafeMutablePointer<Slot>) -> Bool {
        slot.pointee.flags.isDisjoint(with: [.closeAfterFlush, .writeShutDown, .shutdownWriteAfterFlush, .writeFailed])
    }

    // MARK: The write primitive

    /// Writes `count` iovecs with one send (one buffer) or one sendmsg when nothing is queued
    /// ahead of them, and queues what the kernel does not take, in order: by reference when the
    /// bytes are one shared block (`keeping`), else as one copied block. Returns false if the
    /// write failed (the connection is then closed).
    @discardableResult
    func write(_ fd: Int32, _ iov: UnsafeMutablePointer<iovec>, _ count: Int, keeping shared: SharedBytes? = nil) -> Bool {
        if s.pointee.slots[Int(fd)].flags.contains(.transformed) { return writeTransformed(fd, iov, count) }
        return writePlain(fd, iov, count, keeping: shared)
    }

    /// `write` for the socket itself: also what a transform's output goes through. Inlined into
    /// `write`, so the plain path pays one flag test for transforms, not a call.
    @discardableResult @inline(__always)
    func writePlain(_ fd: Int32, _ iov: UnsafeMutablePointer<iovec>, _ count: Int, keeping shared: SharedBytes?) -> Bool {
        let slot = s.pointee.slots + Int(fd)
        var offered = 0
        for i in 0..<count { offered += iov[i].iov_len }
        var written = 0
        if slot.pointee.queue.isEmpty {
            let result = count == 1 ? Sys.send(fd, iov[0].iov_base!, iov[0].iov_len) : Sys.sendv(fd, iov, count)
            guard let n = bytesTaken(result, fd) else { return false }
            written = n
        }
        if written < offered {
            if let shared {
                slot.pointee.queue.append(shared, offset: written)
            } else {
                slot.pointee.queue.append(Self.copy(iov, count, skipping: written, total: offered))
            }
            didEnqueue(fd)
        }
        return true
    }

    /// The outcome of a write, the one place it is read: the bytes the kernel took (counted; 0
    /// when its buffer is full), or nil after a hard error, which closes the connection.
    @inline(__always)
    private func bytesTaken(_ result: Sys.IOResult, _ fd: Int32) -> Int? {
        switch result {
        case .bytes(let n):
            s.pointee.statistics.bytesWritten &+= UInt64(n)
            s.pointee.statistics.writes &+= 1
            return n
        case .wouldBlock, .eof:
            return 0
        case .error(let e):
            if s.pointee.corkFD == fd {
                // Inside this connection's read callback (a close's flush, a TLS alert): the
                // handler may be in the middle of changing its own state (an inout access held
                // across the call that sent), so it must not hear `connectionDidClose` from inside
                // it. Nothing more is sent; the connection closes when the callback returns.
                let slot = s.pointee.slots + Int(fd)
                if !slot.pointee.flags.contains(.writeFailed) {
                    slot.pointee.flags.insert(.writeFailed)
                    s.pointee.closingReasons[fd] = reasonFor(errno: e)
                }
                return nil
            }
            closeNow(fd, reason: reasonFor(errno: e))
            return nil
        }
    }

    /// The bytes of `count` iovecs after the first `skip`, as one block for the queue.
    private static func copy(_ iov: UnsafeMutablePointer<iovec>, _ count: Int, skipping skip: Int, total: Int) -> SharedBytes {
        SharedBytes(capacity: total - skip) { out in
            var skip = skip
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
    }

    // MARK: Deferred sends

    /// A send to a connection other than the one being read: a broadcast fanning out. It waits
    /// for the end of the iteration, so every message published to this subscriber in the
    /// iteration leaves in one sendmsg instead of one each (uWebSockets drains its pub/sub at the
    /// end of the loop iteration for the same reason). The chain lives in the loop's reused
    /// array: no allocation per send. (A subscriber with bytes queued already is behind: its send
    /// joins the queue instead, for EPOLLOUT.)
    private func deferSend(_ slot: UnsafeMutablePointer<Slot>, _ c: Connection, _ bytes: SharedBytes) {
        let last = slot.pointee.deferredLast
        let before = last >= 0 ? s.pointee.deferredSends[Int(last)].chainBytes : 0
        s.pointee.deferredSends.append(DeferredSend(bytes: bytes, previous: last,
                                                    chainBytes: Int32(clamping: Int(before) + bytes.count)))
        slot.pointee.deferredLast = Int32(s.pointee.deferredSends.count - 1)
        if !slot.pointee.flags.contains(.flushPending) {
            slot.pointee.flags.insert(.flushPending)
            s.pointee.deferredFlushes.append(c.id)
        }
    }

    /// Writes the queues that sends from other connections' callbacks left for the end of the
    /// iteration. Indexes rather than copies the list: a flush may add to it (a writability
    /// callback that sends), and a copy would allocate every iteration.
    func flushDeferredSends() {
        var i = 0
        while i < s.pointee.deferredFlushes.count {
            let c = connection(token: s.pointee.deferredFlushes[i])
            i += 1
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
            write(fd, iov, count)
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

    // MARK: The queue and its watermarks

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
        while !slot.pointee.queue.isEmpty {
            let n = slot.pointee.queue.gather(into: s.pointee.iovecs, max: LoopState.iovecCapacity)
            var offered = 0
            for i in 0..<n { offered += s.pointee.iovecs[i].iov_len }
            guard let written = bytesTaken(Sys.sendv(fd, s.pointee.iovecs, n), fd) else { return }
            if written > 0 { slot.pointee.queue.consume(written) }
            if written < offered { break }  // the kernel's buffer is full
        }
        if slot.pointee.queue.isEmpty && queueDidDrain(fd) { return }
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
        let last = slot.pointee.deferredLast
        let deferred = last >= 0 ? Int(s.pointee.deferredSends[Int(last)].chainBytes) : 0
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
}
