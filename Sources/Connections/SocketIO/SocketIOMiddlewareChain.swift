import Reactor

/// One run of a middleware chain (the reference's `use`): each middleware gets the subject and a
/// completion, `next`, and calls it once, now or later, with nil to go on or an error to stop.
/// The chain calls `done` once: with nil after the last middleware, or with the first error.
///
/// A middleware that calls `next` twice is heard once; one that calls it after the run was
/// cancelled (its socket's timeout passed, its session closed) is not heard at all. A `next`
/// keeps its run alive (the run is what a middleware holds while it has not answered); the run
/// tells `onRelease` when it goes, answered or dropped.
final class SocketIOMiddlewareRun<Subject, Failure: Error> {
    typealias Middleware = (Subject, _ next: @escaping (Failure?) -> Void) -> Void

    private var middlewares: [Middleware]
    private var subject: Subject?
    private var done: ((Failure?) -> Void)?
    private var index = 0
    /// Called when the run is released (its owner counts what pending runs hold).
    var onRelease: (() -> Void)?

    init(_ middlewares: [Middleware], subject: Subject, done: @escaping (Failure?) -> Void) {
        self.middlewares = middlewares
        self.subject = subject
        self.done = done
    }

    deinit { onRelease?() }

    /// Whether the run has finished or was cancelled.
    var isFinished: Bool { done == nil }

    /// Runs the first middleware (and, as each calls `next`, the following ones).
    func start() { step() }

    /// Drops everything: later completions are ignored and `done` is not called.
    func cancel() {
        done = nil
        subject = nil
        middlewares = []
    }

    private func step() {
        guard let subject, done != nil else { return }
        guard index < middlewares.count else { return finish(nil) }
        let middleware = middlewares[index]
        let position = index
        var called = false
        middleware(subject) { failure in
            guard !called, self.index == position else { return }
            called = true
            if let failure { return self.finish(failure) }
            self.index += 1
            self.step()
        }
    }

    private func finish(_ failure: Failure?) {
        guard let done else { return }
        cancel()
        done(failure)
    }
}
