import Glibc
import Protocols
import Reactor
import TLS

/// A Redis client on one event loop: the glue between a TCP connection and the sans-I/O pieces
/// (`RESPDecoder`, `RESPEncoder`, `RedisPipeline`, `ReconnectBackoff`).
///
/// - **Pipelining**: `send` writes at once and returns; replies complete commands in order.
///   `batch { }` gathers the commands it sends into one write.
/// - **Subscriptions**: channels and patterns given to `subscribe`/`psubscribe` are remembered and
///   subscribed again after every reconnect; messages go to `onMessage`, and `onSubscribed` runs
///   each time the whole set is acknowledged (so an owner can fetch what it missed meanwhile).
/// - **Reconnect**: a failed connect or a dropped connection is retried with jittered exponential
///   backoff, for ever, until `close()` or a loop shutdown. Commands in flight when a connection
///   drops fail with `.connectionLost` (they may or may not have run); commands sent while it is
///   down fail at once with `.notConnected`. Holding and retrying is the owner's policy
///   (`RedisRelay` holds publishes), not the connection's.
/// - **Health**: with nothing pending for `healthCheckInterval` it sends PING; a reply that takes
///   longer than `replyTimeout` drops the connection, so a server that vanished without a FIN
///   (a cable, a frozen VM) is noticed.
/// - **Logging**: one line per change of state ("redis 127.0.0.1:6379 unreachable: connection
///   refused; retrying in 800 ms", then "... reachable again after 4.2 s"), not one per retry.
///
/// Every method runs on the loop's thread; callbacks run there too.
public final class RedisConnection: ConnectionHandler {
    public typealias Completion = (Result<RESPValue, RedisError>) -> Void
    public enum State: Sendable, Equatable {
        case idle, connecting, handshaking, ready, waitingToReconnect, closed
    }

    public let loop: EventLoop
    public let endpoint: RedisEndpoint
    public let address: SocketAddress
    public let configuration: RedisConfiguration
    /// Where state changes are reported (once per change): `.info` for connects and recoveries,
    /// `.warning` for outages and refusals.
    public var log: LogSink
    /// Whether losing the server is logged (a second connection to the same server, which fails
    /// with the first, can leave that to it). Recoveries and refusals are always logged.
    public var reportsOutages = true
    /// Ready for commands (after the handshake and the re-subscriptions were sent).
    public var onReady: (() -> Void)?
    /// A ready connection was lost, after its pending commands failed.
    public var onDown: ((String) -> Void)?
    public var onMessage: ((RedisPubSubMessage) -> Void)?
    /// Every remembered channel and pattern is subscribed (again, after a reconnect).
    public var onSubscribed: (() -> Void)?

    public private(set) var state: State = .idle
    /// RESP3 once `HELLO 3` succeeded on the current connection.
    public var version: RESPVersion { pipeline.version }
    /// Why the last connection or attempt ended (for error messages while down).
    public private(set) var lastFailure: String?

    private var connection: Connection?
    private var decoder: RESPDecoder
    private var pipeline = RedisPipeline<Completion?>()
    private var backoff: ReconnectBackoff
    private var reconnectTimer: TimerID?
    /// TLS for a `rediss://` endpoint (nil: plain TCP).
    private let tls: TLSClient?
    /// A reply too large to leave in the loop's receive buffer collects here (see didRead).
    private var largeReply: [UInt8] = []
    private var outgoing: [UInt8] = []
    private var batchDepth = 0
    private var channels: [String] = []
    private var patterns: [String] = []
    /// The reason last logged while down; nil while up. Repeated failures with the same reason
    /// are not logged again.
    private var loggedDownReason: String?
    private var downSince: UInt64?
    private var attemptsWhileDown = 0
    private var closeWhenIdle = false
    private var everReady = false

    /// `address` is `endpoint` resolved (before the loop runs: resolving blocks). For a
    /// `rediss://` endpoint, `tls` says which CAs to trust (nil: the system trust store); the
    /// server's certificate must cover `endpoint.host`.
    public init(loop: EventLoop, endpoint: RedisEndpoint, address: SocketAddress,
                configuration: RedisConfiguration = RedisConfiguration(),
                tls: TLSClient? = nil, log: LogSink = .standardError()) {
        self.tls = endpoint.tls ? (tls ?? (try? TLSClient(log: log))) : nil
        self.loop = loop
        self.endpoint = endpoint
        self.address = address
        self.configuration = configuration
        self.log = log
        self.decoder = RESPDecoder(limits: configuration.limits)
        self.backoff = configuration.backoff
    }

    /// Starts connecting (and reconnecting whenever needed).
    public func start() {
        guard state == .idle else { return }
        connect()
    }

