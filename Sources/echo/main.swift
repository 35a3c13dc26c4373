import Glibc
import Connections
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

// A server wants every descriptor it is allowed: raise the soft limit to the hard one.
var descriptorLimit = rlimit()
if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &descriptorLimit) == 0 && descriptorLimit.rlim_cur < descriptorLimit.rlim_max {
    descriptorLimit.rlim_cur = descriptorLimit.rlim_max
    _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &descriptorLimit)
}

var configuration = EventLoopConfiguration()
configuration.maxConnections = options.maxConnections
configuration.tailPoolBytes = options.tailPoolBytes
// Room for a whole maximum-size message (and its frame header) to wait in one queue.
configuration.maxQueuedBytes = max(configuration.maxQueuedBytes, 2 * options.maxMessageSize + 1024)

// Loop 0 runs on this thread and owns the signals (blocked before any other thread starts, so
// they all inherit the mask); with --threads N the others run on threads of their own.
let loop: EventLoop
let group: EventLoopGroup?
do {
    loop = try EventLoop(configuration: configuration)
    try loop.handleTerminationSignals()
    let threads = options.threads ?? EventLoopGroup.availableCores
    group = threads > 1 ? try EventLoopGroup(count: threads, first: loop.handle, configuration: configuration) { _, _ in } : nil
} catch {
    log(.error, "cannot start the event loops: \(error)")
    exit(1)
}
let relay: (any HubRelay)?
do throws(StartupError) {
    relay = try makeRelay(options: options, handles: group?.handles ?? [loop.handle], log: log)
} catch {
    log(.error, error.message)
    group?.stopOthers()
    exit(1)
}
loop.onTerminationSignal = { signal in
    log(.info, "signal \(signal): shutting down gracefully (send it again to stop at once)")
    group?.shutdownOthersGracefully(deadline: .seconds(10))
}

// Loop 0 binds first (it learns the port when given 0); the others join it on the same port.
var bound: [Listener] = []
do throws(StartupError) {
    bound = try serve(on: loop, index: 0, port: options.port, options: options, log: log, relay: relay)
} catch {
    log(.error, error.message)
    group?.stopOthers()
    exit(1)
}
if let group {
    let port = bound.first?.address.port ?? options.port
    for index in 1..<group.count {
        let failure: String? = runAndWait(on: group.handles[index]) { other -> String? in
            do throws(StartupError) {
                _ = try serve(on: other, index: index, port: port, options: options, log: log, relay: relay)
                return nil
            } catch {
                return error.message
            }
        }
        if let failure {
            log(.error, failure)
            group.stopOthers()
            exit(1)
        }
    }
}

let what = options.mode == .tcpEcho ? "TCP echo" : "web demo"
let loops = group.map { " on \($0.count) loops" } ?? ""
writeLine("echo: \(what) listening on \(bound.map { $0.address.description }.joined(separator: ", "))\(loops)", to: 1)
if options.mode == .web, let port = bound.first?.address.port {
    writeLine(startupBanner(hosts: options.hosts, port: port), to: 1)
}
loop.run()
group?.joinOthers()
log(.info, "stopped")
exit(0)
