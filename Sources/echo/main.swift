import Glibc
import Connections
import Reactor
import TLS

let options: Options
switch Options.parse(Array(CommandLine.arguments.dropFirst())) {
case .success(let o): options = o
case .failure(let e):
    if let message = e.message {
        writeLogLine("echo: \(message)\n\(Options.usage)", to: 2)
        exit(2)
    }
    writeLogLine(Options.usage, to: 1)
    exit(0)
}
let log = LogSink.standardError(level: options.logLevel)

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

// One loop per thread on the same port (loop 0 is this thread's and owns the signals), each with
// its own chat hub joined to the others (or to other processes through Redis) by the relay.
var serviceConfiguration = Service.Configuration()
serviceConfiguration.threads = options.threads ?? EventLoopGroup.availableCores
serviceConfiguration.loop = configuration
serviceConfiguration.pubsub = options.pubsub
let service: Service
do {
    serviceConfiguration.relay = try makeRelay(options: options, log: log)
    let tls = try makeTLS(options: options, log: log)
    serviceConfiguration.reloadOnHangup = tls != nil
    // Each Engine.IO endpoint's servers, one per loop, hand requests to the loop of their session,
    // and share one connection state recovery store.
    let socketIOShared = SocketIODemoShared(count: serviceConfiguration.threads, options: options)
    service = try Service(configuration: serviceConfiguration) { context in
        try serve(context, options: options, tls: tls, log: log, socketIOShared: socketIOShared)
    }
    if let tls {
        // Renewed certificate files are read again on SIGHUP; open connections keep theirs.
        service.onReloadSignal = {
            do throws(TLSError) {
                try tls.reload()
                log(.info, "SIGHUP: TLS certificates reloaded")
            } catch {
                log(.error, "SIGHUP: TLS reload failed, the old certificates stay: \(error)")
            }
        }
    }
} catch let error as StartupError {
    log(.error, error.message)
    exit(1)
} catch let error as ServiceSetupError {
    log(.error, (error.underlying as? StartupError)?.message ?? error.description)
    exit(1)
} catch {
    log(.error, "cannot start the event loops: \(error)")
    exit(1)
}
service.onTerminationSignal = { signal in
    log(.info, "signal \(signal): shutting down gracefully (send it again to stop at once)")
}

let bound = service.listeners[0]
let what = (options.mode == .tcpEcho ? "TCP echo" : "web demo") + (options.tlsEnabled ? " over TLS" : "")
let loops = service.handles.count > 1 ? " on \(service.handles.count) loops" : ""
writeLogLine("echo: \(what) listening on \(bound.map { $0.address.description }.joined(separator: ", "))\(loops)", to: 1)
if options.mode == .web, let port = bound.first?.address.port {
    writeLogLine(startupBanner(hosts: options.hosts, port: port, tls: options.tlsEnabled), to: 1)
}
service.run()
log(.info, "stopped")
exit(0)
