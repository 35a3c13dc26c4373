import CEpollShim
import Glibc

/// Everything a loop mutates, reached through one pointer so the hot path pays no runtime
/// exclusivity checks (those checks on class properties cost more than all else Swift adds).
struct LoopState: ~Copyable {
    /// The per-descriptor table, indexed by fd. It never moves, and that is what makes the
    /// `UnsafeMutablePointer<Slot>` every path holds (`let slot = s.pointee.slots + Int(fd)`) safe
    /// to keep across a callback.
    ///
    /// Why it must not move: a handler callback (`didRead`, a writability change, `didClose`, a
    /// timeout) may open descriptors (connect, listen), and a table that grew by reallocating would
    /// leave the caller's slot pointer dangling: `dispatch` rereads the slot after `flushQueue`,
    /// `send` after `writeDeferred`, `flushQueue` after `writeDeferred`, `close` and `shutdownWrite`
    /// after `writeCork`. So, as Redis's `ae` sizes its table by the descriptor limit, the loop
    /// reserves address space for `slotCapacity` slots at creation (the RLIMIT_NOFILE hard limit,
    /// capped by `EventLoopConfiguration.maxDescriptors`) with `mmap(MAP_NORESERVE)`: pages are
    /// committed only when first touched, and slots are initialised lazily up to the highest
    /// descriptor seen (`initializedSlots`), so idle memory still tracks the descriptors in use.
    /// A descriptor at or beyond `slotCapacity` (the hard limit raised after the loop started) is
    /// refused: closed at accept and counted (`LoopStatistics.refusedDescriptors`), a thrown
    /// `SystemError(EMFILE)` from `connect`/`listen`.
    ///
    /// What a held pointer does not tell: whether the slot is still the same connection. A
    /// callback may close it, and then open another descriptor that reuses the number. So every
    /// path that keeps a slot pointer across a callback checks the generation (or `liveSlot`)
    /// again before it touches the slot; the audit is in the comments at each such call.
    let slots: UnsafeMutablePointer<Slot>
    /// Slots reserved (the table's fixed size) and slots initialised (every fd below is a `Slot`).
    let slotCapacity: Int
    var initializedSlots = 0
    let slotTableBytes: Int
    var wheel: TimerWheel
    /// Closure timers' bodies, by wheel node index (connection timeouts carry a token instead).
    var timerBodies: [(() -> Void)?] = []

    let receiveBuffer: UnsafeMutableRawPointer
    let receiveCapacity: Int
    /// Sends made by a read callback to its own connection gather here and leave in one write.
    let corkBuffer: UnsafeMutableRawPointer
    let corkCapacity: Int
    var corkCount = 0
    var corkFD: Int32 = -1
    /// Jobs of Swift concurrency are running (`runLocalJobs`): a send opens the cork for its
    /// connection, so a task's sends leave in one write when the jobs are done, as a read
    /// callback's do (`EventLoop+Cork`, "Jobs").
    var corkingJobs = false
    /// A job is handing a connection its kept input (`deliverBufferedInputNow`): the read callback
    /// leaves the cork open, for the job's own sends to join, and the jobs' end writes it.
    var keepCorkAfterRead = false
    /// The cork's contents in order: runs of the cork buffer, and references to large payloads
    /// still in the receive buffer (valid until the read callback returns, when the cork is
    /// written). One `sendmsg` writes them all, so an echo of large messages copies nothing.
    let corkSegments: UnsafeMutablePointer<iovec>
    var corkSegmentCount = 0
    var corkPendingBytes = 0
    /// Scratch iovecs for one gathering write (the cork's limits and these are sized in
    /// `EventLoop+Cork` and `EventLoop+Write`).
    let iovecs: UnsafeMutablePointer<iovec>

