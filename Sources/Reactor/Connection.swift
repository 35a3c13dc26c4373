/// A handle to one TCP connection of a loop: a descriptor plus the generation of its slot.
///
/// Handles are cheap values. Once the connection closes, the slot's generation moves on and every
/// operation on an old handle is a no-op (`isOpen` is false), so a handle kept by a timer or a room
/// after its connection went away can never write to a reused descriptor.
/// Use it on the loop's thread only.
///
/// A handle holds its loop strongly: one kept after the loop closed (by a timer of another loop, a
/// room, a task) finds the connection closed and does nothing, never freed memory (with
/// `unowned(unsafe)` it read the freed loop; `unowned` would trap instead). The cost is a retain
/// and release when a handle is copied: lost in the noise (callgrind, `GET /plaintext`: 7,405
/// instructions per request before this change and the stable slot table, 7,303 after; 16-deep
/// pipelined 6,502 and 6,273; 0 allocations per request either way). The cycle it makes (loop,
/// slot, handler, handle) is broken by `close()`, which `run()` calls on its way out and which
/// releases every handler and timer closure.
public struct Connection: Hashable, CustomStringConvertible {
    public let loop: EventLoop
    /// The descriptor, for logs and tables indexed by fd.
    public let fd: Int32
    let generation: UInt32

    init(loop: EventLoop, fd: Int32, generation: UInt32) {
        self.loop = loop
        self.fd = fd
        self.generation = generation
    }

    public static func == (a: Connection, b: Connection) -> Bool {
        a.fd == b.fd && a.generation == b.generation && a.loop === b.loop
    }

    public func hash(into h: inout Hasher) {
        h.combine(fd)
        h.combine(generation)
    }

    public var description: String { "conn#\(fd).\(generation)" }

    /// A stable 64-bit identity (fd and generation), unique among this loop's live connections.
    public var id: UInt64 { Slot.token(fd: fd, generation: generation) }

    /// True until the connection is closed (including while it flushes before closing).
    public var isOpen: Bool { loop.isLive(self) }

    // MARK: Sending

    /// Sends a copy of `bytes`: written at once if the kernel takes them, the rest queued. Inside
    /// this connection's read callback small sends are gathered and written once at its end.
    /// Returns false if the connection is closed or closing.
    @discardableResult
    public func send(_ bytes: UnsafeRawBufferPointer) -> Bool { loop.send(self, bytes) }

    /// Sends shared immutable bytes; anything the kernel does not take is queued by reference.
    @discardableResult
    public func send(_ bytes: SharedBytes) -> Bool { loop.send(self, bytes) }

    /// Sends two buffers in order as one write (a header and its payload), copying only what the
    /// kernel does not take at once.
    @discardableResult
    public func send(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) -> Bool {
        loop.send(self, first, second)
    }

    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { loop.send(self, $0) } }

    @discardableResult
    public func send(_ text: String) -> Bool {
        var t = text
        return t.withUTF8 { loop.send(self, UnsafeRawBufferPointer($0)) }
    }

    /// Bytes queued and not yet taken by the kernel.
    public var bufferedAmount: Int { loop.bufferedAmount(self) }

    /// False while the queue is above the high watermark (until it drains to the low one).
    public var isWritable: Bool { loop.isWritable(self) }

    /// Sets this connection's watermarks (defaults come from the loop's configuration).
    public func setWatermarks(low: Int, high: Int) { loop.setWatermarks(self, low: low, high: high) }

    // MARK: Reading

    /// Gives the connection to another handler, for a protocol switch (HTTP upgrade). The old
    /// handler gets no further calls; the new one is not sent `connectionDidOpen`.
    public func setHandler(_ handler: any ConnectionHandler) { loop.setHandler(self, handler) }

    /// Stops reading from the peer (its data waits in the kernel, and TCP slows the peer down).
    public func pauseReading() { loop.setReadPaused(self, true) }

    public func resumeReading() { loop.setReadPaused(self, false) }

    /// Hands the input this connection's handler left unconsumed back to it later in this loop
    /// iteration, without waiting for the peer to send more. For protocols that stop consuming
    /// while busy (an HTTP server holding pipelined requests behind a response completed later).
    public func redeliverBufferedInput() { loop.redeliverBufferedInput(self) }

    /// Hands the unconsumed input back to the handler now, before returning. Only from code that
    /// runs on the loop outside this connection's own callbacks (a task's job): inside a read
    /// callback the tail is not kept yet. Does nothing for a connection that is closed, closing,
    /// or paused by its handler.
    public func deliverBufferedInputNow() { loop.deliverBufferedInputNow(self) }

    /// Puts a transform (TLS) between this connection's socket and its handler, which cannot tell:
    /// it reads the transform's output and its sends go through it. Call it before any byte flows:
    /// from `listen`'s `makeHandler`, or before an outbound connection's first send.
    public func setTransform(_ transform: any ConnectionTransform) { loop.setTransform(self, transform) }

    // MARK: Timeouts

    /// Arms (or re-arms) this connection's one timeout; nil disarms it. When it fires the handler's
    /// `connectionDidTimeout` runs. O(1) and allocation-free, so protocols can re-arm per request.
    public func setTimeout(_ timeout: Duration?) { loop.setTimeout(self, timeout) }

    // MARK: Closing

    /// Shuts down the sending side once the queue has drained (a TCP half-close); reading goes on.
    public func shutdownWrite() { loop.shutdownWrite(self) }

    /// Closes the connection. With `flush` (the default) queued bytes are written first, reading
    /// stops at once, and the close happens when the queue drains (or `closeFlushTimeout` passes).
    public func close(reason: CloseReason = .local, flush: Bool = true) {
        loop.close(self, reason: reason, flush: flush)
    }

    public var peerAddress: SocketAddress? { isOpen ? SocketAddress.peer(of: fd) : nil }
    public var localAddress: SocketAddress? { isOpen ? SocketAddress.local(of: fd) : nil }
}
