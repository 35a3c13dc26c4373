import Glibc
import Connections
import Protocols
import Reactor

/// One publisher and N subscribers in one room of the chat demo (or of a server speaking its
/// contract): connects them, lets them sit idle (RSS per idle subscriber), then publishes
/// 32-byte messages, closed loop (at most `window` messages not yet delivered to everyone) or
/// open loop (`rate` per second), and measures deliveries per second and the time from each
/// publish to the delivery of its last copy.
final class BroadcastRun: SubscriberEvents, LoadRun {
    let loop: EventLoop
    let options: LoadOptions
    let tracker: BroadcastTracker
    private let address: SocketAddress
    private let publishAddress: SocketAddress

    private var publisher: WebSocket?
    private var publisherReady = false
    private var subscribers: [AnyObject] = []
    private var connecting = 0
    private var ready = 0
    private var finishing = false

    private var connectStarted: UInt64 = 0
    private var connectSeconds = 0.0
    private var rssBefore = -1, rssIdle = -1, rssEnd = -1
    private var windowOpened: WindowEdge?
    private var windowClosed: WindowEdge?
    private var publishing = false
    private var saturated = false
    private var nextDue: UInt64 = 0
    private var payload = UnsafeMutableRawBufferPointer.allocate(byteCount: 256, alignment: 8)
    private var frameLength = 0
    private var lastProgress: (deliveries: UInt64, ready: Int, at: UInt64) = (0, 0, 0)

    /// No keepalive pings from the load generator's sockets: at a rate the server cannot keep
    /// up with, the publisher (which receives nothing) would ping after 30 s and its pong would
    /// wait behind seconds of its own queued messages, past the 20 s deadline, ending the run on
    /// a timeout rather than reporting how far behind the server fell.
    private static let clientConfiguration: WebSocketConfiguration = {
        var c = WebSocketConfiguration()
        c.pingInterval = nil
        return c
    }()

    init(loop: EventLoop, options: LoadOptions) throws {
        self.loop = loop
        self.options = options
        tracker = BroadcastTracker(subscribers: options.subscribers)
        address = try SocketAddress(ip: options.host, port: options.port)
        publishAddress = try SocketAddress(ip: options.host, port: options.publishPort ?? options.port)
        prepareFrameTemplate()
    }

    // MARK: Connecting

    /// Warm-up subscribers: subscribed and closed before the RSS baseline, as idle-memory's
    /// 64 warm-up connections, so that what the server builds once (the room, buffers, its
    /// table's first growth) is not charged to the idle subscribers.
    private var warmupLeft = 64

    func start() throws {
        connectStarted = ProcReadings.monotonicNanoseconds()
        lastProgress = (0, 0, connectStarted)
        switch options.transport {
        case .ws, .sse:
            publisher = try WebSocket.connect(loop: loop, to: publishAddress, host: options.host,
                                              path: "/chat?room=\(options.room)", configuration: Self.clientConfiguration, handler: ChatWebSocketPublisher(events: self))
        case .socketio:
            publisher = try WebSocket.connect(loop: loop, to: publishAddress, host: options.host,
                                              path: "/socket.io/?EIO=4&transport=websocket",
                                              configuration: Self.clientConfiguration, handler: SocketIOClient(index: -1, room: options.room, events: self))
        }
        subscribers.reserveCapacity(options.subscribers)
        for _ in 0..<warmupLeft { try connectSubscriber(index: warmupIndex) }
        _ = loop.scheduleRepeating(every: .seconds(1)) { [unowned self] in watchdog() }
    }

    private func connectMore() {
        while connecting < options.parallelConnects && subscribers.count < options.subscribers {
            connecting += 1
            do {
                try connectSubscriber(index: subscribers.count)
            } catch {
                die("subscriber \(subscribers.count): \(error)")
            }
        }
    }

    /// Starts one subscriber; a numbered one is kept in `subscribers`.
    private func connectSubscriber(index: Int) throws {
        let handler: AnyObject
        switch options.transport {
        case .ws:
            let h = ChatWebSocketSubscriber(index: index, events: self)
            try WebSocket.connect(loop: loop, to: address, host: options.host, path: "/chat?room=\(options.room)", configuration: Self.clientConfiguration, handler: h)
            handler = h
        case .sse:
            let h = SSESubscriber(index: index, host: options.host, path: "/events?room=\(options.room)", events: self)
            try loop.connect(to: address, handler: h)
            handler = h
        case .socketio:
            let h = SocketIOClient(index: index, room: options.room, events: self)
            try WebSocket.connect(loop: loop, to: address, host: options.host, path: "/socket.io/?EIO=4&transport=websocket", configuration: Self.clientConfiguration, handler: h)
            handler = h
        }
        if index >= 0 { subscribers.append(handler) }
    }

