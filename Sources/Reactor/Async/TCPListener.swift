/// A listening socket for async code, on its loop: `for try await channel in listener.connections`.
///
/// Accepted connections wait for `accept()` in a queue of at most `maxPending`; beyond it a new
/// connection is closed at once (counted in `refused`): a task that stops accepting must not make
/// the loop hold unbounded connections.
public actor TCPListener {
    public nonisolated let handle: EventLoopHandle
    public nonisolated var unownedExecutor: UnownedSerialExecutor { handle.asUnownedSerialExecutor() }
    /// The bound address (with the real port when asked for port 0).
    public nonisolated let address: SocketAddress
    public nonisolated let maxPending: Int
    /// Connections closed because `maxPending` were already waiting.
    public private(set) var refused = 0

    private var listener: Listener?
    private var pending: [TCPChannel] = []
    private var waiter: CheckedContinuation<TCPChannel?, Never>?

    init(handle: EventLoopHandle, address: SocketAddress, maxPending: Int) {
        self.handle = handle
        self.address = address
        self.maxPending = maxPending
    }

    /// Listens on `address` on the loop behind `handle`.
    public static func listen(
        on address: SocketAddress, handle: EventLoopHandle, reusePort: Bool = false, maxPending: Int = 1024,
        inboundHighWatermark: Int = 256 * 1024, inboundLowWatermark: Int = 64 * 1024
    ) async throws -> TCPListener {
        try await handle.submit { loop in
            // The listener's handler factory needs the actor, and the actor the bound address:
            // bind first through a box the factory reads on the loop's thread.
            let box = ListenerBox()
            let bound = try loop.listen(on: address, reusePort: reusePort) { connection in
                let channel = TCPChannel(handle: handle, inboundHighWatermark: inboundHighWatermark, inboundLowWatermark: inboundLowWatermark)
                let reference = ConnectionReference(connection)
                channel.assumeIsolated { $0.attach(reference) }
                let kept = box.listener!.assumeIsolated { $0.accepted(channel) }
                if !kept { connection.close(reason: .local, flush: false) }
                return TCPChannelHandler(channel)
            }
            let listener = TCPListener(handle: handle, address: bound.address, maxPending: maxPending)
            listener.assumeIsolated { $0.listener = bound }
            box.listener = listener
            return listener
        }
    }

    /// The next accepted connection, nil once the listener is closed.
    public func accept() async -> TCPChannel? {
        precondition(waiter == nil, "TCPListener: two acceptors at once")
        return await withCheckedContinuation { continuation in
            // Decided here, not before: the runtime may run this body as a job of its own, after
            // an accept callback queued a connection.
            if !pending.isEmpty {
                continuation.resume(returning: pending.removeFirst())
            } else if listener == nil {
                continuation.resume(returning: nil)
            } else {
                waiter = continuation
            }
        }
    }

    /// Accepted connections until the listener closes.
    public nonisolated var connections: Connections { Connections(listener: self) }

    /// Stops listening; connections already accepted stay open.
    public func close() {
        guard let listener else { return }
        self.listener = nil
        handle.assumeIsolated { $0.close(listener) }
        waiter?.resume(returning: nil)
        waiter = nil
    }

    /// A new connection's channel: handed to the waiting acceptor, queued, or refused (false:
    /// the caller closes the connection).
    func accepted(_ channel: TCPChannel) -> Bool {
        if let waiter {
            self.waiter = nil
            waiter.resume(returning: channel)
        } else if pending.count < maxPending {
            pending.append(channel)
        } else {
            refused += 1
            return false
        }
        return true
    }

    public struct Connections: AsyncSequence, Sendable {
        public typealias Element = TCPChannel
        let listener: TCPListener

        public struct AsyncIterator: AsyncIteratorProtocol {
            let listener: TCPListener
            public mutating func next() async -> TCPChannel? { await listener.accept() }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(listener: listener) }
    }
}

/// Lets the listen callback reach the actor made after the bind (loop thread only).
private final class ListenerBox: @unchecked Sendable {
    var listener: TCPListener?
}
