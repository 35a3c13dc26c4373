import Glibc

/// The loop as an executor of Swift concurrency. An actor whose `unownedExecutor` is
/// `loop.handle.asUnownedSerialExecutor()`, or a task started with `Task(executorPreference:
/// loop.handle)`, runs on the loop's thread, between its events, like any callback.
///
/// The handle is the executor, not the `EventLoop`: the executor protocols require `Sendable`, and
/// the loop is deliberately not (nothing it owns may be touched from another thread); the handle
/// is its one thread-safe doorway already, and now also where jobs come in.
///
/// Two roles, two objects. The handle is the task executor: a task that prefers it runs its
/// nonisolated code on the loop with no isolation of its own, so calling one nonisolated async
/// function from another is not a hop. The actors' serial executor is a second object the handle
/// keeps (`EventLoopSerialExecutor`): its jobs run isolated to it. One object cannot be both,
/// because both roles enqueue through the one `enqueue` requirement, and a job would not say which
/// role it came for; run isolated, every nonisolated call of a preferring task costs the runtime
/// a switch, that is a job through the queue (four per async request, measured by callgrind).
///
/// Where a job runs:
/// - enqueued on the loop's thread (a callback resuming a continuation, a task on the loop
///   awaiting another): into `localJobs`, run in the same iteration, after the events and timers
///   that came before it; no lock, no eventfd write;
/// - enqueued on another thread: through `execute`, the locked queue and one eventfd write per
///   batch, as any cross-thread work.
/// A job enqueued after the loop has closed is dropped (its task never resumes), as work given
/// to `execute` then is: a service cancels its tasks before it stops its loops.
extension EventLoopHandle: TaskExecutor {
    public func enqueue(_ job: consuming ExecutorJob) {
        enqueue(LocalJob(UnownedJob(job), isolated: false))
    }

    func enqueue(_ job: LocalJob) {
        if isOnLoopThread && localJobs.pointee.append(job) { return }
        execute { loop in loop.runJob(job) }
    }

    /// The executor of actors on this loop (`nonisolated var unownedExecutor`).
    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: serialExecutor)
    }

    /// Hands the loop to code that runs on its thread but cannot prove it to the compiler: a task
    /// started with this executor as its preference, a method of an actor on the loop. Traps when
    /// called on another thread, or after the loop is gone.
    ///
    ///     Task(executorPreference: loop.executor) {
    ///         let data = try await fetch()
    ///         handle.assumeIsolated { loop in connection.send(data) }
    ///     }
    public func assumeIsolated<T, E: Error>(_ body: (EventLoop) throws(E) -> T) throws(E) -> T {
        checkIsolated()
        guard let loop else { preconditionFailure("the event loop is gone") }
        return try body(loop)
    }

    /// Makes `assumeIsolated` usable from callbacks: they run on the loop's thread, which is the
    /// isolation of every actor this handle executes.
    public func checkIsolated() {
        precondition(isOnLoopThread, "not on the event loop's thread: an actor on this loop was touched from another thread")
    }
}

/// The serial executor of the actors on one loop: the handle's second role (see above). The
/// handle owns it; it reaches back without a count, as the handle outlives it (an actor on the
/// loop keeps the handle). Unchecked Sendable: `handle` is set once, in the handle's init,
/// before either object is shared.
public final class EventLoopSerialExecutor: SerialExecutor, @unchecked Sendable {
    unowned(unsafe) var handle: EventLoopHandle!

    init() {}

    public func enqueue(_ job: consuming ExecutorJob) {
        handle.enqueue(LocalJob(UnownedJob(job), isolated: true))
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }

    public func checkIsolated() { handle.checkIsolated() }
}

/// A job and the role it was enqueued for: isolated to the loop's actors, or a task's.
struct LocalJob {
    let job: UnownedJob
    let isolated: Bool

    init(_ job: UnownedJob, isolated: Bool) {
        self.job = job
        self.isolated = isolated
    }
}

/// Jobs enqueued on the loop's own thread, run by the loop in order. Touched only on that thread.
///
/// The array is storage that is never emptied, only reused: the queued jobs are those in
/// `head..<tail`, and when the last is taken both go back to 0. (`removeAll(keepingCapacity:)`
/// there cost about 128 instructions per async message: callgrind, `/echo-async`.) A queue that
/// never drains is moved to the front when it reaches the end of the storage, so the storage
/// stays as long as the longest queue.
typealias LocalJobQueue = FIFOQueue<LocalJob>

/// A first-in, first-out queue on reused storage (see `LocalJobQueue`).
struct FIFOQueue<Element> {
    private var storage: [Element] = []
    private var head = 0
    private var tail = 0
    private var closed = false

    var isEmpty: Bool { head == tail }

    /// False when the loop has closed (the caller drops the job).
    mutating func append(_ job: Element) -> Bool {
        guard !closed else { return false }
        if tail == storage.count && head > 0 {
            storage.replaceSubrange(0..<tail - head, with: storage[head..<tail])
            tail -= head
            head = 0
        }
        if tail == storage.count { storage.append(job) } else { storage[tail] = job }
        tail += 1
        return true
    }

    /// The next job to run, oldest first, or nil when none is left.
    mutating func next() -> Element? {
        guard head < tail else { return nil }
        let job = storage[head]
        head += 1
        if head == tail {
            head = 0
            tail = 0
        }
        return job
    }

    mutating func close() {
        closed = true
        storage.removeAll()
        head = 0
        tail = 0
    }
}

extension EventLoop {
    /// The loop's executor (its handle): `Task(executorPreference: loop.executor) { ... }`.
    public var executor: EventLoopHandle { handle }

    /// Runs the jobs enqueued on this thread, those they enqueue included, up to a budget per
    /// iteration: a task that keeps yielding must not starve the sockets (what is left runs next
    /// iteration, which then does not sleep).
    func runLocalJobs() {
        var budget = LoopState.jobsPerIteration
        s.pointee.corkingJobs = true
        while budget > 0, let job = handle.localJobs.pointee.next() {
            runJob(job)
            budget -= 1
        }
        s.pointee.corkingJobs = false
        endJobCork()
    }

    func runJob(_ job: LocalJob) {
        s.pointee.statistics.jobs += 1
        if job.isolated {
            job.job.runSynchronously(isolatedTo: handle.asUnownedSerialExecutor(), taskExecutor: handle.asUnownedTaskExecutor())
        } else {
            job.job.runSynchronously(on: handle.asUnownedTaskExecutor())
        }
    }
}
