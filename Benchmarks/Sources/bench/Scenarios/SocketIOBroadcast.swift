import Foundation

/// Socket.IO broadcast: 1,000 Socket.IO clients (Engine.IO WebSocket transport, default
/// namespace) joined to one room of the reactor's demo, a publisher emitting
/// `chat {room, text}` (delivered to everyone in the room but the sender), at a sweep of rates
/// (open loop, latency from each message's intended time) and flat out (closed loop); next to
/// the same figures for 1,000 raw chat WebSockets in one room of the same server, so the cost
/// of the Socket.IO layer is measured, not guessed. Then the connection set-up cost:
/// polling-then-upgrade (what socket.io-client does by default) against websocket-only, one
/// set-up at a time, from the first TCP connect until the room join is acknowledged.
///
/// The same Socket.IO sweep against the demo with two event loops (`--threads 2`: the publisher
/// and the subscribers land on either loop, so broadcasts cross loops), and the price of
/// connection state recovery (`--sio-recovery`): the same load with it off and on, alternating,
/// server CPU and WebSocket bytes per delivered packet (on, each event carries its offset).
///
/// There is no SwiftNIO or C peer: neither speaks Socket.IO. The reactor's own raw WebSocket
/// pub/sub is the baseline.
struct SocketIOBroadcast: Scenario {
    let name = "socketio-broadcast"
    let summary = "1,000 Socket.IO clients in one room: rate sweep (deliveries/s, p99) next to raw WebSocket pub/sub and with --threads 2; recovery on vs off (CPU and bytes per delivery); set-up time polling-then-upgrade vs websocket-only"

    let subscribers = 1_000
    let rates: [Double] = [100, 300, 1000, 3000]
    let window = 16
    let setups = 200
    /// The recovery window of the "on" runs (ms): the reference's example value.
    let recoveryWindow = 120_000

    /// The recovery comparison's loads: one every setting keeps up with, and flat out.
    let recoveryLoads: [(String, [String])] = [("1000 msgs/s", ["--rate", "1000"]), ("flat out (window 16)", ["--window", "16"])]

    /// Which server a run measured: the demo with one loop, with two, with recovery on.
    enum Setup: String { case oneLoop = "1 loop", twoLoops = "2 loops", recoveryOff = "recovery off", recoveryOn = "recovery on" }

    struct Run {
        var transport: String
        var load: String
        var setup: Setup
        var values: [String: String]
        func n(_ key: String) -> Double { values[key].flatMap(Double.init) ?? .nan }
        var perSecond: Double { n("deliveries") / n("seconds") }
        var cpuPerDelivery: Double { n("server_cpu_ns") / n("deliveries") }
        /// WebSocket frame bytes (headers included) the subscribers received per delivery.
        var bytesPerDelivery: Double { n("frame_bytes") / n("deliveries") }
        /// CPUs busy in the window in neither the server nor the load generator (other processes).
        var otherBusy: Double { max(0, n("machine_busy_ns") - n("server_cpu_ns") - n("loadgen_cpu_ns")) / (n("seconds") * 1e9) }
    }

