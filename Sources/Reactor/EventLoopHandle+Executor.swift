import Glibc

/// The loop as an executor of Swift concurrency. An actor whose `unownedExecutor` is
/// `loop.handle.asUnownedSerialExecutor()`, or a task started with `Task(executorPreference:
/// loop.handle)`, runs on the loop's thread, between its events, like any callback.
///
/// The handle is the executor, not the `EventLoop`: the executor protocols require `Sendable`, and
/// the loop is deliberately not (nothing it owns may be touched from another thread); the handle
/// is its one thread-safe doorway already, and now also where jobs come in.
///
/// Where a job runs:
/// - enqueued on the loop's thread (a callback resuming a continuation, a task on the loop
///   awaiting another): into `localJobs`, run in the same iteration, after the events and timers
///   that came before it; no lock, no eventfd write;
/// - enqueued on another thread: through `execute`, the locked queue and one eventfd write per
///   batch, as any cross-thread work.
/// A job enqueued after the loop has closed is dropped (its task never resumes), as work given
/// to `execute` then is: a service cancels its tasks before it stops its loops.
extension EventLoopHandle: SerialExecutor, TaskExecutor {
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if isOnLoopThread && localJobs.pointee.append(job) { return }
        execute { loop in loop.runJob(job) }
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
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

/// Jobs enqueued on the loop's own thread, run by the loop in order. Touched only on that thread.
struct LocalJobQueue {
    private var jobs: [UnownedJob] = []
    private var head = 0
    private var closed = false

    var isEmpty: Bool { head == jobs.count }

    /// False when the loop has closed (the caller drops the job).
    mutating func append(_ job: UnownedJob) -> Bool {
        guard !closed else { return false }
        jobs.append(job)
        return true
    }

    /// The next job to run, oldest first, or nil when none is left.
    mutating func next() -> UnownedJob? {
        guard head < jobs.count else { return nil }
        let job = jobs[head]
        head += 1
        if head == jobs.count {
            jobs.removeAll(keepingCapacity: true)
            head = 0
        }
        return job
    }

    mutating func close() {
        closed = true
        jobs.removeAll()
        head = 0
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
        while budget > 0, let job = handle.localJobs.pointee.next() {
            runJob(job)
            budget -= 1
        }
    }

    func runJob(_ job: UnownedJob) {
        job.runSynchronously(isolatedTo: handle.asUnownedSerialExecutor(), taskExecutor: handle.asUnownedTaskExecutor())
    }
}
