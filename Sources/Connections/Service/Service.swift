import Glibc
import Protocols
import Reactor

/// A server process's loops, made and wired in one call: one loop per thread on the same port, a
/// pub/sub hub per loop joined by a relay (so a room keeps one sequence across loops), graceful
/// shutdown on SIGINT/SIGTERM, and a per-loop setup whose errors reach the caller.
///
/// ```swift
/// let service = try Service(threads: 4) { context in
///     let router = HTTPRouter()
///     router.get("/hello") { _, res in res.respond(contentType: "text/plain", body: "hi") }
///     let server = HTTPServer(loop: context.loop, router: router)
///     try context.listen(on: SocketAddress(ip: "0.0.0.0", port: 8080)) { server.makeHandler(for: $0) }
/// }
/// service.run()   // loop 0 runs on this thread until a signal drains every loop
/// ```
///
/// Threads: loop 0 is the caller's (it keeps the signals); loops 1... run on threads of their own.
/// `setup` runs once per loop, on that loop's thread, in loop order, loop 0 first: what it makes
/// belongs to that loop alone (share nothing but `Sendable` values and the relay).
public final class Service {
    /// Where rooms get their one sequence when there are several loops (or processes).
    public enum Relay: Sendable {
        /// No relay: each loop's hub numbers its own rooms (right for one loop, or when the loops
        /// share no rooms).
        case none
        /// `LoopGroupRelay` when there are several loops, none for one (the default).
        case acrossLoops
        /// A relay of the caller's making over the loops' handles, e.g. a `RedisRelay` across
        /// processes. Called once, on the caller's thread, after the loops exist and before any
        /// setup runs.
        case custom(@Sendable ([EventLoopHandle]) throws -> any HubRelay)
    }

    public struct Configuration: Sendable {
        /// Loops (and threads) to run; at least 1.
        public var threads: Int = EventLoopGroup.availableCores
        /// Each loop's configuration.
        public var loop = EventLoopConfiguration()
        /// Each loop's hub's bounds.
        public var pubsub = PubSub.Limits()
        public var relay: Relay = .acrossLoops
        /// SIGINT/SIGTERM shut every loop down gracefully, waiting this long for connections to
        /// finish; a second signal stops at once. nil: the service installs no signal handling.
        public var drainDeadline: Duration? = .seconds(10)
        /// SIGHUP calls `onReloadSignal` on loop 0 instead of ending the process (the TLS
        /// server's certificates, say). Off: SIGHUP keeps its default.
        public var reloadOnHangup = false

        public init() {}
    }

    /// Loop 0, which `run()` runs on the caller's thread.
    public let loop: EventLoop
    /// Every loop's handle, in loop order (0 is `loop.handle`).
    public let handles: [EventLoopHandle]
    /// What each loop listened on, in loop order then call order (`ServiceLoop.listen`).
    public private(set) var listeners: [[Listener]] = []
    /// Called on loop 0 when a termination signal starts the drain (before it starts), e.g. to log.
    public var onTerminationSignal: ((Int32) -> Void)? {
        didSet { installSignalHook() }
    }

    /// Called on loop 0 for each SIGHUP (with `Configuration.reloadOnHangup`).
    public var onReloadSignal: (() -> Void)? {
        get { loop.onReloadSignal }
        set { loop.onReloadSignal = newValue }
    }

    private let group: EventLoopGroup?
    private let relay: (any HubRelay)?
    private let drainDeadline: Duration

    /// Makes the loops, the relay and each loop's hub, installs the signal handling, and runs
    /// `setup` on every loop. Throws the first error a setup throws (after stopping the loops
    /// already started), or why a loop or the relay could not be made.
    public convenience init(threads: Int = EventLoopGroup.availableCores, setup: @escaping @Sendable (ServiceLoop) throws -> Void) throws {
        var configuration = Configuration()
        configuration.threads = threads
        try self.init(configuration: configuration, setup: setup)
    }

