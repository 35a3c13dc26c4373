import Glibc

/// N event loops on N threads, sharing nothing: each has its own epoll, buffers, timers and
/// connections (and, for a server, its own SO_REUSEPORT listener, so the kernel spreads
/// connections across them). Loops talk only through their handles' `execute`.
///
/// Loop 0 may run on the caller's thread (`runFirstOnCallingThread`), which is what a server's
/// main thread wants: it keeps the signal handling, and the others run on threads of their own.
public final class EventLoopGroup: Sendable {
    /// One handle per loop, in loop order.
    public let handles: [EventLoopHandle]
    private let threads: [EventLoopThread]

    /// Starts `count - 1` loops on threads of their own, running `setup(loop, index)` on each
    /// (indices 1...), and returns the group. Loop 0 is the caller's (`first` is its handle): a
    /// server's main thread runs it with `run()`.
    public init(
        count: Int, first: EventLoopHandle,
        configuration: EventLoopConfiguration = EventLoopConfiguration(),
        setup: @escaping @Sendable (EventLoop, Int) throws -> Void
    ) throws {
        precondition(count >= 1, "a group needs at least one loop")
        var threads: [EventLoopThread] = []
        do {
            for index in 1..<count {
                threads.append(try EventLoopThread(configuration: configuration) { loop in try setup(loop, index) })
            }
        } catch {
            for t in threads { t.stopAndJoin() }
            throw error
        }
        self.threads = threads
        self.handles = [first] + threads.map(\.handle)
    }

    public var count: Int { handles.count }

    /// The number of online cores, for `--threads auto`.
    public static var availableCores: Int {
        Sys.onlineProcessors
    }

    /// Asks every loop but the first (which the caller runs) to shut down gracefully.
    public func shutdownOthersGracefully(deadline: Duration) {
        for t in threads { t.handle.shutdownGracefully(deadline: deadline) }
    }

    /// Waits for every loop thread to end.
    public func joinOthers() {
        for t in threads { t.join() }
    }

    /// Stops every other loop at once and waits for them.
    public func stopOthers() {
        for t in threads { t.stopAndJoin() }
    }
}
