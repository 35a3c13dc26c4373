/// The limits and sizes of one loop. Every limit has a safe default; all are parameters.
public struct EventLoopConfiguration: Sendable {
    /// The loop's one receive buffer: every readable socket is read into it. Also the largest
    /// unconsumed input a handler may leave (a longer one closes the connection as `.inputOverflow`).
    public var receiveBufferSize = 64 * 1024
    /// Bytes of released tail blocks (the per-connection buffers of unconsumed input, sized to
    /// need up to `receiveBufferSize`) the loop keeps for reuse; beyond, a released block is freed.
    public var tailPoolBytes = 1024 * 1024
    /// Bytes a read callback may send before the loop writes them out in one syscall.
    public var corkBufferSize = 64 * 1024
    /// The loop's descriptor table holds a slot for every descriptor below the RLIMIT_NOFILE hard
    /// limit at the loop's creation, but at most this many (and at least 16). It is reserved up
    /// front and never moves (address space only: pages are committed as descriptors reach them,
    /// about 100 bytes per descriptor). A descriptor beyond it (the limit raised later) is refused:
    /// an accepted connection is closed at once and counted in `LoopStatistics.refusedDescriptors`.
    public var maxDescriptors = 1 << 20
    /// Readiness events taken from the kernel per wait.
    public var maxEventsPerWait = 512
    /// Accepting pauses at this many open connections and resumes when one closes.
    public var maxConnections = 1_000_000
    /// Outbound queue watermarks: above `high` the handler is told it is not writable (and reading
    /// from that peer pauses); at or below `low` it is told it is writable again.
    public var highWatermark = 64 * 1024
    public var lowWatermark = 16 * 1024
    /// A connection whose queue grows past this is closed with `.slowConsumer`.
    public var maxQueuedBytes = 16 * 1024 * 1024
    /// How long `close()` may wait for a queue to drain before the connection is aborted.
    public var closeFlushTimeout: Duration = .seconds(30)
    /// How long a closing connection keeps reading (and dropping) input after shutting down its
    /// sending side, waiting for the peer's EOF before the descriptor is closed.
    public var lingerTimeout: Duration = .seconds(2)
    /// How long accepting pauses after the process ran out of descriptors (EMFILE/ENFILE), unless a
    /// connection closes first.
    public var acceptRetryDelay: Duration = .milliseconds(100)

    public init() {}
}
