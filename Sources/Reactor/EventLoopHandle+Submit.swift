/// The loop closed before the submitted work could run.
public struct EventLoopClosedError: Error, Sendable, CustomStringConvertible {
    public var description: String { "the event loop has closed" }
}

extension EventLoopHandle {
    /// Runs `body` on the loop's thread and returns its result to the awaiting caller, from any
    /// thread or task: the awaiting form of `execute`. Throws what `body` throws, or
    /// `EventLoopClosedError` when the loop closes before running it (never leaves the caller
    /// suspended forever).
    ///
    ///     let count = try await handle.submit { loop in loop.connectionCount }
    public func submit<T: Sendable>(_ body: @escaping @Sendable (EventLoop) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let reply = Reply(continuation)
            let accepted = execute { loop in
                reply.resume(with: Result { try body(loop) })
            }
            if !accepted { reply.resume(with: .failure(EventLoopClosedError())) }
        }
    }
}

/// A continuation resumed exactly once: by the work, or, when the loop drops the work unrun (it
/// closed with the work still queued), by this object's deinit with `EventLoopClosedError`.
private final class Reply<T: Sendable>: @unchecked Sendable {
    // Resumed either on the loop's thread (by the work, which then releases the last reference
    // only after) or in deinit (no other reference left): never by two threads at once.
    private var continuation: CheckedContinuation<T, any Error>?

    init(_ continuation: CheckedContinuation<T, any Error>) { self.continuation = continuation }

    func resume(with result: Result<T, any Error>) {
        continuation?.resume(with: result)
        continuation = nil
    }

    deinit { continuation?.resume(throwing: EventLoopClosedError()) }
}
