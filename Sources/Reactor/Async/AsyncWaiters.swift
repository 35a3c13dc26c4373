/// Tasks suspended until something happens on the loop (a connection opened, a queue drained),
/// resumed all at once, or failed all at once: the one list behind every "wait until writable"
/// and "wait until open" of the async API (`TCPChannel`, `AsyncWebSocket`, `HTTPBodyWriter`).
///
/// Not thread-safe: its owner keeps it on the loop. Unsafe continuations and inlinable, as
/// `AsyncInbox` (which says why). Whether to wait at all is decided by the
/// owner inside the continuation's body (see `AsyncInbox`), before `add`.
@_spi(AsyncPlumbing) public struct AsyncWaiters {
    @usableFromInline var waiting: [UnsafeContinuation<Void, any Error>] = []

    @inlinable public init() {}

    @inlinable public mutating func add(_ continuation: UnsafeContinuation<Void, any Error>) {
        waiting.append(continuation)
    }

    /// Resumes every waiter (nil) or fails them all (`error`); the list is empty after.
    @inlinable public mutating func resumeAll(throwing error: (any Error)? = nil) {
        guard !waiting.isEmpty else { return }
        let resumed = waiting
        waiting.removeAll()
        for w in resumed {
            if let error { w.resume(throwing: error) } else { w.resume() }
        }
    }
}
