import Glibc

/// The load generator's command line. Every mode prints one `key=value ...` result line on
/// stdout (the runner parses it) and exits 0; 2 means the server's answers were wrong (a lost,
/// duplicated or reordered message, a refused upgrade), 3 that something else failed.
struct LoadOptions {
    enum Mode: String { case broadcast, idle, setup = "sio-setup", echoLatency = "ws-echo-latency" }
    enum Transport: String { case ws, sse, socketio }

    var mode = Mode.broadcast
    var host = "127.0.0.1"
    var port: UInt16 = 8000
    /// broadcast: the publisher's port, when it is another process than the subscribers'
    /// (two `echo --redis` processes: the Redis hop).
    var publishPort: UInt16?
    var transport = Transport.ws
    var subscribers = 1000
    var room = "bench"
    /// broadcast, closed loop: messages published and not yet delivered to every subscriber.
    var window = 16
    /// broadcast, open loop: messages per second on a fixed schedule; latency counts from
    /// each message's intended send time, so a stalled server cannot hide its stall
    /// (coordinated omission).
    var rate: Double?
    var warmup = 2.0
    var measure = 5.0
    var serverPID: Int32 = 0
    /// Sends the server SIGUSR1 at the window's start and SIGUSR2 at its end (the malloc counter).
    var signalWindow = false
    /// Connections being set up at once.
    var parallelConnects = 256
    /// Reads the reactor demo's /metrics at the end (broadcasts and encodings).
    var metrics = false
    /// idle: connections to hold, the path they upgrade on, and the number of source
    /// addresses (127.0.0.1, .2, ...) to spread them over (28,000 ephemeral ports each).
    var connections = 10_000
    var path = "/echo"
    var idleSeconds = 1.0
    /// sio-setup: set-ups per kind.
    var count = 200
    /// ws-echo-latency: bytes per message (8 to 125).
    var size = 32

    static let usage = """
        usage: reactor-loadgen broadcast --port P [--publish-port P] [--transport ws|sse|socketio]
                   [--subscribers N] [--room R] [--window W | --rate MSGS_PER_S] [--warmup S] [--measure S]
                   [--server-pid PID] [--signal-window] [--parallel-connects K] [--metrics]
               reactor-loadgen idle --port P [--connections N] [--path /echo] [--idle-seconds S] --server-pid PID
               reactor-loadgen sio-setup --port P [--count N] [--server-pid PID]
               reactor-loadgen ws-echo-latency --port P --rate MSGS_PER_S [--connections N (16)] [--size B] [--path /echo]
                   [--warmup S] [--measure S] [--server-pid PID]
        """

    static func parse(_ arguments: [String]) -> LoadOptions {
        var o = LoadOptions()
        var rest = arguments[...]
        func fail(_ message: String) -> Never {
            output("reactor-loadgen: \(message)\n\(usage)", fd: 2)
            exit(3)
        }
        if let first = rest.first, !first.hasPrefix("-") {
            guard let mode = Mode(rawValue: first) else { fail("unknown mode \(first)") }
            o.mode = mode
            rest = rest.dropFirst()
        }
        func value(_ flag: String) -> String {
            guard let v = rest.popFirst() else { fail("\(flag) needs a value") }
            return v
        }
        func number(_ flag: String) -> Double {
            guard let v = Double(value(flag)), v >= 0 else { fail("\(flag) needs a number") }
            return v
        }
        func port(_ flag: String) -> UInt16 {
            guard let p = UInt16(value(flag)), p > 0 else { fail("\(flag) needs a port") }
            return p
        }
        var connectionsGiven = false
        while let arg = rest.popFirst() {
            switch arg {
            case "--host": o.host = value(arg)
            case "--port": o.port = port(arg)
            case "--publish-port": o.publishPort = port(arg)
            case "--transport":
                guard let t = Transport(rawValue: value(arg)) else { fail("--transport is ws, sse or socketio") }
                o.transport = t
            case "--subscribers": o.subscribers = max(1, Int(number(arg)))
            case "--room": o.room = value(arg)
            case "--window": o.window = max(1, Int(number(arg)))
            case "--rate": o.rate = number(arg)
            case "--warmup": o.warmup = number(arg)
            case "--measure": o.measure = number(arg)
            case "--server-pid": o.serverPID = Int32(number(arg))
            case "--signal-window": o.signalWindow = true
            case "--parallel-connects": o.parallelConnects = max(1, Int(number(arg)))
            case "--metrics": o.metrics = true
            case "--connections":
                o.connections = max(1, Int(number(arg)))
                connectionsGiven = true
            case "--path": o.path = value(arg)
            case "--idle-seconds": o.idleSeconds = number(arg)
            case "--count": o.count = max(1, Int(number(arg)))
            case "--size": o.size = Int(number(arg))
            case "-h", "--help":
                output(usage)
                exit(0)
            default: fail("unknown option \(arg)")
            }
        }
        if o.mode == .echoLatency && !connectionsGiven { o.connections = 16 }  // idle's 10,000 is no echo load
        return o
    }
}

/// Exits with a message: status 2 when the server answered wrongly, 3 otherwise.
func die(_ message: String, status: Int32 = 3) -> Never {
    output("reactor-loadgen: \(message)", fd: 2)
    exit(status)
}

/// Writes one line to stdout (or `fd`) at once: the runner reads the result line while this
/// process may still be running, so nothing may sit in a stdio buffer.
func output(_ line: String, fd: Int32 = 1) {
    let bytes = Array((line + "\n").utf8)
    var off = 0
    while off < bytes.count {
        let n = bytes[off...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n <= 0 { return }
        off += n
    }
}