    let startNanoseconds: UInt64
    var nowNanoseconds: UInt64
    /// When the current iteration's wait returned (0: none to record; see `runOnce`).
    var iterationWoke: UInt64 = 0
    /// The last delay `deadlineTick(after:)` converted, and its ticks.
    var lastDelay = Duration.zero
    var lastDelayTicks: UInt64 = 1
    var connectionCount = 0
    var stopRequested = false
    var closed = false

    var listeners: [ListenerState?] = []
    var acceptPaused = false
    var acceptRetryTimer: TimerID?
    var shutdown: GracefulShutdown?
    var statistics = LoopStatistics()
    /// Blocks for unconsumed input tails, sized to need and recycled (see `TailPool`).
    var tailPool: TailPool
    /// Bytes of tail blocks connections hold now (the pool's are counted apart).
    var tailBytesHeld = 0
    /// Reasons of connections closing in stages (after a flush, while lingering), by descriptor.
    var closingReasons: [Int32: CloseReason] = [:]
    /// Connections whose kept input must be handed to their handler again this iteration.
    var redeliveries: [UInt64] = []
    /// The batch `runRedeliveries` works through, swapped with `redeliveries` so that neither
    /// array is ever shared, and emptying one keeps its buffer (no allocation per batch).
    var redeliveryBatch: [UInt64] = []
    /// Connections with sends deferred to the end of this iteration (`flushPending`), by token,
    /// and the sends themselves, chained per connection from `Slot.deferredLast`. Both keep their
    /// capacity, so deferring allocates nothing once the loop has seen its busiest iteration.
    var deferredFlushes: [UInt64] = []
    var deferredSends: [DeferredSend] = []
    var signalFD: Int32 = -1
    /// The transforms of `.transformed` slots, by fd: beside the table rather than in each slot, so
    /// plain connections do not pay for them. Grown to the highest transformed fd; empty unless
    /// something uses transforms.
    var transforms: [(any ConnectionTransform)?] = []

    var nowTick: UInt64 { (nowNanoseconds &- startNanoseconds) / 1_000_000 }

    /// The smallest descriptor table, whatever `maxDescriptors` or RLIMIT_NOFILE say: stdin,
    /// stdout, stderr, the epoll instance, the eventfd and a signalfd take the low numbers, so a
    /// smaller table could hold next to no connections.
    static let minimumSlots = 16

    /// Jobs of Swift concurrency run per iteration at most (`runLocalJobs`): enough that a burst
    /// of resumed tasks finishes in one iteration, few enough (~ a millisecond of small jobs) that
    /// a task which keeps yielding cannot keep the loop from its sockets.
    static let jobsPerIteration = 1024
}

/// A shared send waiting for the end of the iteration, and the one before it to the same connection.
struct DeferredSend {
    let bytes: SharedBytes
    let previous: Int32
    /// Bytes of this send and every one before it in its connection's chain, so that
    /// `bufferedAmount` is O(1): a slow-consumer rule reads it on every send of a burst.
    let chainBytes: Int32
}

/// A single-threaded epoll reactor.
///
/// One loop owns one epoll instance and every descriptor registered with it, and runs on the thread
/// that calls `run()` (or `runOnce`). Nothing it owns may be touched from another thread: the one
/// thread-safe entry is `handle` (`EventLoopHandle.execute`), a locked queue plus an eventfd.
/// The type is deliberately not `Sendable`, so the compiler keeps it on its thread.
///
/// Readiness is level-triggered: a socket that still has data after its one read per iteration
/// is reported again next iteration, which gives every connection a fair share (a per-iteration
/// read budget of one read) without having to drain each socket to EAGAIN, and a missed event can
/// never strand a connection.
public final class EventLoop {
    let backend: EpollBackend
    let s: UnsafeMutablePointer<LoopState>
    public let configuration: EventLoopConfiguration
    /// The thread-safe doorway into this loop.
    public let handle: EventLoopHandle
    /// Called on the loop when SIGINT/SIGTERM starts a graceful shutdown (to log it, say).
    public var onTerminationSignal: ((Int32) -> Void)?
    /// Called on the loop for each SIGHUP, once `handleReloadSignal` is in effect.
    public var onReloadSignal: (() -> Void)?
    var signalDrainDeadline: Duration = .seconds(10)
    /// Objects that belong to this loop, one per type (see `local(_:orMake:)`).
    var locals: [ObjectIdentifier: AnyObject] = [:]

