import Glibc

extension LoopState {
    /// Runs of the cork buffer and borrowed payloads one read callback may gather: one sendmsg
    /// takes them all (far under IOV_MAX, 1024), and an echo of a read full of small frames
    /// (header run, payload reference, header run, ...) writes a few times per read, not per frame.
    static let corkSegmentCapacity = 64
    /// Above this, a corked send of bytes still in the receive buffer (an echoed payload) is
    /// gathered by reference, not copied, and a corked two-part send (header + payload) is
    /// written at once rather than copied into the cork: copying a large payload costs more than
    /// the extra iovec or syscall saves.
    static let corkCopyLimit = 4096
    /// Up to this, a corked `SharedBytes` send is copied into the cork: a small shared block
    /// (an HTTP response body made once, a broadcast frame) is cheaper copied than written on
    /// its own; a larger one goes out with its own write, from the shared block.
    static let sharedCorkCopyLimit = 2048
}

/// The cork: sends a read callback makes to its own connection gather in the loop's cork buffer
/// (or, for large payloads still in the receive buffer, by reference) and leave in one write when
/// the callback returns. One cork per loop, for the connection being read (`LoopState.corkFD`).
extension EventLoop {
    /// Gathers `count` bytes in the cork, by reference when `borrow` (they are in the receive
    /// buffer, valid until the callback returns), else copied; false when they do not fit.
    @inline(__always)
    func corkAppend(_ base: UnsafeRawPointer, _ count: Int, borrow: Bool) -> Bool {
        borrow ? corkAppendBorrowed(base, count) : corkAppendCopy(base, count)
    }

    /// Copies `count` bytes into the cork; false when they do not fit (write the cork first).
    func corkAppendCopy(_ base: UnsafeRawPointer, _ count: Int) -> Bool {
        guard let dest = corkReserve(count) else { return false }
        dest.copyMemory(from: base, byteCount: count)
        return true
    }

    /// Copies two pieces into the cork, one after the other (a frame's header and its payload);
    /// false, and nothing copied, when they do not fit together.
    func corkAppendCopy(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) -> Bool {
        guard let dest = corkReserve(first.count + second.count) else { return false }
        if let base = first.baseAddress { dest.copyMemory(from: base, byteCount: first.count) }
        if let base = second.baseAddress { (dest + first.count).copyMemory(from: base, byteCount: second.count) }
        return true
    }

    /// Room for `count` more bytes at the end of the cork buffer, counted as gathered (the caller
    /// fills it); nil when they do not fit.
    @inline(__always)
    private func corkReserve(_ count: Int) -> UnsafeMutableRawPointer? {
        guard s.pointee.corkCount + count <= s.pointee.corkCapacity else { return nil }
        let dest = s.pointee.corkBuffer + s.pointee.corkCount
        let n = s.pointee.corkSegmentCount
        let seg = s.pointee.corkSegments
        if n > 0 && seg[n - 1].iov_base! + seg[n - 1].iov_len == dest {
            seg[n - 1].iov_len += count  // extends the cork buffer's last run
        } else {
            guard n < LoopState.corkSegmentCapacity else { return nil }
            seg[n] = iovec(iov_base: dest, iov_len: count)
            s.pointee.corkSegmentCount = n + 1
        }
        s.pointee.corkCount += count
        s.pointee.corkPendingBytes += count
        return dest
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

    /// Whether the cork holds a reference into the receive buffer (a large echoed payload).
    func corkBorrowsReceiveBuffer() -> Bool {
        let seg = s.pointee.corkSegments
        for i in 0..<s.pointee.corkSegmentCount where isInReceiveBuffer(seg[i].iov_base!, seg[i].iov_len) {
            return true
        }
        return false
    }

    func isInReceiveBuffer(_ base: UnsafeRawPointer, _ count: Int) -> Bool {
        let start = UnsafeRawPointer(s.pointee.receiveBuffer)
        return base >= start && base + count <= start + s.pointee.receiveCapacity
    }

    /// Writes out what the cork gathered for `fd`, keeping the cork open for later sends.
    func writeCork(_ fd: Int32) {
        let segments = s.pointee.corkSegmentCount
        guard segments > 0 else { return }
        emptyCork()
        write(fd, s.pointee.corkSegments, segments)
    }

    /// Ends a read callback's cork: one write for everything it sent.
    func endCork(_ fd: Int32) {
        guard s.pointee.corkFD == fd else { return }
        writeCork(fd)
        s.pointee.corkFD = -1
    }

    // MARK: Jobs

    /// A send from a job (a task on the loop) to `fd`: the cork now gathers for `fd`, after what
    /// it gathered for another connection is written. A task echoing the 16 messages it found
    /// waiting writes once, not 16 times (the async echo made two writes per message).
    func corkForJob(_ fd: Int32) {
        endJobCork()
        s.pointee.corkFD = fd
    }

    /// Writes what jobs gathered. A write that failed meanwhile closes its connection now: there
    /// is no read callback to return to, which is where a read's cork closes it.
    func endJobCork() {
        let fd = s.pointee.corkFD
        guard fd >= 0 else { return }
        endCork(fd)
        let slot = s.pointee.slots + Int(fd)
        if slot.pointee.kind == .connection && slot.pointee.flags.contains(.writeFailed) {
            closeNow(fd, reason: pendingCloseReason(fd))
        }
    }

    /// Drops what the cork holds for `fd` unwritten (the connection is closing without a flush).
    func dropCork(_ fd: Int32) {
        guard s.pointee.corkFD == fd else { return }
        s.pointee.corkFD = -1
        emptyCork()
    }

    @inline(__always)
    private func emptyCork() {
        s.pointee.corkSegmentCount = 0
        s.pointee.corkCount = 0
        s.pointee.corkPendingBytes = 0
    }
}
