/// A value that belongs to one loop (a responder, a WebSocket, a connection), made carriable to
/// other threads and tasks, and usable only back on its loop: `value` checks the thread, and
/// `execute` / `submit` take you there first.
///
///     let responder = LoopBound(res, on: loop)
///     Task {
///         let report = await makeReport()            // off the loop
///         try await responder.submit { res in res.respond(contentType: "text/plain", body: report) }
///     }
///
/// Why it is sound to send: the wrapped value is read only on its loop's thread (checked, as
/// `assumeIsolated` checks), so two threads never touch it at once. Copies of the wrapper may be
/// released on any thread, as any reference may; make sure the last one goes after the loop is
/// done with the value (it usually is: the value's owner on the loop keeps it until then).
public struct LoopBound<Value>: @unchecked Sendable {
    /// The loop the value belongs to.
    public let handle: EventLoopHandle
    private let wrapped: Value

    /// Wraps `value`, which belongs to `loop` (so this runs on the loop's thread).
    public init(_ value: Value, on loop: EventLoop) {
        self.handle = loop.handle
        self.wrapped = value
    }

    /// The value, on its loop's thread; traps anywhere else.
    public var value: Value {
        handle.checkIsolated()
        return wrapped
    }

    /// Runs `body` with the value on its loop (at once when already there, else through the
    /// handle's queue). Returns false when the loop has closed and the work was dropped.
    @discardableResult
    public func execute(_ body: @escaping @Sendable (Value) -> Void) -> Bool {
        if handle.isOnLoopThread {
            body(wrapped)
            return true
        }
        let this = self
        return handle.execute { _ in body(this.wrapped) }
    }

    /// Runs `body` with the value on its loop and returns its result to the awaiting caller;
    /// throws `EventLoopClosedError` when the loop has closed. The result may be ignored (a
    /// responder's `respond` says whether it was still pending, which a caller often does not need).
    @discardableResult
    public func submit<T: Sendable>(_ body: @escaping @Sendable (Value) throws -> T) async throws -> T {
        let this = self
        return try await handle.submit { _ in try body(this.wrapped) }
    }
}