    public init(configuration: EventLoopConfiguration = EventLoopConfiguration()) throws(SystemError) {
        Sys.ignoreSIGPIPE()
        self.configuration = configuration
        let backend = try EpollBackend(capacity: configuration.maxEventsPerWait)
        let wakeFD = try Sys.eventfd()
        let now = Sys.monotonicNanoseconds()
        let capacity = max(LoopState.minimumSlots, min(Sys.descriptorHardLimit() ?? Int.max, configuration.maxDescriptors))
        let pageSize = Sys.pageSize
        let tableBytes = (capacity * MemoryLayout<Slot>.stride + pageSize - 1) / pageSize * pageSize
        let table: UnsafeMutableRawPointer
        do throws(SystemError) {
            table = try Sys.reserveLazily(tableBytes)
        } catch {
            Sys.close(wakeFD)
            throw error
        }
        s = .allocate(capacity: 1)
        s.initialize(to: LoopState(
            slots: table.bindMemory(to: Slot.self, capacity: capacity), slotCapacity: capacity,
            slotTableBytes: tableBytes,
            wheel: TimerWheel(startTick: 0),
            receiveBuffer: .allocate(byteCount: configuration.receiveBufferSize, alignment: 16),
            receiveCapacity: configuration.receiveBufferSize,
            corkBuffer: .allocate(byteCount: configuration.corkBufferSize, alignment: 16),
            corkCapacity: configuration.corkBufferSize,
            corkSegments: .allocate(capacity: LoopState.corkSegmentCapacity),
            iovecs: .allocate(capacity: LoopState.iovecCapacity),
            startNanoseconds: now, nowNanoseconds: now,
            tailPool: TailPool(largest: configuration.receiveBufferSize, maxPooledBytes: configuration.tailPoolBytes)))
        self.backend = backend
        self.handle = EventLoopHandle(wakeFD: wakeFD)
        handle.loop = self
        do throws(SystemError) {
            try register(wakeFD, kind: .wakeup, interest: .read)
        } catch {
            close()
            throw error
        }
    }

    deinit {
        close()
        handle.loop = nil
        s.pointee.slots.deinitialize(count: s.pointee.initializedSlots)
        Sys.unmap(UnsafeMutableRawPointer(s.pointee.slots), s.pointee.slotTableBytes)
        s.pointee.receiveBuffer.deallocate()
        s.pointee.tailPool.releaseAll()
        s.pointee.corkBuffer.deallocate()
        s.pointee.corkSegments.deallocate()
        s.pointee.iovecs.deallocate()
        s.deinitialize(count: 1)
        s.deallocate()
    }

    // MARK: Running

    /// Runs until `stop()` (or a finished graceful shutdown), then closes every descriptor.
    public func run() {
        while runOnce() {}
        close()
    }

    /// Runs one iteration: waits up to `timeout` (nil: until an event or the next timer), then
    /// dispatches ready events and expired timers. For embedding the loop in another main loop.
    /// Returns false once the loop has been stopped.
    @discardableResult
    public func runOnce(timeout: Duration? = nil) -> Bool {
        guard !s.pointee.stopRequested, !s.pointee.closed else { return false }
        if !s.pointee.deferredFlushes.isEmpty { flushDeferredSends() }  // sends made between iterations
        let waitMilliseconds = computeWaitMilliseconds(limit: timeout)
        let ready = backend.wait(timeoutMilliseconds: waitMilliseconds)
        let woke = Sys.monotonicNanoseconds()
        s.pointee.nowNanoseconds = woke
        s.pointee.iterationWoke = woke
        for i in 0..<ready {
            dispatch(backend.event(at: i))
        }
        fireExpiredTimers()
        if !s.pointee.redeliveries.isEmpty { runRedeliveries() }
        if !handle.localJobs.pointee.isEmpty { runLocalJobs() }
        if !s.pointee.deferredFlushes.isEmpty { flushDeferredSends() }
        // Its duration is taken by the next wait's reading of the clock (`computeWaitMilliseconds`).
        s.pointee.statistics.iterations &+= 1
        return !s.pointee.stopRequested
    }

