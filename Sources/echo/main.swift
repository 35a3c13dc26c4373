import Glibc
import Protocols
import Reactor

let options: Options
switch Options.parse(Array(CommandLine.arguments.dropFirst())) {
case .success(let o): options = o
case .failure(let e):
    if let message = e.message {
        writeLine("echo: \(message)\n\(Options.usage)", to: 2)
        exit(2)
    }
    writeLine(Options.usage, to: 1)
    exit(0)
}
let log = Log(level: options.logLevel)

var configuration = EventLoopConfiguration()
configuration.maxConnections = options.maxConnections
// Room for a whole maximum-size message (and its frame header) to wait in one queue.
configuration.maxQueuedBytes = max(configuration.maxQueuedBytes, 2 * options.maxMessageSize + 1024)

let loop: EventLoop
do {
    loop = try EventLoop(configuration: configuration)
    try loop.handleTerminationSignals()
} catch {
    log(.error, "cannot start the event loop: \(error)")
    exit(1)
}
loop.onTerminationSignal = { signal in
    log(.info, "signal \(signal): shutting down gracefully (send it again to stop at once)")
}

let makeHandler: (Connection) -> any ConnectionHandler
switch options.mode {
case .tcpEcho:
    let echo = TCPEchoHandler()
    makeHandler = { _ in echo }
case .web:
    var limits = WebSocketLimits()
    limits.maxMessageSize = options.maxMessageSize
    limits.maxFrameSize = options.maxMessageSize
    let web = makeWebDemo(loop: loop, log: log, webSocketLimits: limits)
    makeHandler = { c in web.makeHandler(for: c) }
}

var bound: [Listener] = []
for host in options.hosts {
    do {
        let address = try SocketAddress(ip: host, port: bound.first.map { $0.address.port } ?? options.port)
        bound.append(try loop.listen(on: address, v6Only: true, makeHandler: makeHandler))
    } catch {
        // Loopback IPv6 may be disabled on a machine; one working default address is enough.
        if options.hostGiven || host == options.hosts.first {
            let why = error.errno == EADDRINUSE ? "port \(options.port) is already in use"
                : error.errno == EACCES ? "permission denied (ports below 1024 need privileges)"
                : error.errno == EINVAL ? "'\(host)' is not a numeric IPv4 or IPv6 address"
                : "\(error)"
            log(.error, "cannot listen on \(host) port \(options.port): \(why)")
            exit(1)
        }
        log(.debug, "not listening on \(host): \(error)")
    }
}

let what = options.mode == .tcpEcho ? "TCP echo" : "web demo"
writeLine("echo: \(what) listening on \(bound.map { $0.address.description }.joined(separator: ", "))", to: 1)
if options.mode == .web, let port = bound.first?.address.port {
    writeLine("echo: open http://localhost:\(port)/", to: 1)
}
loop.run()
log(.info, "stopped")
exit(0)
