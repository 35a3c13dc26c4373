import Glibc

/// The transformed paths (`ConnectionTransform`, i.e. TLS): reads decrypted before the handler
/// sees them, sends encrypted before the kernel does. The plain paths only test one flag
/// (`Slot.Flags.transformed`) to come here; the transform itself lives beside the slot table
/// (`LoopState.transforms`, indexed by fd), so a plain connection's slot does not grow by it.
extension EventLoop {
    /// Puts `transform` between the connection's socket and its handler. Call it before any byte
    /// is read or sent: from the `makeHandler` closure of `listen`, or for an outbound connection
    /// before its `connectionDidOpen` sends.
    func setTransform(_ c: Connection, _ transform: any ConnectionTransform) {
        guard let slot = liveSlot(c) else { return }
        let index = Int(c.fd)
        if s.pointee.transforms.count <= index {
            s.pointee.transforms.append(contentsOf: repeatElement(nil, count: index + 1 - s.pointee.transforms.count))
        }
        s.pointee.transforms[index] = transform
        slot.pointee.flags.insert(.transformed)
    }

    /// The transform of a slot flagged `.transformed`.
    @inline(__always)
    func transform(of fd: Int32) -> any ConnectionTransform {
        s.pointee.transforms[Int(fd)]!
    }

    /// Drops the transform of a slot being released.
    func releaseTransform(_ fd: Int32) {
        s.pointee.transforms[Int(fd)] = nil
    }

    // MARK: Reading

    /// `handleReadable` for a transformed connection: one read into the receive buffer, handed to
    /// the transform, whose output (the kept tail, then the new plaintext) the handler sees.
    /// Bytes the transform writes (handshake records) go straight to the socket.
    func handleTransformedReadable(_ fd: Int32, fromSocket: Bool) {
        let slot = s.pointee.slots + Int(fd)
        let generation = slot.pointee.generation
        let buffer = s.pointee.receiveBuffer
        var n = 0
        if fromSocket {
            switch Sys.read(fd, buffer, s.pointee.receiveCapacity) {
            case .bytes(let k):
                n = k
                s.pointee.statistics.bytesRead &+= UInt64(k)
                s.pointee.statistics.reads &+= 1
            case .wouldBlock:
                return
            case .eof:
                peerDidEnd(fd)
                return
            case .error(let e):
                closeNow(fd, reason: reasonFor(errno: e))
                return
            }
        }
        let connection = Connection(loop: self, fd: fd, generation: generation)
        let tail = slot.pointee.tail
        let prefix = UnsafeRawBufferPointer(start: tail?.bytes, count: tail?.count ?? 0)
        // The whole of it counts as this connection's read callback (the cork, and a failed write
        // closing only once it is over): the transform writes too (handshake records, alerts).
        s.pointee.corkFD = fd
        let result = transform(of: fd).connection(
            connection, transformInbound: UnsafeRawBufferPointer(start: buffer, count: n), prefix: prefix,
            write: { self.writeToSocket(fd, $0) })
        guard slot.pointee.generation == generation, slot.pointee.kind == .connection else { return }
        if case .failed(let why) = result.status {
            closeNow(fd, reason: .protocolError(why))
            return
        }
        let total = result.bytes.count
        var consumed = 0
        // Only the kept tail again (a handshake record, a partial record): nothing new to say.
        let deliver = total > prefix.count || (!fromSocket && total > 0)
        if deliver, let handler = slot.pointee.handler {
            consumed = handler.connection(connection, didRead: result.bytes)
            guard slot.pointee.generation == generation, slot.pointee.kind == .connection else { return }
            keepTail(slot, from: UnsafeMutableRawPointer(mutating: result.bytes.baseAddress!), total: total, consumed: consumed)
        }
        if !s.pointee.keepCorkAfterRead { endCork(fd) }
        guard slot.pointee.generation == generation, slot.pointee.kind == .connection else { return }
        if slot.pointee.flags.contains(.writeFailed) {
            closeNow(fd, reason: pendingCloseReason(fd))
            return
        }
        if deliver && total - consumed >= s.pointee.receiveCapacity {
            closeNow(fd, reason: .inputOverflow)
            return
        }
        if result.morePending { s.pointee.redeliveries.append(connection.id) }
        if result.status == .peerClosed { peerDidEnd(fd) }
    }

    /// The peer's EOF (or its transform's equivalent): no more reads, and the handler is told.
    func peerDidEnd(_ fd: Int32) {
        let slot = s.pointee.slots + Int(fd)
        guard !slot.pointee.flags.contains(.readEOF) else { return }
        slot.pointee.flags.insert(.readEOF)
        updateInterest(fd)
        if let handler = slot.pointee.handler {
            handler.connectionDidReadEOF(Connection(loop: self, fd: fd, generation: slot.pointee.generation))
        }
    }

    // MARK: Writing

    /// `write` for a transformed connection: each buffer goes through the transform (a corked
    /// callback's sends arrive as one run of the cork buffer, so they become full records), and
    /// what it makes goes to the socket.
    func writeTransformed(_ fd: Int32, _ iov: UnsafeMutablePointer<iovec>, _ count: Int) -> Bool {
        let slot = s.pointee.slots + Int(fd)
        let generation = slot.pointee.generation
        let transform = transform(of: fd)
        let connection = Connection(loop: self, fd: fd, generation: generation)
        for i in 0..<count {
            let bytes = UnsafeRawBufferPointer(start: iov[i].iov_base, count: iov[i].iov_len)
            let ok = transform.connection(connection, transformOutbound: bytes, write: { self.writeToSocket(fd, $0) })
            guard ok, slot.pointee.generation == generation, slot.pointee.kind == .connection else { return false }
        }
        return true
    }

    /// The transform's first words on an outbound connection (a ClientHello).
    func transformWillOpen(_ c: Connection) {
        transform(of: c.fd).connectionWillOpen(c, write: { self.writeToSocket(c.fd, $0) })
    }

    /// The transform's last words before an orderly close.
    func transformWillClose(_ c: Connection) {
        transform(of: c.fd).connectionWillClose(c, write: { self.writeToSocket(c.fd, $0) })
    }

    /// Bytes for the socket as they are: offered to the kernel when nothing is queued ahead, the
    /// rest queued (copied).
    private func writeToSocket(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        let slot = s.pointee.slots + Int(fd)
        guard slot.pointee.kind == .connection else { return }
        var iov = iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress!), iov_len: bytes.count)
        writePlain(fd, &iov, 1, keeping: nil)
    }
}
