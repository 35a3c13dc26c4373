import Glibc
import Connections
import Protocols
import Reactor
import TLS

/// Why the server could not start, as one line for the user.
struct StartupError: Error {
    let message: String
}

/// Sets up one loop of the service: its protocol handlers and its own listeners (the service puts
/// every loop on the same port). Runs on that loop's thread.
func serve(_ context: ServiceLoop, options: Options, tls: TLSServer?, log: Log, socketIOShared: SocketIODemoShared) throws(StartupError) {
    let port = options.port
    var makeHandler: (Connection) -> any ConnectionHandler
    switch options.mode {
    case .tcpEcho:
        let echo = TCPEchoHandler()
        makeHandler = { _ in echo }
    case .web:
        var limits = WebSocketLimits()
        limits.maxMessageSize = options.maxMessageSize
        limits.maxFrameSize = options.maxMessageSize
        limits.incompleteMessageBudget = options.webSocketMessageBudget
        let web = makeWebDemo(loop: context.loop, log: log, options: options, webSocketLimits: limits, pubsub: context.pubsub,
                              socketIOShared: (socketIOShared, context.index))
        makeHandler = { c in web.makeHandler(for: c) }
    }

    // With TLS every connection is wrapped before its handler sees a byte; the handlers do not know.
    if let tls { makeHandler = tls.makeHandler(wrapping: makeHandler) }

    // Only this process's loops share the port: a relay through Redis does not make another
    // process's listener welcome on it.
    var bound: [Listener] = []
    for host in options.hosts {
        do {
            let address = try SocketAddress(ip: host, port: bound.first.map { $0.address.port } ?? port)
            bound.append(try context.listen(on: address, makeHandler: makeHandler))
        } catch {
            // Loopback IPv6 may be disabled on a machine; one working default address is enough.
            if options.hostGiven || host == options.hosts.first {
                let why = error.errno == EADDRINUSE ? "port \(port) is already in use"
                    : error.errno == EACCES ? "permission denied (ports below 1024 need privileges)"
                    : error.errno == EINVAL ? "'\(host)' is not a numeric IPv4 or IPv6 address"
                    : "\(error)"
                throw StartupError(message: "cannot listen on \(host) port \(port): \(why)")
            }
            log(.debug, "not listening on \(host): \(error)")
        }
    }
}

/// The TLS server of `--tls-cert`/`--tls-key`, made once for every loop (nil without them).
func makeTLS(options: Options, log: Log) throws(StartupError) -> TLSServer? {
    guard options.tlsEnabled else { return nil }
    let pairs = zip(options.tlsCertificates, options.tlsKeys).map {
        var c = TLSConfiguration(certificateChainFile: $0.0, privateKeyFile: $0.1)
        c.releaseIdleBuffers = !options.tlsKeepRecordBuffers
        return c
    }
    do {
        return try TLSServer(configuration: pairs[0], alternatives: Array(pairs.dropFirst()),
                             handshakeTimeout: .milliseconds(options.tlsHandshakeTimeoutMilliseconds), log: log)
    } catch {
        throw StartupError(message: "TLS: \(error)")
    }
}

/// The relay that gives each room one sequence and carries Socket.IO broadcasts: through Redis with
/// `--redis` (across processes, and across this process's loops), else across loops when there
/// are several, else none.
func makeRelay(options: Options, log: Log) throws(StartupError) -> Service.Relay {
    guard let endpoint = options.redis else { return .acrossLoops }
    guard options.mode == .web else { throw StartupError(message: "--redis shares chat rooms; it has no use with --tcp") }
    let address: SocketAddress
    do {
        address = try endpoint.resolve()
    } catch {
        throw StartupError(message: "--redis: \(error.message)")
    }
    log(.info, "chat rooms and Socket.IO broadcasts shared through redis \(endpoint) (\(address))")
    // The relay remembers the order of twice the rooms a loop keeps a history of (`--max-rooms`).
    var configuration = RedisRelay.Configuration()
    configuration.maxRooms = 2 * options.pubsub.maxRooms
    return .custom { [configuration] handles in
        RedisRelay(handles: handles, endpoint: endpoint, address: address, configuration: configuration, log: log)
    }
}