    func subscriberReady(_ index: Int) {
        if index == warmupIndex {
            warmupLeft -= 1
            if warmupLeft == 0 {
                _ = loop.schedule(after: .milliseconds(500)) { [unowned self] in
                    rssBefore = ProcReadings.rssKiB(of: options.serverPID)
                    connectMore()
                }
            }
            return
        }
        if index < 0 {
            publisherReady = true
        } else {
            ready += 1
            connecting -= 1
            connectMore()
        }
        guard publisherReady && ready == options.subscribers && !publishing && connectSeconds == 0 else { return }
        connectSeconds = Double(ProcReadings.monotonicNanoseconds() - connectStarted) / 1e9
        // Idle first: the RSS per idle subscriber, before any message has grown a buffer.
        _ = loop.schedule(after: .milliseconds(Int64(options.idleSeconds * 1000))) { [unowned self] in
            rssIdle = ProcReadings.rssKiB(of: options.serverPID)
            beginPublishing()
        }
    }

    func subscriber(_ index: Int, received seq: UInt64) {
        tracker.deliver(seq, to: index)
    }

    /// WebSocket frame bytes the subscribers received in the window (headers included).
    private var windowFrameBytes: UInt64 = 0

    func subscriberReceivedFrame(payloadBytes: Int) {
        if tracker.measuring { windowFrameBytes &+= UInt64(webSocketFrameBytes(payload: payloadBytes)) }
    }

    func subscriberClosed(_ index: Int, why: String) {
        guard !finishing, index != warmupIndex else { return }
        die(index < 0 ? why : "subscriber \(index): \(why)")
    }

    // MARK: Publishing

    /// The publisher's message with the sequence number at a fixed offset, built once: each
    /// publish rewrites the 10 digits in place.
    private var sequenceOffset = 0
    private func prepareFrameTemplate() {
        let prefix: String, suffix: String
        switch options.transport {
        case .ws, .sse: (prefix, suffix) = ("", "")
        case .socketio: (prefix, suffix) = ("42[\"chat\",{\"room\":\"\(options.room)\",\"text\":\"", "\"}]")
        }
        let bytes = Array(prefix.utf8) + [UInt8](repeating: 0, count: BenchPayload.size) + Array(suffix.utf8)
        precondition(bytes.count <= payload.count, "room name too long")
        payload.copyBytes(from: bytes)
        sequenceOffset = prefix.utf8.count
        frameLength = bytes.count
    }

    private func publishOne(at nanoseconds: UInt64) {
        let seq = tracker.publish(at: nanoseconds)
        BenchPayload.write(seq, into: UnsafeMutableRawBufferPointer(rebasing: payload[sequenceOffset..<(sequenceOffset + BenchPayload.size)]))
        _ = publisher?.send(text: UnsafeRawBufferPointer(rebasing: payload[0..<frameLength]))
    }

    private func beginPublishing() {
        publishing = true
        let warmupEnd = Duration.milliseconds(Int64(options.warmup * 1000))
        _ = loop.schedule(after: warmupEnd) { [unowned self] in openWindow() }
        _ = loop.schedule(after: warmupEnd + .milliseconds(Int64(options.measure * 1000))) { [unowned self] in closeWindow() }
        if let rate = options.rate {
            let interval = UInt64(1e9 / max(rate, 0.001))
            nextDue = ProcReadings.monotonicNanoseconds()
            rateInterval = interval
        } else {
            tracker.onComplete = { [unowned self] in topUp() }
            topUp()
        }
    }

    private var rateInterval: UInt64 = 0

    /// Open loop: publishes every message now due, stamped with the time it was due. `drive`
    /// calls it after every loop iteration, spinning on this CPU, so messages leave on schedule
    /// to the microsecond rather than on the wheel's 1 ms tick.
    func tick() {
        guard publishing, rateInterval > 0 else { return }
        let now = ProcReadings.monotonicNanoseconds()
        while nextDue <= now {
            guard !tracker.isFull else { saturated = true; nextDue = now + rateInterval; break }
            publishOne(at: nextDue)
            nextDue += rateInterval
        }
    }

