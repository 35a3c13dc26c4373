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

    // Declared in this order (4, 4, 4, 2 and 1 bytes) so the small fields pack into 16 bytes:
    // this table holds a slot for every descriptor, so its bytes count per idle connection.
    var generation: UInt32 = 0
    var interest: Interest = []
    /// `listenerIndex` for a listener, `deferredLast` for a connection: one field, as no slot is
    /// both.
    private var kindIndex: Int32 = -1
    var flags: Flags = []
    var kind: Kind = .free
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

    // The unconsumed tail of the input, allocated only while a tail exists.
    // Sizes as Int32 (the receive buffer bounds the tail, and watermarks are far below 2 GiB):
    // this table holds a slot for every descriptor, so its bytes count per idle connection.
    var tail: UnsafeMutableRawPointer?
    var tailCount: Int32 = 0
    var tailCapacity: Int32 = 0

    var queue = OutboundQueue()
    var highWatermark: Int32 = 0
    var lowWatermark: Int32 = 0
    /// The armed timeout, if any: stored without an Optional's tag byte (an index of -1 is none),
    /// which would cost the table 8 bytes per descriptor in padding.
    var timeout: TimerID? {
        get { timeoutID.index < 0 ? nil : timeoutID }
        set { timeoutID = newValue ?? Self.noTimer }
    }
    private var timeoutID = Slot.noTimer
    private static let noTimer = TimerID(index: -1, generation: 0)

    /// The value epoll hands back with every event: a stale event for a descriptor that was
    /// closed and reused carries the old generation and is dropped.
    static func token(fd: Int32, generation: UInt32) -> UInt64 {
        UInt64(generation) << 32 | UInt64(UInt32(bitPattern: fd))
    }

    mutating func releaseTail() {
        tail?.deallocate()
        tail = nil
        tailCount = 0
        tailCapacity = 0
    }
}
