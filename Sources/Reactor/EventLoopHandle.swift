import Glibc
import Synchronization

/// The one thread-safe doorway into an `EventLoop`: work submitted here runs on the loop's thread,
/// in submission order.
///
/// Submitting takes a lock to append to a queue and writes the loop's eventfd only when the queue
/// was empty (one wake-up per batch, not per item). The lock is never taken on the loop's
/// per-event path, only when the wake-up fires. This is the type's whole reason to be
/// `@unchecked Sendable`: every mutable field is behind `state`'s mutex, and `wakeFD` is owned
/// by this object (closed in `deinit`), so a late `execute` can never write to a reused descriptor.
/// The handle is also the loop's executor (`EventLoopHandle+Executor`): `localJobs` is touched
/// only on the loop's own thread (`ownerThread`, fixed at creation), which is checked first.
public final class EventLoopHandle: @unchecked Sendable {
    public typealias Work = @Sendable (EventLoop) -> Void

    private struct State {
        var pending: [Work] = []
        var wakePending = false
        var closed = false
    }

    let wakeFD: Int32
    private let state = Locked(State())
    /// A lock-free hint read by the loop before it sleeps; the mutex-protected queue is the truth.
    private let hasWork = Atomic<Bool>(false)

    /// The thread the loop was made on, and runs on.
    let ownerThread: pthread_t
    /// Jobs enqueued on the loop's own thread: run in the same iteration, no lock, no eventfd.
    let localJobs: UnsafeMutablePointer<LocalJobQueue>
    /// The loop, for code already on its thread (`assumeIsolated`). Written by the loop on its
    /// thread, set before the handle is shared and cleared in the loop's deinit; read only on that
    /// thread. Not `weak`: a weak reference gives the loop a side table, and every retain and
    /// release of the loop then takes the runtime's slow path (+7-12% instructions per WebSocket
    /// message and per broadcast delivery, measured by `bench gate`).
    unowned(unsafe) var loop: EventLoop?
    /// The executor of the actors on this loop (`asUnownedSerialExecutor()`).
    let serialExecutor: EventLoopSerialExecutor

    /// Made by the loop, on the loop's thread.
    init(wakeFD: Int32) {
        self.wakeFD = wakeFD
        self.ownerThread = pthread_self()
        self.localJobs = .allocate(capacity: 1)
        localJobs.initialize(to: LocalJobQueue())
        self.serialExecutor = EventLoopSerialExecutor()
        serialExecutor.handle = self
    }

    deinit {
        Sys.close(wakeFD)
        localJobs.deinitialize(count: 1)
        localJobs.deallocate()
    }

    /// Whether the caller runs on the loop's thread.
    public var isOnLoopThread: Bool { pthread_equal(pthread_self(), ownerThread) != 0 }

    /// Runs `work` on the loop's thread. Returns false (and drops `work`) if the loop has closed.
    @discardableResult
    public func execute(_ work: @escaping Work) -> Bool {
        let (accepted, mustWake): (Bool, Bool) = state.withLock { s in
            if s.closed { return (false, false) }
            s.pending.append(work)
            if s.wakePending { return (true, false) }
            s.wakePending = true
            return (true, true)
        }
        if mustWake {
            hasWork.store(true, ordering: .releasing)
            Sys.signalEventFD(wakeFD)
        }
        return accepted
    }

    /// Asks the loop to stop after its current iteration.
    public func stop() { execute { $0.stop() } }

    /// Asks the loop to shut down gracefully (see `EventLoop.shutdownGracefully`).
    public func shutdownGracefully(deadline: Duration = .seconds(10)) {
        execute { $0.shutdownGracefully(deadline: deadline) }
    }

    var hasPendingWork: Bool { hasWork.load(ordering: .acquiring) }

    /// Runs everything submitted so far (called on the loop's thread when the eventfd fires).
    func drain(into loop: EventLoop) {
        Sys.drainEventFD(wakeFD)
        let batch: [Work] = state.withLock { s in
            s.wakePending = false
            let batch = s.pending
            s.pending.removeAll(keepingCapacity: true)
            return batch
        }
        hasWork.store(false, ordering: .releasing)
        for work in batch { work(loop) }
    }

    func loopDidClose() {
        state.withLock { s in
            s.closed = true
            s.pending.removeAll()
        }
        localJobs.pointee.close()
    }
}