    private func topUp() {
        while publishing && tracker.outstanding < UInt64(options.window) {
            publishOne(at: ProcReadings.monotonicNanoseconds())
        }
    }

    private func openWindow() {
        if options.signalWindow { kill(options.serverPID, SIGUSR1) }
        let edge = WindowEdge.now(serverPID: options.serverPID)
        windowOpened = edge
        tracker.windowStart = edge.nanoseconds
        tracker.measuring = true
    }

    private func closeWindow() {
        windowClosed = WindowEdge.now(serverPID: options.serverPID)
        if options.signalWindow { kill(options.serverPID, SIGUSR2) }
        tracker.measuring = false
        publishing = false
        // Then every message published must reach every subscriber before the report.
        tracker.onComplete = { [unowned self] in if tracker.outstanding == 0 { finish() } }
        if tracker.outstanding == 0 { finish() }
    }

    private func watchdog() {
        let now = ProcReadings.monotonicNanoseconds()
        if tracker.deliveries != lastProgress.deliveries || ready != lastProgress.ready || (!publishing && windowClosed == nil && connectSeconds > 0) {
            lastProgress = (tracker.deliveries, ready, now)
            return
        }
        guard now - lastProgress.at > 15_000_000_000, !finishing else { return }
        if connectSeconds == 0 {
            die("stalled while connecting: \(ready) of \(options.subscribers) subscribers ready, publisher \(publisherReady ? "ready" : "not ready")")
        }
        die("stalled: \(tracker.outstanding) messages not delivered to every subscriber for 15 s; "
            + "\(tracker.laggards) subscribers behind", status: 2)
    }

    // MARK: Report

    private func finish() {
        guard !finishing, let start = windowOpened, let end = windowClosed else { return }
        finishing = true
        rssEnd = ProcReadings.rssKiB(of: options.serverPID)
        let seconds = Double(end.nanoseconds - start.nanoseconds) / 1e9
        let h = tracker.lastDelivery
        var line = "deliveries=\(tracker.windowDeliveries) seconds=\(fmt(seconds, 6))"
        line += " deliveries_per_sec=\(fmt(Double(tracker.windowDeliveries) / seconds, 1))"
        line += " messages=\(tracker.windowCompleted) published=\(tracker.published) subscribers=\(options.subscribers)"
        line += " transport=\(options.transport.rawValue) mode=\(options.rate.map { "rate:\(fmt($0, 1))" } ?? "window:\(options.window)")"
        line += " p50_us=\(fmt(h.quantile(0.5) / 1e3, 2)) p99_us=\(fmt(h.quantile(0.99) / 1e3, 2))"
        line += " p999_us=\(fmt(h.quantile(0.999) / 1e3, 2)) max_us=\(fmt(Double(h.maxValue) / 1e3, 2)) mean_us=\(fmt(h.mean / 1e3, 2))"
        line += " server_cpu_ns=\(fmt(end.serverCPU - start.serverCPU, 0)) loadgen_cpu_ns=\(fmt(end.ownCPU - start.ownCPU, 0))"
        line += " machine_busy_ns=\(fmt(end.machineBusy - start.machineBusy, 0))"
        line += " rss_before_kb=\(rssBefore) rss_idle_kb=\(rssIdle) rss_end_kb=\(rssEnd) connect_seconds=\(fmt(connectSeconds, 3))"
        line += " saturated=\(saturated ? 1 : 0) frame_bytes=\(windowFrameBytes)"
        if options.metrics, let m = MetricsScrape.read(host: options.host, port: options.port) {
            line += " broadcasts=\(m["reactor_broadcasts_total"].map { fmt($0, 0) } ?? "?")"
            line += " encodings=\(m["reactor_broadcast_encodings_total"].map { fmt($0, 0) } ?? "?")"
        }
        output(line)
        loop.stop()
    }
}

func fmt(_ v: Double, _ decimals: Int) -> String {
    guard v.isFinite else { return "0" }
    if decimals == 0 { return String(Int64(v.rounded())) }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let r = (v * scale).rounded() / scale
    var s = String(r)
    if let dot = s.firstIndex(of: ".") {
        let have = s.distance(from: dot, to: s.endIndex) - 1
        if have < decimals { s += String(repeating: "0", count: decimals - have) }
    } else {
        s += "." + String(repeating: "0", count: decimals)
    }
    return s.contains("e") ? String(v) : s
}
