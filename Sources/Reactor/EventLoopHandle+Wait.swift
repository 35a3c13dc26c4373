import Glibc

extension EventLoopHandle {
    /// Runs `body` on the loop's thread and blocks the calling thread until it returns its result;
    /// nil when the loop has closed and refused the work.
    ///
    /// For start-up and tests, on a thread that is not this loop's (called on the loop's own
    /// thread it would wait for itself forever). Code that must not block awaits instead.
    public func runAndWait<T: Sendable>(_ body: @escaping @Sendable (EventLoop) -> T) -> T? {
        let box = ResultBox<T>()
        let accepted = execute { loop in
            box.value = body(loop)
            sem_post(&box.done)
        }
        guard accepted else { return nil }
        while sem_wait(&box.done) != 0 {}
        return box.value
    }
}

/// A result handed from the loop's thread to a waiting one; the semaphore orders the write
/// before the read, which is why the unchecked `Sendable` holds.
private final class ResultBox<T>: @unchecked Sendable {
    var value: T?
    var done = sem_t()
    init() { sem_init(&done, 0, 0) }
    deinit { sem_destroy(&done) }
}
