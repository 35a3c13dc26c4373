import Glibc

/// A value behind a pthread mutex, for the few places where threads meet (the cross-thread work
/// queue). A pthread mutex rather than `Synchronization.Mutex`: ThreadSanitizer understands
/// pthread locking, and a lock it cannot see turns every `scripts/sanitizers.sh thread` run into a
/// false report. Never on the per-event path.
final class Locked<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<R>(_ body: (inout Value) -> R) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body(&value)
    }
}