    /// Makes `run()` return after the current iteration. Connections stay open until `close()`;
    /// see `shutdownGracefully` for the orderly way out.
    public func stop() {
        s.pointee.stopRequested = true
    }

    /// Closes every connection (reason `.shutdown`), listener and descriptor the loop owns. The
    /// loop cannot run again. Called by `run()` on its way out and by `deinit`.
    public func close() {
        guard !s.pointee.closed else { return }
        s.pointee.stopRequested = true
        // Re-reads the bound each time: a `connectionDidClose` may open descriptors above it.
        var fd: Int32 = 0
        while Int(fd) < s.pointee.initializedSlots {
            switch s.pointee.slots[Int(fd)].kind {
            case .connection, .connecting: closeNow(fd, reason: .shutdown)
            case .listener: closeListener(fd)
            case .signal, .wakeup: deregisterAndRelease(fd, closeDescriptor: s.pointee.slots[Int(fd)].kind == .signal)
            case .free: break
            }
            fd += 1
        }
        // Closures may hold connection handles, and handles hold the loop: drop them, since the
        // loop cannot run again, so that nothing keeps the loop alive past its last user.
        s.pointee.timerBodies.removeAll()
        s.pointee.closed = true
        handle.loopDidClose()
    }

    /// Iterations run so far: lets tests check that an idle loop sleeps instead of spinning.
    public var iterationCount: UInt64 { s.pointee.statistics.iterations }

    /// The loop's cached monotonic clock (nanoseconds), read once per iteration.
    public var now: UInt64 { s.pointee.nowNanoseconds }

    /// Open connections (accepted and outbound).
    public var connectionCount: Int { s.pointee.connectionCount }

    /// Counters since the loop started.
    public var statistics: LoopStatistics { s.pointee.statistics }

    /// Bytes of memory holding connections' unconsumed input (their tail blocks), and bytes of
    /// released blocks the loop keeps for reuse (at most `tailPoolBytes`).
    public var bufferedInputBytes: (held: Int, pooled: Int) {
        (s.pointee.tailBytesHeld, s.pointee.tailPool.pooledBytes)
    }

    /// Bytes queued on every connection and not yet taken by the kernel (a scan of the
    /// descriptor table: for metrics, not for hot paths).
    public var queuedBytes: Int {
        var total = 0
        for i in 0..<s.pointee.initializedSlots where s.pointee.slots[i].kind == .connection {
            total += s.pointee.slots[i].queue.byteCount
        }
        return total
    }

    // MARK: Dispatch