    public init(configuration: Configuration, setup: @escaping @Sendable (ServiceLoop) throws -> Void) throws {
        precondition(configuration.threads >= 1, "a service needs at least one loop (threads: \(configuration.threads))")
        let loop = try EventLoop(configuration: configuration.loop)
        // Before any other thread starts, so they all inherit the blocked signals.
        if let deadline = configuration.drainDeadline { try loop.handleTerminationSignals(drainDeadline: deadline) }
        if configuration.reloadOnHangup { try loop.handleReloadSignal() }
        let group = configuration.threads > 1
            ? try EventLoopGroup(count: configuration.threads, first: loop.handle, configuration: configuration.loop) { _, _ in }
            : nil
        let handles = group?.handles ?? [loop.handle]
        let relay: (any HubRelay)?
        do {
            switch configuration.relay {
            case .none: relay = nil
            case .acrossLoops: relay = handles.count > 1 ? LoopGroupRelay(handles: handles) : nil
            case .custom(let make): relay = try make(handles)
            }
        } catch {
            group?.stopOthers()
            throw error
        }
        self.loop = loop
        self.handles = handles
        self.group = group
        self.relay = relay
        self.drainDeadline = configuration.drainDeadline ?? .seconds(10)
        installSignalHook()

        // Loop 0 first: a listener on port 0 learns its port there, and the others join it.
        let ports = ListenPorts()
        let limits = configuration.pubsub
        let count = handles.count
        let first = ServiceLoop(loop: loop, index: 0, count: count, pubsub: Self.hub(on: loop, index: 0, limits: limits, relay: relay), ports: ports)
        do {
            try setup(first)
            listeners.append(first.listenerBox.listeners)
            for index in 1..<count {
                let outcome = handles[index].runAndWait { other -> Result<[Listener], ServiceSetupError> in
                    let context = ServiceLoop(loop: other, index: index, count: count,
                                              pubsub: Self.hub(on: other, index: index, limits: limits, relay: relay), ports: ports)
                    do {
                        try setup(context)
                        return .success(context.listenerBox.listeners)
                    } catch {
                        return .failure(ServiceSetupError(loop: index, underlying: error))
                    }
                }
                guard let outcome else { throw ServiceSetupError(loop: index, underlying: nil) }
                listeners.append(try outcome.get())
            }
        } catch {
            group?.stopOthers()
            throw error
        }
    }

    /// Runs loop 0 on this thread until the service stops (a signal's drain, or `stop()`), then
    /// waits for the other loops to end.
    public func run() {
        loop.run()
        group?.joinOthers()
    }

    /// Drains every loop (as a signal does): stop accepting, let connections finish, stop at
    /// `deadline`. From another thread, call `shutdownGracefully` on each of `handles` instead
    /// (the handles are the thread-safe doorway; the service itself belongs to loop 0's thread).
    public func shutdownGracefully(deadline: Duration = .seconds(10)) {
        for handle in handles { handle.shutdownGracefully(deadline: deadline) }
    }

    private func installSignalHook() {
        let group = self.group
        let hook = onTerminationSignal
        let deadline = drainDeadline
        loop.onTerminationSignal = { signal in
            hook?(signal)
            group?.shutdownOthersGracefully(deadline: deadline)
        }
    }

    private static func hub(on loop: EventLoop, index: Int, limits: PubSub.Limits, relay: (any HubRelay)?) -> PubSub {
        let hub = PubSub(loop: loop, limits: limits)
        relay?.register(hub, index: index)
        return hub
    }
}

/// A loop's setup failed: `underlying` is what it threw (nil when the loop had already stopped).
/// Setup errors of loop 0 reach the caller as they were thrown; those of the other loops cross a
/// thread, so they come wrapped, with the loop's index.
public struct ServiceSetupError: Error, @unchecked Sendable, CustomStringConvertible {
    public let loop: Int
    // Made on the failing loop's thread and read on the caller's only after that loop handed it
    // over (the hand-off orders the two): the reason for the unchecked Sendable.
    public let underlying: (any Error)?

    public var description: String {
        underlying.map { "loop \(loop): \($0)" } ?? "loop \(loop) stopped before its setup ran"
    }
}
