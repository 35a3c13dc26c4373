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
/// There is no SwiftNIO or C peer: neither speaks Socket.IO. The reactor's own raw WebSocket
/// pub/sub is the baseline.
struct SocketIOBroadcast: Scenario {
    let name = "socketio-broadcast"
    let summary = "1,000 Socket.IO clients in one room: rate sweep (deliveries/s, p99) next to raw WebSocket pub/sub; set-up time polling-then-upgrade vs websocket-only"

    let subscribers = 1_000
    let rates: [Double] = [100, 300, 1000, 3000]
    let window = 16
    let setups = 200

    struct Run {
        var transport: String
        var load: String
        var values: [String: String]
        func n(_ key: String) -> Double { values[key].flatMap(Double.init) ?? .nan }
        var perSecond: Double { n("deliveries") / n("seconds") }
        var cpuPerDelivery: Double { n("server_cpu_ns") / n("deliveries") }
    }

    func run(_ context: Context) throws -> Report {
        let loadgen = try context.benchProduct("reactor-loadgen")
        // The sweep goes past what one load-generator thread can read (3,000 msgs/s is 3 M
        // deliveries/s), so its sockets fall behind by design. The demo's default slow-consumer
        // bound (2 MiB queued per session) would then rightly close them, which measures the
        // policy rather than the rate: let sessions queue as raw WebSockets may (the loop's
        // per-connection limit, 32 MiB in the demo).
        let reactor = try context.reactorServer(product: "echo", arguments: ["--max-session-queue", String(32 << 20)])
        let timing = context.timing
        var runs: [Run] = []
        let loads: [(String, [String])] = rates.map { ("\(Int($0)) msgs/s", ["--rate", fixed($0, 0)]) } + [("flat out (window \(window))", ["--window", String(window)])]
        for (title, arguments) in loads {
            for transport in ["socketio", "ws"] {
                let label = "\(name)-\(transport)-\(runs.count)"
                let port = try context.ports.take()
                let server = try RunningServer(reactor, port: port, label: label, context: context)
                defer { server.stop() }
                let line = try runHelper("reactor-loadgen broadcast",
                                         ["taskset", "-c", CPU.load, loadgen, "broadcast", "--port", String(port), "--transport", transport,
                                          "--subscribers", String(subscribers), "--warmup", String(timing.warmup),
                                          "--measure", String(timing.measure), "--server-pid", String(server.pid)] + arguments,
                                         label: "\(label)-loadgen", timeout: timing.warmup + timing.measure + 120,
                                         expect: "deliveries=", server: server, context)
                let run = Run(transport: transport, load: title, values: parseKeyValues(line))
                say("  \(transport == "ws" ? "raw WebSocket" : "Socket.IO"), \(title): \(grouped(run.perSecond)) deliveries/s, "
                    + "p50 \(fixed(run.n("p50_us") / 1000, 2)) ms, p99 \(fixed(run.n("p99_us") / 1000, 2)) ms, "
                    + "\(grouped(run.cpuPerDelivery)) CPU ns/delivery\(run.n("saturated") == 1 ? ", SATURATED" : "")")
                runs.append(run)
            }
        }

        say("  -- connection set-up, \(setups) of each kind, one at a time")
        let port = try context.ports.take()
        let server = try RunningServer(reactor, port: port, label: "\(name)-setup", context: context)
        defer { server.stop() }
        let setupLine = try runHelper("reactor-loadgen sio-setup",
                                      ["taskset", "-c", CPU.load, loadgen, "sio-setup", "--port", String(port), "--count", String(setups)],
                                      label: "\(name)-setup-loadgen", timeout: 300, expect: "setups=", server: server, context)
        let setup = parseKeyValues(setupLine)
        func s(_ key: String) -> Double { setup[key].flatMap(Double.init) ?? .nan }
        say("  websocket only: p50 \(fixed(s("websocket_p50_us"), 0)) us; polling then upgrade: p50 \(fixed(s("polling_upgrade_p50_us"), 0)) us")

        var rows: [[String]] = []
        for (title, _) in loads {
            guard let sio = runs.first(where: { $0.load == title && $0.transport == "socketio" }),
                  let ws = runs.first(where: { $0.load == title && $0.transport == "ws" }) else { continue }
            rows.append([title, grouped(sio.perSecond), fixed(sio.n("p50_us") / 1000, 2), fixed(sio.n("p99_us") / 1000, 2),
                         grouped(sio.cpuPerDelivery), keptUp(sio),
                         grouped(ws.perSecond), fixed(ws.n("p50_us") / 1000, 2), fixed(ws.n("p99_us") / 1000, 2),
                         grouped(ws.cpuPerDelivery), keptUp(ws)])
        }
        let setupRows = [("websocket only", "websocket"), ("polling, then upgrade", "polling_upgrade")].map { title, key in
            [title, fixed(s("\(key)_p50_us"), 0), fixed(s("\(key)_p99_us"), 0), fixed(s("\(key)_mean_us"), 0),
             fixed(s("\(key)_http_requests"), 0), fixed(s("\(key)_connections"), 0), fixed(s("\(key)_bytes_up"), 0), fixed(s("\(key)_bytes_down"), 0)]
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
            \(fixed(timing.measure, 0)) s measured, one run each\(context.options.quick ? " (--quick)" : ""). \(machineLine()).


            """
        md += markdownTable(["load", "Socket.IO deliveries/s", "p50 ms", "p99 ms", "CPU ns/delivery", "kept up",
                             "raw WS deliveries/s", "p50 ms", "p99 ms", "CPU ns/delivery", "kept up"], rows) + "\n\n"
        md += "Connection set-up, \(setups) of each kind one at a time (microseconds; requests, connections and bytes per set-up):\n\n"
        md += markdownTable(["kind", "p50 us", "p99 us", "mean us", "HTTP requests", "TCP connections", "bytes up", "bytes down"], setupRows) + "\n\n"
        let extra = s("polling_upgrade_p50_us") - s("websocket_p50_us")
        md += "- the polling-then-upgrade start costs \(fixed(extra, 0)) us more than websocket-only at the median "
            + "(\(ratioText(s("polling_upgrade_p50_us") / s("websocket_p50_us"))) the time) on loopback, where a round trip is "
            + "tens of microseconds; on a real network each of its extra round trips costs a full RTT.\n"
        if let flat = runs.last(where: { $0.transport == "socketio" }), let raw = runs.last(where: { $0.transport == "ws" }) {
            md += "- flat out, Socket.IO delivers \(ratioText(flat.perSecond / raw.perSecond)) the raw WebSocket rate, at "
                + "\(ratioText(flat.cpuPerDelivery / raw.cpuPerDelivery)) its server CPU per delivery (bigger frames: the event "
                + "name, the room and the sender's id travel with every message).\n"
        }
        func series(_ transport: String, _ name: String, _ f: (Run) -> Double) -> Chart.Series {
            Chart.Series(name: name, values: loads.map { title, _ in runs.first { $0.load == title && $0.transport == transport }.map(f) })
        }
        let chart = Chart(
            fileSuffix: "", title: "Socket.IO broadcast vs raw WebSocket pub/sub",
            subtitle: "\(grouped(Double(subscribers))) subscribers in one room, 32-byte texts", groups: loads.map(\.0),
            panels: [
                Chart.Panel(title: "deliveries/s (higher is better)",
                            series: [series("socketio", "Socket.IO", \.perSecond), series("ws", "raw WebSocket", \.perSecond)]),
                Chart.Panel(title: "p99 publish to last delivery, ms (lower is better)",
                            series: [series("socketio", "Socket.IO") { $0.n("p99_us") / 1000 }, series("ws", "raw WebSocket") { $0.n("p99_us") / 1000 }],
                            logScale: true, format: .significant),
            ])
        return Report(markdown: md, targetsMet: true, charts: [chart])
    }
}
