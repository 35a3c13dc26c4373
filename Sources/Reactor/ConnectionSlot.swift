/// Per-descriptor state, kept in one contiguous table indexed by the fd (as Redis `ae` and uSockets
/// do): no object per connection in the loop, and a slot is found without hashing.
struct Slot {
    enum Kind: UInt8 {
        case free, connection, connecting, listener, wakeup, signal
    }

    struct Flags: OptionSet {
        let rawValue: UInt16
        /// The application paused reading.
        static let readPausedByUser = Flags(rawValue: 1 << 0)
        /// Reading paused because the outbound queue is above the high watermark.
        static let readPausedByBackpressure = Flags(rawValue: 1 << 1)
        /// The peer shut down its side; no more reads.
        static let readEOF = Flags(rawValue: 1 << 2)
        /// `close()` was called with bytes still queued: close once they drain.
        static let closeAfterFlush = Flags(rawValue: 1 << 3)
        /// `shutdownWrite()` was called with bytes still queued.
        static let shutdownWriteAfterFlush = Flags(rawValue: 1 << 4)
        static let writeShutDown = Flags(rawValue: 1 << 5)
        /// The handler was told it is not writable and has not been told otherwise since.
        static let aboveHighWatermark = Flags(rawValue: 1 << 6)
        /// Closing: our side is shut down and input is read and dropped until the peer's EOF
        /// (or `lingerTimeout`), so unread input cannot turn the close into a reset that
        /// destroys the response still in flight (RFC 9112 9.6; nginx's lingering close).
        static let lingering = Flags(rawValue: 1 << 7)
        /// Shared sends from another connection's callback (a broadcast) wait for the end of the
        /// iteration (see `flushDeferredSends`).
        static let flushPending = Flags(rawValue: 1 << 8)
        /// A `ConnectionTransform` (TLS) sits between the socket and the handler; it lives in
        /// `LoopState.transforms` at this fd (see `EventLoop+Transform`).
        static let transformed = Flags(rawValue: 1 << 9)
        /// A write failed (EPIPE, ECONNRESET) inside this connection's own read callback: nothing
        /// more is sent, and it closes when the callback returns (see `bytesTaken`).
        static let writeFailed = Flags(rawValue: 1 << 10)
    }

    // 56 bytes, in the order declared (4, 4, 4, 2, 1, 1; 16, 8, 8; 4, 4): this table holds a slot
    // for every descriptor, so its bytes count per idle connection (issue 18).
    var generation: UInt32 = 0
    /// `listenerIndex` for a listener, `deferredLast` for a connection: one field, as no slot is
    /// both.
    private var kindIndex: Int32 = -1
    /// The wheel node of the connection's armed timeout, or -1. Only the index: the node is this
    /// connection's while the index is here (every path that releases it, a cancel or its firing,
    /// clears this first), so the wheel supplies its generation (`EventLoop.armedTimeout`).
    var timeoutIndex: Int32 = -1
    var flags: Flags = []
    var kind: Kind = .free
    var interest: Interest = []
    /// Index into the loop's listener table, for `.listener` slots.
    var listenerIndex: Int32 {
        get { assert(kind == .listener); return kindIndex }
        set { assert(kind == .listener); kindIndex = newValue }
    }
    /// The newest of this connection's sends deferred to the end of the iteration (an index
    /// into `LoopState.deferredSends`, each entry linking to the one before), or -1.
    var deferredLast: Int32 {
        get { assert(kind != .listener); return kindIndex }
        set { assert(kind != .listener); kindIndex = newValue }
    }
    var handler: (any ConnectionHandler)?

    /// The unconsumed tail of the input, allocated only while a tail exists (from the loop's
    /// `TailPool`); its byte count and size class are in the block's header (`TailBlock`).
    var tail: TailBlock?

    var queue = OutboundQueue()
    /// Int32: watermarks are far below 2 GiB.
    var highWatermark: Int32 = 0
    var lowWatermark: Int32 = 0

    /// The value epoll hands back with every event: a stale event for a descriptor that was
    /// closed and reused carries the old generation and is dropped.
    static func token(fd: Int32, generation: UInt32) -> UInt64 {
        UInt64(generation) << 32 | UInt64(UInt32(bitPattern: fd))
    }

}