    /// How long the next wait may sleep. It reads the clock, and that reading also ends the
    /// iteration before it (`LoopStatistics.recordIteration`): one reading where two were made.
    private func computeWaitMilliseconds(limit: Duration?) -> Int32 {
        let nowNs = Sys.monotonicNanoseconds()
        s.pointee.nowNanoseconds = nowNs
        if s.pointee.iterationWoke != 0 {
            s.pointee.statistics.recordIteration(nanoseconds: nowNs &- s.pointee.iterationWoke)
            s.pointee.iterationWoke = 0
        }
        var wait: Int64 = -1
        if let limit {
            let (seconds, attoseconds) = limit.components
            wait = max(0, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
        }
        if handle.hasPendingWork || !s.pointee.redeliveries.isEmpty || !handle.localJobs.pointee.isEmpty { return 0 }
        if let wake = s.pointee.wheel.nextWakeTick() {
            let wakeNs = s.pointee.startNanoseconds &+ wake &* 1_000_000
            let untilWake = wakeNs > nowNs ? Int64((wakeNs - nowNs + 999_999) / 1_000_000) : 0
            wait = wait < 0 ? untilWake : min(wait, untilWake)
        }
        return Int32(clamping: wait)
    }

    @inline(__always)
    private func dispatch(_ event: ReadyEvent) {
        let fd = Int32(truncatingIfNeeded: event.token & 0xFFFF_FFFF)
        let generation = UInt32(truncatingIfNeeded: event.token >> 32)
        guard fd >= 0, Int(fd) < s.pointee.initializedSlots else { return }
        let slot = s.pointee.slots + Int(fd)
        guard slot.pointee.generation == generation else { return }  // stale: fd closed and reused
        switch slot.pointee.kind {
        case .connection:
            // Writable first: draining the queue makes room for what the read callback answers.
            if event.isWritable && slot.pointee.interest.contains(.write) {
                flushQueue(fd)
                // Its writability callback may have closed the connection (and reused the fd).
                guard slot.pointee.generation == generation, slot.pointee.kind == .connection else { return }
            }
            if event.isReadable {
                if slot.pointee.interest.contains(.read) {
                    handleReadable(fd)
                } else if event.isError || event.flags & CEPOLL_HUP != 0 {
                    // Not reading (paused or EOF seen) yet the socket is dead in both directions:
                    // level-triggered HUP/ERR would be reported forever, so close now.
                    let e = Sys.socketError(fd)
                    closeNow(fd, reason: e == 0 ? .peerClosed : reasonFor(errno: e))
                }
            }
        case .connecting:
            completeConnect(fd)
        case .listener:
            acceptConnections(listenerFD: fd)
        case .wakeup:
            s.pointee.statistics.wakeups += 1
            handle.drain(into: self)
        case .signal:
            handleSignal(fd)
        case .free:
            break
        }
    }

    // MARK: Timers

    /// Runs `body` once after `delay`. The returned id cancels it.
    @discardableResult
    public func schedule(after delay: Duration, _ body: @escaping () -> Void) -> TimerID {
        armClosureTimer(after: delay, period: nil, body)
    }

    /// Runs `body` every `period`, first after one period, until cancelled.
    @discardableResult
    public func scheduleRepeating(every period: Duration, _ body: @escaping () -> Void) -> TimerID {
        armClosureTimer(after: period, period: period, body)
    }

    /// Cancels a timer; a stale id (fired or cancelled already) is ignored.
    public func cancel(_ timer: TimerID) {
        if s.pointee.wheel.cancel(timer), Int(timer.index) < s.pointee.timerBodies.count {
            s.pointee.timerBodies[Int(timer.index)] = nil
        }
    }

    /// Whether the timer is still armed.
    public func isArmed(_ timer: TimerID) -> Bool { s.pointee.wheel.isArmed(timer) }

    /// Armed timers, closure and connection timeouts together (for metrics and tests).
    public var armedTimerCount: Int { s.pointee.wheel.armedCount }

    static func ticks(_ d: Duration) -> UInt64 {
        let (seconds, attoseconds) = d.components
        let ms = max(0, seconds) * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return UInt64(max(1, ms))
    }

    private func armClosureTimer(after delay: Duration, period: Duration?, _ body: @escaping () -> Void) -> TimerID {
        let id = armTimer(after: delay, period: period, payload: 0)
        let index = Int(id.index)
        if index >= s.pointee.timerBodies.count {
            s.pointee.timerBodies.append(contentsOf: repeatElement(nil, count: index + 1 - s.pointee.timerBodies.count))
        }
        s.pointee.timerBodies[index] = body
        return id
    }

    func armTimer(after delay: Duration, period: Duration?, payload: UInt64) -> TimerID {
        // Measure from now, not from the start of the iteration, so a slow callback does not
        // shorten the timers it arms.
        s.pointee.wheel.arm(at: deadlineTick(after: delay), periodTicks: period.map(Self.ticks) ?? 0, payload: payload)
    }

    /// The wheel tick `delay` from now. Measured from now, not from the start of the iteration, so
    /// a slow callback does not shorten the timers it arms. The last delay's tick count is kept:
    /// connections re-arm the same few timeouts over and over, and converting a `Duration` costs
    /// 128-bit arithmetic.
    func deadlineTick(after delay: Duration) -> UInt64 {
        let nowTick = (Sys.monotonicNanoseconds() &- s.pointee.startNanoseconds) / 1_000_000
        if delay != s.pointee.lastDelay {
            s.pointee.lastDelay = delay
            s.pointee.lastDelayTicks = Self.ticks(delay)
        }
        return nowTick + s.pointee.lastDelayTicks
    }

    private func fireExpiredTimers() {
        s.pointee.wheel.collectExpired(now: s.pointee.nowTick)
        while let (id, payload) = s.pointee.wheel.popDue() {
            if payload != 0 {
                connectionTimeoutFired(token: payload, timer: id)
            } else if Int(id.index) < s.pointee.timerBodies.count, let body = s.pointee.timerBodies[Int(id.index)] {
                if !s.pointee.wheel.isArmed(id) { s.pointee.timerBodies[Int(id.index)] = nil }  // one-shot
                body()
            }
        }
    }

    // MARK: Slots

    /// Initialises the table up to `fd` (never moving it; see `LoopState.slots`). A descriptor the
    /// table has no room for is refused with EMFILE, as if the process had run out.
    func ensureSlot(_ fd: Int32) throws(SystemError) {
        guard fd >= 0, Int(fd) < s.pointee.slotCapacity else {
            throw SystemError(errno: EMFILE, call: "descriptor table")
        }
        let initialized = s.pointee.initializedSlots
        guard Int(fd) >= initialized else { return }
        (s.pointee.slots + initialized).initialize(repeating: Slot(), count: Int(fd) + 1 - initialized)
        s.pointee.initializedSlots = Int(fd) + 1
    }

    /// Claims the slot of a new descriptor and registers it with epoll. Returns the generation.
    @discardableResult
    func register(_ fd: Int32, kind: Slot.Kind, interest: Interest) throws(SystemError) -> UInt32 {
        try ensureSlot(fd)
        let slot = s.pointee.slots + Int(fd)
        precondition(slot.pointee.kind == .free, "descriptor \(fd) registered twice")
        slot.pointee.generation &+= 1
        if slot.pointee.generation == 0 { slot.pointee.generation = 1 }  // token 0 means "no connection"
        slot.pointee.kind = kind
        slot.pointee.interest = interest
        try backend.register(fd, interest: interest, token: Slot.token(fd: fd, generation: slot.pointee.generation))
        return slot.pointee.generation
    }

    func setInterest(_ fd: Int32, _ interest: Interest) {
        let slot = s.pointee.slots + Int(fd)
        guard slot.pointee.interest != interest else { return }
        slot.pointee.interest = interest
        backend.modify(fd, interest: interest, token: Slot.token(fd: fd, generation: slot.pointee.generation))
    }

    /// Releases a slot: deregisters, optionally closes the descriptor, bumps the generation so any
    /// handle or queued event for it goes stale.
    func deregisterAndRelease(_ fd: Int32, closeDescriptor: Bool) {
        let slot = s.pointee.slots + Int(fd)
        backend.deregister(fd)
        if closeDescriptor { Sys.close(fd) }
        let generation = slot.pointee.generation &+ 1
        let transformed = slot.pointee.flags.contains(.transformed)
        releaseTail(slot)
        slot.pointee = Slot()
        slot.pointee.generation = generation
        if transformed { releaseTransform(fd) }  // last: its deinit may call into the loop
    }
}
