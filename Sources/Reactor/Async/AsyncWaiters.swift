/// Tasks suspended until something happens on the loop (a connection opened, a queue drained),
/// resumed all at once, or failed all at once: the one list behind every "wait until writable"
/// and "wait until open" of the async API (`TCPChannel`, `AsyncWebSocket`, `HTTPBodyWriter`).
///
/// Not thread-safe: its owner keeps it on the loop. Whether to wait at all is decided by the
/// owner inside the continuation's body (see `AsyncInbox`), before `add`.
package struct AsyncWaiters {
    private var waiting: [CheckedContinuation<Void, any Error>] = []

    package init() {}

    package mutating func add(_ continuation: CheckedContinuation<Void, any Error>) {
        waiting.append(continuation)
    }

    /// Resumes every waiter (nil) or fails them all (`error`); the list is empty after.
    package mutating func resumeAll(throwing error: (any Error)? = nil) {
        guard !waiting.isEmpty else { return }
        let resumed = waiting
        waiting.removeAll()
        for w in resumed {
            if let error { w.resume(throwing: error) } else { w.resume() }
        }
    }
}