    /// Closes the connection and stops reconnecting; pending commands fail with `.closed`.
    public func close() {
        guard state != .closed else { return }
        state = .closed
        if let t = reconnectTimer { loop.cancel(t) }
        reconnectTimer = nil
        if let c = connection { c.close(reason: .local, flush: false) }
    }

    public var isReady: Bool { state == .ready }

    /// Drops the current connection and connects again (with the usual backoff): for an owner
    /// that finds the server in a state it can only repair from a fresh connection (a flushed
    /// script cache with commands in flight behind it, say).
    public func reconnect(_ why: String) {
        drop(why)
    }

    // MARK: Commands

    /// Sends one command (name and arguments, binary-safe). `completion` gets the reply, an error
    /// reply as `.server`, or why it could not be sent or answered.
    public func send(_ arguments: [[UInt8]], completion: Completion? = nil) {
        guard state == .ready else {
            completion?(.failure(state == .closed ? .closed : .notConnected(lastFailure)))
            return
        }
        let name = Self.upper(arguments.first ?? [])
        if pipeline.isInRESP2SubscribedMode && !Self.allowedWhileSubscribed.contains(name) {
            completion?(.failure(.invalidCommand("\(name) cannot be sent on a RESP2 connection in subscribed mode")))
            return
        }
        write(arguments, kind: Self.isSubscription(name) ? .subscription(names: max(1, arguments.count - 1)) : .regular, completion)
    }

    public func send(_ arguments: [String], completion: Completion? = nil) {
        send(arguments.map { Array($0.utf8) }, completion: completion)
    }

    /// Sends the commands `body` sends in one write (a pipeline burst: one syscall, one packet).
    public func batch(_ body: () -> Void) {
        batchDepth += 1
        body()
        batchDepth -= 1
        if batchDepth == 0 { flush() }
    }

    /// Subscribes to channels now (if ready) and after every reconnect.
    public func subscribe(channels names: [String]) {
        let new = names.filter { !channels.contains($0) }
        channels += new
        if state == .ready && !new.isEmpty { write(["SUBSCRIBE"] + new, then: onSubscribed) }
    }

    /// Subscribes to patterns now (if ready) and after every reconnect.
    public func psubscribe(patterns names: [String]) {
        let new = names.filter { !patterns.contains($0) }
        patterns += new
        if state == .ready && !new.isEmpty { write(["PSUBSCRIBE"] + new, then: onSubscribed) }
    }

