import Glibc
import Reactor

/// Open-loop WebSocket echo latency: `connections` upgraded connections on `path`, binary
/// messages of `size` bytes sent on a fixed schedule (`rate` per second over all connections, in
/// turn), each timed from its intended send time to the arrival of its echo, so a server that
/// stalls cannot slow the load down and hide the stall (coordinated omission). Latencies go into
/// a log-linear histogram: p50, p99, p99.9.
///
/// Frames are written and parsed by hand, as a minimal RFC 6455 client with the RFC's example
/// key (the C baseline server answers only that one): masked binary frames of at most 125 bytes,
/// each carrying its sequence number, echoed unmasked. An echo out of order, altered or missing
/// stops the run with status 2.
final class EchoLatency: LoadRun {
    let loop: EventLoop
    let options: LoadOptions
    private let address: SocketAddress
    private var clients: [Client] = []
    private var ready = 0
    private var intended: [UInt64]
    private let ringMask: UInt64
    private var sent: UInt64 = 0
    private var received: UInt64 = 0
    private var nextDue: UInt64 = 0
    private var interval: UInt64 = 0
    private var measuring = false
    private var windowStart: WindowEdge?
    private var histogram = Histogram()
    private var windowMessages: UInt64 = 0
    private var behind = false

    init(loop: EventLoop, options: LoadOptions) throws {
        guard options.size >= 8 && options.size <= 125 else { die("--size must be 8 to 125 bytes") }
        self.loop = loop
        self.options = options
        address = try SocketAddress(ip: options.host, port: options.port)
        intended = Array(repeating: 0, count: 1 << 20)
        ringMask = UInt64((1 << 20) - 1)
    }

    func start() throws {
        for i in 0..<options.connections {
            let client = Client(owner: self, index: i)
            clients.append(client)
            try loop.connect(to: address, handler: client)
        }
    }

    final class Client: ConnectionHandler {
        unowned let owner: EchoLatency
        let index: Int
        var connection: Connection?
        var upgraded = false
        var expected: [UInt64] = []  // sequence numbers in flight on this connection, oldest first
        var expectedHead = 0
        private var frame: [UInt8]
        static let mask: [UInt8] = [0x37, 0xfa, 0x21, 0x3d]

        init(owner: EchoLatency, index: Int) {
            self.owner = owner
            self.index = index
            frame = [0x82, 0x80 | UInt8(owner.options.size)] + Self.mask + [UInt8](repeating: 0, count: owner.options.size)
        }

        func connectionDidOpen(_ c: Connection) {
            connection = c
            _ = c.send(MinimalUpgrade.request(owner.options.path, host: owner.options.host))
        }

        func send(_ seq: UInt64) {
            var v = seq
            for i in 0..<8 {
                frame[6 + i] = UInt8(truncatingIfNeeded: v) ^ Self.mask[i & 3]
                v >>= 8
            }
            for i in 8..<owner.options.size { frame[6 + i] = UInt8(truncatingIfNeeded: i) ^ Self.mask[i & 3] }
            expected.append(seq)
            _ = connection?.send(frame)
        }

        func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int {
            var at = 0
            if !upgraded {
                guard let end = MinimalUpgrade.answerLength(bytes, what: "connection \(index)") else { return 0 }
                upgraded = true
                at = end
                owner.clientReady()
            }
            let size = owner.options.size
            while bytes.count - at >= 2 + size {
                guard bytes[at] == 0x82, Int(bytes[at + 1]) == size else { die("connection \(index): unexpected frame header", status: 2) }
                var seq: UInt64 = 0
                for i in (0..<8).reversed() { seq = seq << 8 | UInt64(bytes[at + 2 + i]) }
                guard expectedHead < expected.count, expected[expectedHead] == seq else {
                    die("connection \(index): echo of message \(seq) out of order", status: 2)
                }
                expectedHead += 1
                if expectedHead == expected.count {
                    expected.removeAll(keepingCapacity: true)
                    expectedHead = 0
                }
                owner.echoed(seq)
                at += 2 + size
            }
            return at
        }

        func connectionDidClose(_ c: Connection, reason: CloseReason) {
            if !owner.finished { die("connection \(index) closed: \(reason)") }
        }
    }

    private(set) var finished = false

    private func clientReady() {
        ready += 1
        guard ready == options.connections else { return }
        interval = UInt64(1e9 / max(options.rate ?? 1000, 1))
        nextDue = ProcReadings.monotonicNanoseconds()
        _ = loop.schedule(after: .milliseconds(Int64(options.warmup * 1000))) { [unowned self] in
            windowStart = WindowEdge.now(serverPID: options.serverPID)
            measuring = true
        }
        _ = loop.schedule(after: .milliseconds(Int64((options.warmup + options.measure) * 1000))) { [unowned self] in finish() }
    }

    /// Sends every message now due, stamped with the time it was due. `drive` calls it after
    /// every loop iteration, spinning (`runOnce(timeout: .zero)`): the wheel's 1 ms tick would
    /// add up to a millisecond of schedule delay to every round trip it measures.
    func tick() {
        guard !finished, interval > 0 else { return }
        let now = ProcReadings.monotonicNanoseconds()
        while nextDue <= now {
            if sent - received > ringMask { behind = true; break }
            sent += 1
            intended[Int(sent & ringMask)] = nextDue
            clients[Int(sent % UInt64(clients.count))].send(sent)
            nextDue += interval
        }
    }

    private func echoed(_ seq: UInt64) {
        received += 1
        let started = intended[Int(seq & ringMask)]
        guard measuring, let windowStart, started >= windowStart.nanoseconds else { return }
        histogram.record(ProcReadings.monotonicNanoseconds() - started)
        windowMessages += 1
    }

    private func finish() {
        guard let start = windowStart else { die("no measured window") }
        let end = WindowEdge.now(serverPID: options.serverPID)
        finished = true
        let seconds = Double(end.nanoseconds - start.nanoseconds) / 1e9
        guard histogram.total > 0 else { die("no echo in the measured window") }
        output("messages=\(windowMessages) seconds=\(fmt(seconds, 6)) rate=\(fmt(options.rate ?? 0, 1)) connections=\(options.connections)"
               + " p50_us=\(fmt(histogram.quantile(0.5) / 1e3, 2)) p99_us=\(fmt(histogram.quantile(0.99) / 1e3, 2))"
               + " p999_us=\(fmt(histogram.quantile(0.999) / 1e3, 2)) max_us=\(fmt(Double(histogram.maxValue) / 1e3, 2))"
               + " mean_us=\(fmt(histogram.mean / 1e3, 2)) server_cpu_ns=\(fmt(end.serverCPU - start.serverCPU, 0))"
               + " loadgen_cpu_ns=\(fmt(end.ownCPU - start.ownCPU, 0)) machine_busy_ns=\(fmt(end.machineBusy - start.machineBusy, 0))"
               + " behind=\(behind ? 1 : 0)")
        loop.stop()
    }
}