    func run(_ context: Context) throws -> Report {
        let loadgen = try context.benchProduct("reactor-loadgen")
        // The sweep goes past what one load-generator thread can read (3,000 msgs/s is 3 M
        // deliveries/s), so its sockets fall behind by design. The demo's default slow-consumer
        // bound (2 MiB queued per session) would then rightly close them, which measures the
        // policy rather than the rate: let sessions queue as raw WebSockets may (the loop's
        // per-connection limit, 32 MiB in the demo).
        // And keep Engine.IO's heartbeat out of the runs (as the gate does): at a rate the
        // server cannot keep up with, the publisher's pong waits in the socket behind seconds of
        // its own emits, past the 20 s ping timeout, and the session is closed mid-run.
        let demoFlags = ["--max-session-queue", String(32 << 20), "--ping-interval", "300000"]
        let servers: [Setup: ServerSpec] = [
            .oneLoop: try context.reactorServer(product: "echo", arguments: demoFlags),
            .twoLoops: try context.reactorServer(name: "reactor, 2 loops", product: "echo", arguments: demoFlags + ["--threads", "2"]),
            .recoveryOff: try context.reactorServer(product: "echo", arguments: demoFlags),
            .recoveryOn: try context.reactorServer(name: "reactor, recovery on", product: "echo",
                                                   arguments: demoFlags + ["--sio-recovery", String(recoveryWindow)]),
        ]
        let timing = context.timing
        var runs: [Run] = []
        func measure(_ setup: Setup, _ transport: String, _ title: String, _ arguments: [String]) throws {
            let label = "\(name)-\(transport)-\(runs.count)"
            // Two loops cannot have a CPU each and leave one to the load generator on this
            // 2-core machine: both share both CPUs, as in the scaling scenario.
            let cpus = setup == .twoLoops ? (server: CPU.both, load: CPU.both) : (server: CPU.server, load: CPU.load)
            let port = try context.ports.take()
            let server = try RunningServer(servers[setup]!, port: port, label: label, context: context, cpus: cpus.server)
            defer { server.stop() }
            let line = try runHelper("reactor-loadgen broadcast",
                                     ["taskset", "-c", cpus.load, loadgen, "broadcast", "--port", String(port), "--transport", transport,
                                      "--subscribers", String(subscribers), "--warmup", String(timing.warmup),
                                      "--measure", String(timing.measure), "--server-pid", String(server.pid)] + arguments,
                                     label: "\(label)-loadgen", timeout: timing.warmup + timing.measure + 120,
                                     expect: "deliveries=", server: server, context)
            let run = Run(transport: transport, load: title, setup: setup, values: parseKeyValues(line))
            say("  \(transport == "ws" ? "raw WebSocket" : "Socket.IO"), \(setup.rawValue), \(title): \(grouped(run.perSecond)) deliveries/s, "
                + "p50 \(fixed(run.n("p50_us") / 1000, 2)) ms, p99 \(fixed(run.n("p99_us") / 1000, 2)) ms, "
                + "\(grouped(run.cpuPerDelivery)) CPU ns/delivery, \(fixed(run.bytesPerDelivery, 1)) bytes/delivery"
                + "\(run.n("saturated") == 1 ? ", SATURATED" : "")")
            runs.append(run)
        }
        let loads: [(String, [String])] = rates.map { ("\(Int($0)) msgs/s", ["--rate", fixed($0, 0)]) } + [("flat out (window \(window))", ["--window", String(window)])]
        for (title, arguments) in loads {
            try measure(.oneLoop, "socketio", title, arguments)
            try measure(.oneLoop, "ws", title, arguments)
            try measure(.twoLoops, "socketio", title, arguments)
        }
        // Recovery off and on alternating, so that drift on the shared VM falls on both.
        say("  -- connection state recovery off vs on, \(timing.repetitions) of each, alternating")
        for (title, arguments) in recoveryLoads {
            for _ in 0..<timing.repetitions {
                try measure(.recoveryOff, "socketio", title, arguments)
                try measure(.recoveryOn, "socketio", title, arguments)
            }
        }

        say("  -- connection set-up, \(setups) of each kind, one at a time")
        let port = try context.ports.take()
        let server = try RunningServer(servers[.oneLoop]!, port: port, label: "\(name)-setup", context: context)
        defer { server.stop() }
        let setupLine = try runHelper("reactor-loadgen sio-setup",
                                      ["taskset", "-c", CPU.load, loadgen, "sio-setup", "--port", String(port), "--count", String(setups)],
                                      label: "\(name)-setup-loadgen", timeout: 300, expect: "setups=", server: server, context)
        let setup = parseKeyValues(setupLine)
        func s(_ key: String) -> Double { setup[key].flatMap(Double.init) ?? .nan }
        say("  websocket only: p50 \(fixed(s("websocket_p50_us"), 0)) us; polling then upgrade: p50 \(fixed(s("polling_upgrade_p50_us"), 0)) us")

        func run(_ setup: Setup, _ transport: String, _ title: String) -> Run? {
            runs.first { $0.setup == setup && $0.transport == transport && $0.load == title }
        }
        var rows: [[String]] = []
        for (title, _) in loads {
            guard let sio = run(.oneLoop, "socketio", title), let ws = run(.oneLoop, "ws", title) else { continue }
            rows.append([title, grouped(sio.perSecond), milliseconds(sio, "p50_us"), milliseconds(sio, "p99_us"),
                         grouped(sio.cpuPerDelivery), keptUp(sio),
                         grouped(ws.perSecond), milliseconds(ws, "p50_us"), milliseconds(ws, "p99_us"),
                         grouped(ws.cpuPerDelivery), keptUp(ws)])
        }
        let setupRows = [("websocket only", "websocket"), ("polling, then upgrade", "polling_upgrade")].map { title, key in
            [title, fixed(s("\(key)_p50_us"), 0), fixed(s("\(key)_p99_us"), 0), fixed(s("\(key)_mean_us"), 0),
             fixed(s("\(key)_http_requests"), 0), fixed(s("\(key)_connections"), 0), fixed(s("\(key)_bytes_up"), 0), fixed(s("\(key)_bytes_down"), 0)]
        }
        /// A latency quantile in ms, or "-" when no message published in the window reached
        /// every subscriber before the report (the server fell that far behind).
        func milliseconds(_ run: Run, _ key: String) -> String {
            run.n("messages") > 0 && run.n(key) > 0 ? fixed(run.n(key) / 1000, 2) : "-"
        }
        /// Whether the server kept up with an open-loop rate: delivered at least 97% of what was
        /// offered, with the median message out within 100 ms (else the queue was growing).
        func keptUp(_ run: Run) -> String {
            guard let rate = run.values["mode"].flatMap({ $0.hasPrefix("rate:") ? Double($0.dropFirst(5)) : nil }) else { return "-" }
            let offered = rate * Double(subscribers)
            return run.perSecond >= 0.97 * offered && run.n("p50_us") < 100_000 && run.n("saturated") != 1 ? "yes" : "no"
        }
        var md = """
            ## \(name)

            \(grouped(Double(subscribers))) subscribers in one room of the reactor's demo, 32-byte texts, server on CPU \(CPU.server), \
            `reactor-loadgen` on CPU \(CPU.load). Socket.IO: clients on `/socket.io/?EIO=4&transport=websocket`, joined with \
            `join {room}`; the publisher emits `chat {room, text}`, which the demo sends to the room but the sender \
            (`42["chat",{"room":..,"text":..,"from":..}]`, about 100 bytes a frame). Raw WebSocket: `/chat?room=R`, the \
            text itself as the frame. Rates are open loop (latency from each message's intended publish time to its last \
            delivery; "kept up": at least 97% of the offered deliveries/s with the median under 100 ms); "flat out" is closed loop with \(window) messages in flight. \(fixed(timing.warmup, 0)) s warmup + \
            \(fixed(timing.measure, 0)) s measured, one run each (recovery: the median of \(timing.repetitions), off and on \
            alternating)\(context.options.quick ? " (--quick)" : ""). \(machineLine()).


            """
        let others = runs.map(\.otherBusy).filter(\.isFinite)
        if !others.isEmpty {
            md += "Other processes took \(percent(median(others))) of a CPU in the median window (\(percent(others.max()!)) at most): "
                + "the latencies and the kept-up verdicts move with that; CPU per delivery is the steadier figure.\n\n"
        }
        md += markdownTable(["load", "Socket.IO deliveries/s", "p50 ms", "p99 ms", "CPU ns/delivery", "kept up",
                             "raw WS deliveries/s", "p50 ms", "p99 ms", "CPU ns/delivery", "kept up"], rows) + "\n\n"
        md += "Connection set-up, \(setups) of each kind one at a time (microseconds; requests, connections and bytes per set-up):\n\n"
        md += markdownTable(["kind", "p50 us", "p99 us", "mean us", "HTTP requests", "TCP connections", "bytes up", "bytes down"], setupRows) + "\n\n"
        let extra = s("polling_upgrade_p50_us") - s("websocket_p50_us")
        md += "- the polling-then-upgrade start costs \(fixed(extra, 0)) us more than websocket-only at the median "
            + "(\(ratioText(s("polling_upgrade_p50_us") / s("websocket_p50_us"))) the time) on loopback, where a round trip is "
            + "tens of microseconds; on a real network each of its extra round trips costs a full RTT.\n"
        let flatTitle = loads.last!.0
        if let flat = run(.oneLoop, "socketio", flatTitle), let raw = run(.oneLoop, "ws", flatTitle) {
            md += "- flat out, Socket.IO delivers \(ratioText(flat.perSecond / raw.perSecond)) the raw WebSocket rate, at "
                + "\(ratioText(flat.cpuPerDelivery / raw.cpuPerDelivery)) its server CPU per delivery (bigger frames: the event "
                + "name, the room and the sender's id travel with every message: \(fixed(flat.bytesPerDelivery, 1)) bytes per "
                + "delivery against \(fixed(raw.bytesPerDelivery, 1))).\n"
        }

        md += "\n### Socket.IO with two loops (`--threads 2`)\n\n"
        md += "The same sweep against `echo --threads 2` (one listener per loop, SO_REUSEPORT): the publisher and the "
            + "subscribers land on either loop, so every broadcast is also relayed to the other loop. This 2-core machine "
            + "cannot give two loops and the load generator a CPU each: in the 2-loop runs the server and `reactor-loadgen` "
            + "both run on CPUs \(CPU.both) (as in `scaling`), so the load generator's CPU competes with the loops'. "
            + "CPU ns/delivery is the server's, all threads.\n\n"
        var loopRows: [[String]] = []
        for (title, _) in loads {
            guard let one = run(.oneLoop, "socketio", title), let two = run(.twoLoops, "socketio", title) else { continue }
            loopRows.append([title, grouped(one.perSecond), milliseconds(one, "p99_us"), grouped(one.cpuPerDelivery), keptUp(one),
                             grouped(two.perSecond), milliseconds(two, "p99_us"), grouped(two.cpuPerDelivery), keptUp(two),
                             ratioText(two.perSecond / one.perSecond), ratioText(two.cpuPerDelivery / one.cpuPerDelivery)])
        }
        md += markdownTable(["load", "1 loop deliveries/s", "p99 ms", "CPU ns/delivery", "kept up",
                             "2 loops deliveries/s", "p99 ms", "CPU ns/delivery", "kept up",
                             "deliveries 2/1", "CPU/delivery 2/1"], loopRows) + "\n\n"
        if let one = run(.oneLoop, "socketio", flatTitle), let two = run(.twoLoops, "socketio", flatTitle) {
            md += "- flat out, two loops deliver \(ratioText(two.perSecond / one.perSecond)) the one-loop rate, at "
                + "\(ratioText(two.cpuPerDelivery / one.cpuPerDelivery)) its server CPU per delivery.\n"
        }

        md += "\n### Connection state recovery: off vs on (`--sio-recovery \(recoveryWindow)`)\n\n"
        md += "The same Socket.IO load against the demo without recovery and with it, fresh servers, \(timing.repetitions) "
            + "run(s) of each alternating (median shown, range beside); one loop, server on CPU \(CPU.server). With recovery on "
            + "every broadcast is logged once (one lock, the namespace's replay log of 10,000 packets and 4 MiB) and every "
            + "delivered event carries one more argument, its offset (`42[\"chat\",{..},\"1234\"]`). bytes/delivery: "
            + "WebSocket frame bytes, headers included, the subscribers received in the window per delivery (the demo pings "
            + "every 300 s here, so no heartbeat falls in a window).\n\n"
        var recoveryRows: [[String]] = []
        var recoveryNotes: [String] = []
        for (title, _) in recoveryLoads {
            var medians: [Setup: (cpu: Double, bytes: Double)] = [:]
            for setup in [Setup.recoveryOff, .recoveryOn] {
                let these = runs.filter { $0.setup == setup && $0.load == title }
                guard !these.isEmpty else { continue }
                let cpu = these.map(\.cpuPerDelivery), bytes = these.map(\.bytesPerDelivery)
                medians[setup] = (median(cpu), median(bytes))
                let kept = these.map(keptUp)
                recoveryRows.append([title, setup.rawValue, grouped(median(these.map(\.perSecond))),
                                     these.contains { $0.n("p99_us") == 0 } ? "-" : fixed(median(these.map { $0.n("p99_us") }) / 1000, 2),
                                     kept.allSatisfy { $0 == kept[0] } ? kept[0] : kept.joined(separator: "/"), grouped(median(cpu)),
                                     "\(grouped(cpu.min()!))-\(grouped(cpu.max()!))", fixed(median(bytes), 1),
                                     percent(median(these.map(\.otherBusy)))])
            }
            if let off = medians[.recoveryOff], let on = medians[.recoveryOn] {
                recoveryNotes.append("- \(title): recovery on costs \(ratioText(on.cpu / off.cpu)) the server CPU per delivery "
                    + "(\(signed(on.cpu - off.cpu)) ns) and \(ratioText(on.bytes / off.bytes)) the bytes per delivery "
                    + "(\(signed(on.bytes - off.bytes, decimals: 1)) bytes: the offset).")
            }
        }
        md += markdownTable(["load", "recovery", "deliveries/s", "p99 ms", "kept up", "CPU ns/delivery", "CPU ns/delivery range", "bytes/delivery", "other CPU"],
                            recoveryRows) + "\n\n"
        md += recoveryNotes.joined(separator: "\n") + "\n"
        func series(_ transport: String, _ name: String, on setup: Setup = .oneLoop, _ f: (Run) -> Double) -> Chart.Series {
            Chart.Series(name: name, values: loads.map { title, _ in run(setup, transport, title).map(f) })
        }
        let chart = Chart(
            fileSuffix: "", title: "Socket.IO broadcast vs raw WebSocket pub/sub, and on two loops",
            subtitle: "\(grouped(Double(subscribers))) subscribers in one room, 32-byte texts", groups: loads.map(\.0),
            panels: [
                Chart.Panel(title: "deliveries/s (higher is better)",
                            series: [series("socketio", "Socket.IO", \.perSecond), series("ws", "raw WebSocket", \.perSecond),
                                     series("socketio", "Socket.IO, 2 loops", on: .twoLoops, \.perSecond)]),
                Chart.Panel(title: "p99 publish to last delivery, ms (lower is better)",
                            series: [series("socketio", "Socket.IO") { $0.n("p99_us") / 1000 }, series("ws", "raw WebSocket") { $0.n("p99_us") / 1000 },
                                     series("socketio", "Socket.IO, 2 loops", on: .twoLoops) { $0.n("p99_us") / 1000 }],
                            logScale: true, format: .significant),
            ])
        return Report(markdown: md, targetsMet: true, charts: [chart])
    }
}

/// A difference with its sign: "+12", "-3.5".
private func signed(_ value: Double, decimals: Int = 0) -> String {
    (value >= 0 ? "+" : "-") + (decimals == 0 ? grouped(abs(value)) : fixed(abs(value), decimals))
}