    static let allowedWhileSubscribed: Set<String> = ["SUBSCRIBE", "PSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "PING", "QUIT", "RESET"]

    static func isSubscription(_ name: String) -> Bool {
        name == "SUBSCRIBE" || name == "PSUBSCRIBE" || name == "UNSUBSCRIBE" || name == "PUNSUBSCRIBE"
    }

    static func upper(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.prefix(32).map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 }, as: UTF8.self)
    }

    private func write(_ arguments: [[UInt8]], kind: RedisPipeline<Completion?>.Kind, _ completion: Completion?) {
        RESPEncoder.append(arguments, to: &outgoing)
        if pipeline.pendingCount == 0 { connection?.setTimeout(configuration.replyTimeout) }
        pipeline.sent(completion, kind: kind)
        if batchDepth == 0 { flush() }
    }

    /// A subscribe-family command whose acknowledgement runs `then`.
    private func write(_ arguments: [String], then: (() -> Void)?) {
        write(arguments.map { Array($0.utf8) }, kind: .subscription(names: arguments.count - 1)) { [weak self] result in
            switch result {
            case .success: then?()
            case .failure(.server(let e)):
                guard let self else { return }
                log(.warning, "redis \(endpoint) refused \(arguments[0]) \(arguments.dropFirst().joined(separator: " ")): \(e)")
            case .failure: break
            }
        }
    }

    private func flush() {
        guard !outgoing.isEmpty else { return }
        connection?.send(outgoing)
        outgoing.removeAll(keepingCapacity: outgoing.count <= 64 * 1024)
    }

    // MARK: Connecting

    private func connect() {
        guard state != .closed else { return }
        if loop.isShuttingDown {
            state = .closed
            return
        }
        state = .connecting
        attemptsWhileDown += 1
        do {
            let c = try loop.connect(to: address, handler: self, timeout: configuration.connectTimeout)
            connection = c
            if endpoint.tls {
                guard let tls else {
                    c.close(reason: .protocolError("TLS: no client context (the system trust store could not be read)"), flush: false)
                    return
                }
                tls.attach(to: c, serverName: endpoint.host)
            }
        } catch {
            connection = nil
            wentDown(Self.text(errno: error.errno), wasReady: false)
        }
    }

    public func connectionDidOpen(_ c: Connection) {
        guard c == connection else { return }
        state = .handshaking
        pipeline = RedisPipeline(version: .resp2)
        c.setTimeout(configuration.replyTimeout)
        if configuration.preferRESP3 {
            var hello = ["HELLO", "3"]
            if let password = endpoint.password { hello += ["AUTH", endpoint.username ?? "default", password] }
            if let name = configuration.clientName { hello += ["SETNAME", name] }
            write(hello.map { Array($0.utf8) }, kind: .regular) { [weak self] result in
                guard let self else { return }
                switch result {
                case .success:
                    pipeline.version = .resp3
                    handshake(rest: selectCommand())
                case .failure(.server(let e)) where e.hasPrefix("NOPROTO") || e.lowercased().contains("unknown command"):
                    handshake(rest: legacyCommands() + selectCommand())  // Redis before 6
                case .failure(.server(let e)):
                    drop("redis refused HELLO: \(e)")
                case .failure:
                    break  // the connection is gone; its close is handled already
                }
            }
        } else {
            handshake(rest: legacyCommands() + selectCommand())
        }
    }

    private func legacyCommands() -> [[String]] {
        var out: [[String]] = []
        if let password = endpoint.password { out.append(["AUTH"] + (endpoint.username.map { [$0] } ?? []) + [password]) }
        if let name = configuration.clientName { out.append(["CLIENT", "SETNAME", name]) }
        return out
    }

    private func selectCommand() -> [[String]] {
        endpoint.database == 0 ? [] : [["SELECT", String(endpoint.database)]]
    }

    /// Sends the remaining handshake commands pipelined; the connection is ready when the last
    /// one succeeds (one refused: the connection is dropped and retried later).
    private func handshake(rest commands: [[String]]) {
        guard !commands.isEmpty else { return becomeReady() }
        batch {
            for (i, command) in commands.enumerated() {
                let last = i == commands.count - 1
                write(command.map { Array($0.utf8) }, kind: .regular) { [weak self] result in
                    guard let self else { return }
                    switch result {
                    case .success: if last { becomeReady() }
                    case .failure(.server(let e)): drop("redis refused \(command[0]): \(e)")
                    case .failure: break
                    }
                }
            }
        }
    }

    private func becomeReady() {
        state = .ready
        backoff.reset()
        let protocolName = pipeline.version == .resp3 ? "RESP3" : "RESP2"
        if let since = downSince, loggedDownReason != nil {
            let down = Self.seconds(.nanoseconds(Int64(loop.now &- since)))
            let what = everReady ? "reachable again" : "connected"
            log(.info, "redis \(endpoint) \(what) after \(down) (\(attemptsWhileDown) attempts), \(protocolName)")
        } else {
            log(.info, "redis \(endpoint) connected, \(protocolName)")
        }
        everReady = true
        loggedDownReason = nil
        downSince = nil
        attemptsWhileDown = 0
        batch {
            if !channels.isEmpty { write(["SUBSCRIBE"] + channels, then: onSubscribed) }
            if !patterns.isEmpty { write(["PSUBSCRIBE"] + patterns, then: onSubscribed) }
            onReady?()
        }
    }

    // MARK: Reading

    public func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int {
        guard c == connection else { return bytes.count }
        var consumed = 0
        if largeReply.isEmpty {
            consumed = decodeAll(bytes, on: c)
            guard c == connection else { return bytes.count }
            // A reply bigger than half the loop's receive buffer would leave the loop no room to
            // read the rest into (the loop closes such a connection): keep it here instead.
            if bytes.count - consumed > loop.configuration.receiveBufferSize / 2 {
                largeReply.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[consumed...]))
                consumed = bytes.count
            }
        } else {
            largeReply.append(contentsOf: bytes)
            consumed = bytes.count
            let used = largeReply.withUnsafeBytes { decodeAll($0, on: c) }
            guard c == connection else { return bytes.count }
            largeReply.removeFirst(used)
        }
        if closeWhenIdle && pipeline.pendingCount == 0 {
            c.close(reason: .shutdown, flush: true)
        } else {
            // Bytes arrived: the server is alive. Idle: health-check later; else wait for replies.
            c.setTimeout(pipeline.pendingCount == 0 ? configuration.healthCheckInterval : configuration.replyTimeout)
        }
        return consumed
    }

    /// Decodes and dispatches every complete value in `bytes`; returns the bytes used. Stops early
    /// if a callback closed the connection.
    private func decodeAll(_ bytes: UnsafeRawBufferPointer, on c: Connection) -> Int {
        var used = 0
        while used < bytes.count {
            let decoded: (value: RESPValue, consumed: Int)?
            do {
                decoded = try decoder.decode(UnsafeRawBufferPointer(rebasing: bytes[used...]))
            } catch {
                drop("malformed reply from redis: \(error)")
                return bytes.count
            }
            guard let (value, n) = decoded else { break }
            used += n
            dispatch(value)
            guard c == connection else { return bytes.count }
        }
        return used
    }

    private func dispatch(_ value: RESPValue) {
        switch pipeline.receive(value) {
        case .reply(let completion, let v):
            if let e = v.errorMessage {
                completion?(.failure(.server(e)))
            } else {
                completion?(.success(v))
            }
        case .message(let m):
            onMessage?(m)
        case .acknowledged, .push:
            break
        case .unexpected:
            drop("redis sent a reply no command was waiting for")
        }
    }

    // MARK: Losing the connection

    public func connectionDidReadEOF(_ c: Connection) {
        c.close(reason: .peerClosed, flush: false)
    }

    /// The connection's coarse timeout, re-armed on every read (see `connection(_:didRead:)`):
    /// idle, it is the health check; with replies pending, their deadline. Not `Keepalive`: the
    /// answer awaited is the reply to any command in flight, not the PING alone, so the deadline
    /// belongs to the pipeline, and a PING is only the probe of an idle connection.
    public func connectionDidTimeout(_ c: Connection) {
        guard c == connection else { return }
        if state == .ready && pipeline.pendingCount == 0 {
            write([Array("PING".utf8)], kind: .regular, nil)
        } else {
            drop("no reply within \(Self.seconds(configuration.replyTimeout))")
        }
    }

    public func connectionShouldShutdown(_ c: Connection) {
        // Stop reconnecting; let replies in flight arrive (answers to publishes the HTTP server is
        // still waiting for), within the loop's shutdown deadline.
        if let t = reconnectTimer { loop.cancel(t) }
        reconnectTimer = nil
        closeWhenIdle = true
        if state != .ready || pipeline.pendingCount == 0 {
            state = .closed
            c.close(reason: .shutdown, flush: false)
        }
    }

    public func connectionDidClose(_ c: Connection, reason: CloseReason) {
        guard c == connection else { return }
        connection = nil
        let wasReady = state == .ready
        let why = describe(reason, connecting: state == .connecting)
        lastFailure = why
        let abandoned = pipeline.abandonAll()
        pipeline = RedisPipeline(version: .resp2)
        outgoing.removeAll()
        largeReply = []
        decoder.reset()
        if closeWhenIdle || state == .closed {
            state = .closed
            for completion in abandoned { completion?(.failure(.closed)) }
            return
        }
        // Not ready before the completions run: anything they send fails at once instead of
        // being written to a dead connection.
        state = .waitingToReconnect
        for completion in abandoned { completion?(.failure(.connectionLost(why))) }
        if wasReady { onDown?(why) }
        wentDown(why, wasReady: wasReady)
    }

    /// Logs the change (if it is one) and schedules the next attempt.
    private func wentDown(_ why: String, wasReady: Bool) {
        guard state != .closed else { return }
        state = .waitingToReconnect
        if loop.isShuttingDown {
            state = .closed
            return
        }
        let delay = backoff.nextDelay()
        if downSince == nil {
            downSince = loop.now
            attemptsWhileDown = wasReady ? 0 : attemptsWhileDown
        }
        if loggedDownReason != why {
            let what = wasReady ? "connection lost: \(why); reconnecting" : "unreachable: \(why); retrying"
            if reportsOutages { log(.warning, "redis \(endpoint) \(what) in \(delay.wholeMilliseconds) ms") }
            loggedDownReason = why
        }
        reconnectTimer = loop.schedule(after: delay) { [weak self] in
            guard let self else { return }
            reconnectTimer = nil
            connect()
        }
    }

    private func drop(_ why: String) {
        connection?.close(reason: .protocolError(why), flush: false)
    }

    private func describe(_ reason: CloseReason, connecting: Bool) -> String {
        switch reason {
        case .connectFailed(let e): Self.text(errno: e)
        case .timeout: connecting ? "connect timed out after \(Self.seconds(configuration.connectTimeout))" : "timed out"
        case .peerClosed: "connection closed by the server"
        case .reset: "connection reset by the server"
        case .error(let e): Self.text(errno: e)
        case .protocolError(let why): why
        default: reason.description
        }
    }

    /// strerror's text, starting lower-case to read well inside a sentence.
    static func text(errno e: Int32) -> String {
        let s = String(cString: strerror(e))
        guard let first = s.first else { return "errno \(e)" }
        return first.lowercased() + s.dropFirst()
    }

    static func seconds(_ d: Duration) -> String {
        let ms = d.wholeMilliseconds
        return ms < 1000 ? "\(ms) ms" : "\(ms / 1000).\((ms % 1000) / 100) s"
    }
}
