import Glibc
import Protocols
import Reactor

/// An HTTP/1.1 server on one event loop: routes requests to handlers, with keep-alive,
/// pipelining, streamed and deferred responses, and the limits of `HTTPServerConfiguration`.
///
///     let router = HTTPRouter()
///     router.get("/plaintext") { _, res in res.respond(contentType: "text/plain", body: "Hello, World!") }
///     let server = HTTPServer(loop: loop, router: router)
///     try server.listen(on: SocketAddress(ip: "127.0.0.1", port: 8000))
///
/// Everything per loop is shared by its connections: one header table, one scratch buffer for
/// response heads, the templates of its common heads, one Date value refreshed once a second by a
/// timer.
public final class HTTPServer {
    public let loop: EventLoop
    public let router: HTTPRouter
    public let configuration: HTTPServerConfiguration
    /// One line per rejected request or failed response (peer, status, reason), at `.warning`,
    /// rate-limited per loop. Set `log.sink` to route them elsewhere (default: standard error),
    /// or share one `RateLimitedLog` among components.
    public var log: RateLimitedLog

    let headerTable: HTTPHeaderTable
    let scratch: UnsafeMutableRawBufferPointer
    /// The heads this server writes over and over, each encoded once.
    let headCache = HTTPResponseHeadCache()
    private let date: UnsafeMutablePointer<HTTPDateCache>
    private var dateTimer: TimerID?
    /// Connections closed, by reason, for metrics.
    public private(set) var closedConnections = 0
    /// Reads of requests whose response was complete, logged at most once every 10 s.
    var staleRequestLog = StaleRequestLog()

    public init(loop: EventLoop, router: HTTPRouter, configuration: HTTPServerConfiguration = HTTPServerConfiguration()) {
        self.loop = loop
        self.log = RateLimitedLog(sink: .standardError(), level: .warning, label: "http: ", loop: loop)
        self.router = router
        self.configuration = configuration
        self.headerTable = HTTPHeaderTable(capacity: configuration.limits.maxHeaderCount)
        self.scratch = .allocate(byteCount: configuration.scratchSize, alignment: 16)
        self.date = .allocate(capacity: 1)
        date.initialize(to: HTTPDateCache())
        date.pointee.update(now: time(nil))
        // Refreshed by a timer rather than per response: one clock read and format per second.
        dateTimer = loop.scheduleRepeating(every: .seconds(1)) { [date] in date.pointee.update(now: time(nil)) }
    }

    deinit {
        if let dateTimer { loop.cancel(dateTimer) }
        scratch.deallocate()
        date.deinitialize(count: 1)
        date.deallocate()
    }

    /// Listens on `address`; every accepted connection speaks HTTP/1.1 to this server.
    @discardableResult
    public func listen(on address: SocketAddress, reusePort: Bool = false, v6Only: Bool = false) throws(SystemError) -> Listener {
        // The listener keeps the server alive; closing the loop (or the listener) lets it go.
        try loop.listen(on: address, reusePort: reusePort, v6Only: v6Only) { c in self.makeHandler(for: c) }
    }

    /// A handler for a connection accepted elsewhere (a listener shared with other protocols).
    public func makeHandler(for connection: Connection) -> any ConnectionHandler {
        HTTPServerConnection(server: self, connection: connection)
    }

    func withDate<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        date.pointee.withBytes(body)
    }

    func connectionDidClose(_ reason: CloseReason) {
        closedConnections += 1
    }
}
