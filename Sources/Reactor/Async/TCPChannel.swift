/// A TCP connection for async code: an actor that lives on its loop (the loop is its executor),
/// so its state is the loop's, and awaiting it from another task hops there.
///
///     let channel = try await TCPChannel.connect(to: address, on: loop.handle)
///     try await channel.write("PING\r\n")
///     for try await chunk in channel.inbound { ... }
///
/// Inbound bytes arrive as owned chunks (`[UInt8]`, one per read: an allocation each, the price
/// of keeping them across an `await`; the callback API stays the zero-copy floor). The channel
/// buffers at most `inboundHighWatermark` bytes the reader has not taken, then stops reading the
/// socket until the reader is down to `inboundLowWatermark`: a slow consumer slows its peer
/// through TCP, never grows memory. `write` suspends while the outbound queue is above the
/// connection's high watermark, and resumes at the low one.
///
/// The peer's EOF ends `inbound` (after what was buffered) and closes the connection once what
/// was written is flushed, as the callback API's default does. A connection that fails ends
/// `inbound` by throwing `TCPChannelError.closed(reason)`; so does a `write` after the close.
public actor TCPChannel {
    public nonisolated let handle: EventLoopHandle
    public nonisolated var unownedExecutor: UnownedSerialExecutor { handle.asUnownedSerialExecutor() }
    /// Buffered inbound bytes above which the socket is no longer read.
    public nonisolated let inboundHighWatermark: Int
    /// Buffered inbound bytes at or below which reading resumes.
    public nonisolated let inboundLowWatermark: Int

    /// The connection, by number: a `Connection` holds its (non-Sendable) loop, so the actor
    /// keeps the Sendable fd and generation and rebuilds the handle on the loop's thread.
    private var reference: ConnectionReference?
    private var connection: Connection? {
        reference.map { r in handle.assumeIsolated { loop in Connection(loop: loop, fd: r.fd, generation: r.generation) } }
    }
    private var opened = false
    private var openWaiters = AsyncWaiters()
    /// What the reader has not taken yet: the socket is not read past its high watermark.
    private var inboundChunks: AsyncInbox<[UInt8]>
    private var writeWaiters = AsyncWaiters()
    /// Set once the connection has closed.
    private var closeReason: CloseReason?

    init(handle: EventLoopHandle, inboundHighWatermark: Int, inboundLowWatermark: Int) {
        self.handle = handle
        self.inboundHighWatermark = inboundHighWatermark
        self.inboundLowWatermark = inboundLowWatermark
        self.inboundChunks = AsyncInbox(highWatermark: inboundHighWatermark, lowWatermark: inboundLowWatermark)
    }

    /// The inbound bytes, chunk by chunk, until the peer's EOF (then the sequence ends) or a
    /// failure (then it throws). One reader at a time.
    public nonisolated var inbound: Inbound { Inbound(channel: self) }

    /// The next inbound chunk, nil after the peer's EOF.
    public func read() async throws -> [UInt8]? {
        try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<[UInt8]?, any Error>) in
                if inboundChunks.read(into: continuation) { connection?.resumeReading() }
            }
        } onCancel: {
            handle.execute { [self] _ in self.assumeIsolated { $0.inboundChunks.cancelWaiter() } }
        }
    }

    /// Writes `bytes`; suspends while the outbound queue is above its high watermark.
    public func write(_ bytes: [UInt8]) async throws {
        guard let connection, closeReason == nil else { throw TCPChannelError.closed(closeReason ?? .local) }
        _ = connection.send(bytes)
        try await waitUntilWritable()
    }

    public func write(_ text: String) async throws {
        try await write(Array(text.utf8))
    }

    /// Closes the connection after flushing what was written (`flush: false`: at once).
    public func close(flush: Bool = true) {
        connection?.close(reason: .local, flush: flush)
    }

    /// Where the connection goes (nil once closed).
    public var peerAddress: SocketAddress? { connection?.peerAddress }

    // MARK: Calls from the loop (through the handler, on the loop's thread)

    func attach(_ reference: ConnectionReference) {
        self.reference = reference
    }

    func didOpen() {
        opened = true
        openWaiters.resumeAll()
    }

    /// Waits for an outbound connect to complete.
    func waitUntilOpen() async throws {
        try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
            // Decided inside the body (see `read`).
            if opened {
                continuation.resume()
            } else if let closeReason {
                continuation.resume(throwing: TCPChannelError.closed(closeReason))
            } else {
                openWaiters.add(continuation)
            }
        }
    }

    func received(_ chunk: [UInt8]) {
        if inboundChunks.deliver(chunk, size: chunk.count) { connection?.pauseReading() }
    }

    func receivedEOF() {
        inboundChunks.finish(nil)
        connection?.close(reason: .peerClosed)
    }

    func writabilityChanged(_ isWritable: Bool) {
        guard isWritable else { return }
        writeWaiters.resumeAll()
    }

    func closed(_ reason: CloseReason) {
        reference = nil
        closeReason = reason
        openWaiters.resumeAll(throwing: TCPChannelError.closed(reason))
        // After an EOF the sequence has ended already (this finish is then ignored).
        inboundChunks.finish(reason == .peerClosed ? nil : TCPChannelError.closed(reason))
        writeWaiters.resumeAll(throwing: TCPChannelError.closed(reason))
    }

    // MARK: Internals

    private func waitUntilWritable() async throws {
        guard let connection, !connection.isWritable else { return }
        try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
            // Decided inside the body (see `read`).
            if let closeReason {
                continuation.resume(throwing: TCPChannelError.closed(closeReason))
            } else if self.connection?.isWritable ?? true {
                continuation.resume()
            } else {
                writeWaiters.add(continuation)
            }
        }
    }

}

/// Why a channel operation failed.
public enum TCPChannelError: Error, Sendable, Equatable {
    /// The connection is closed, for this reason (a connect that failed: `.connectFailed(errno)`).
    case closed(CloseReason)
}

extension TCPChannel {
    /// `TCPChannel.inbound`: chunks until EOF.
    public struct Inbound: AsyncSequence, Sendable {
        public typealias Element = [UInt8]
        let channel: TCPChannel

        public struct AsyncIterator: AsyncIteratorProtocol {
            let channel: TCPChannel
            public mutating func next() async throws -> [UInt8]? { try await channel.read() }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(channel: channel) }
    }
}


/// A connection by number (Sendable), for actors on the loop.
struct ConnectionReference: Sendable {
    let fd: Int32
    let generation: UInt32

    init(_ connection: Connection) {
        fd = connection.fd
        generation = connection.generation
    }
}
