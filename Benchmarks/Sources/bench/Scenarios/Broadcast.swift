import Foundation

/// Broadcast: one publisher and 10,000 subscribers in one room of the reactor's chat demo
/// (`echo`: WebSocket `/chat?room=R`, SSE `/events?room=R`) against a SwiftNIO server speaking
/// the same contract on one event-loop thread (Sources/nio-broadcast), both driven by the load
/// generator written on the reactor (Sources/reactor-loadgen, pinned to CPU 0):
///
/// - throughput: closed loop, 16 messages of 32 bytes published and not yet delivered to every
///   subscriber; deliveries/s, server CPU per delivery, allocations per delivery;
/// - latency: open loop at a fixed rate both servers sustain; the time from each message's
///   intended publish time to the delivery of its last copy, p50/p99/p99.9;
/// - memory: RSS per idle subscriber (connected and subscribed, before any message);
/// - encodings: the reactor's /metrics counts wire encodings made for room messages, which
///   must be one per message per wire format that has subscribers.
///
/// The publisher is a chat WebSocket in both runs (it receives its own messages, as the
/// contract says; they are not counted), so the SSE run has two wire formats.
struct Broadcast: Scenario {
    let name = "broadcast"
    let summary = "1 publisher -> 10,000 WebSocket or SSE subscribers in one room, 32 B: deliveries/s, publish-to-last-delivery p50/p99, RSS per idle subscriber: reactor vs SwiftNIO"

    let subscribers = 10_000
    let window = 16
    /// Messages per second of the latency run: 40,000 deliveries/s, below both servers' ceiling
    /// (SwiftNIO delivers about 60,000/s flat out here).
    let latencyRate = 4.0

    // Targets (issue #5).
    let minDeliveriesRatioToNIO = 3.0
    let maxIdleBytes: [String: Double] = ["ws": 512, "sse": 1024]

    struct Sample {
        var values: [String: String]
        var allocations: Int
        func n(_ key: String) -> Double { values[key].flatMap(Double.init) ?? .nan }
        var deliveries: Double { n("deliveries") }
        var seconds: Double { n("seconds") }
        var perSecond: Double { deliveries / seconds }
        var cpuPerDelivery: Double { n("server_cpu_ns") / deliveries }
        var allocationsPerDelivery: Double { Double(allocations) / deliveries }
        var serverBusy: Double { n("server_cpu_ns") / (seconds * 1e9) }
        var loadBusy: Double { n("loadgen_cpu_ns") / (seconds * 1e9) }
        var otherBusy: Double { max(0, n("machine_busy_ns") - n("server_cpu_ns") - n("loadgen_cpu_ns")) / (seconds * 1e9) }
        var idleBytesPerSubscriber: Double { (n("rss_idle_kb") - n("rss_before_kb")) * 1024 / n("subscribers") }
    }

    func run(_ context: Context) throws -> Report {
        let loadgen = try context.benchProduct("reactor-loadgen")
        let reactor = try context.reactorServer(product: "echo", arguments: ["--max-connections", "200000"])
        let nioBinary = try context.benchProduct("nio-broadcast")
        let nio = ServerSpec(name: "SwiftNIO (1 thread)") { port in [nioBinary, "--port", String(port)] }
        let servers = [reactor, nio]
        let connections = min(subscribers, Proc.openFileLimit() - 200)

        var throughput: [String: [[Sample]]] = [:]
        var latency: [String: [[Sample]]] = [:]
        for transport in ["ws", "sse"] {
            say("  -- \(transport == "ws" ? "WebSocket" : "SSE"): \(grouped(Double(connections))) subscribers")
            var t = Array(repeating: [Sample](), count: servers.count)
            var l = Array(repeating: [Sample](), count: servers.count)
            for repetition in 1...context.timing.repetitions {
                for (i, server) in servers.enumerated() {
                    let label = "\(name)-\(transport)-\(i)-\(repetition)"
                    let s = try measure(server, transport: transport, subscribers: connections, load: ["--window", String(window)],
                                        label: label, loadgen: loadgen, context)
                    say("  \(server.name) run \(repetition), window \(window): \(describe(s))")
                    t[i].append(s)
                    let ls = try measure(server, transport: transport, subscribers: connections, load: ["--rate", fixed(latencyRate, 1)],
                                         label: label + "-latency", loadgen: loadgen, context)
                    say("  \(server.name) run \(repetition), \(fixed(latencyRate, 0)) msgs/s: \(describe(ls))")
                    l[i].append(ls)
                }
            }
            throughput[transport] = t
            latency[transport] = l
        }
        return report(servers, connections, throughput, latency, context)
    }

    /// One run: starts the server, connects the subscribers, publishes, stops the server.
    /// (scaling calls it too, with other CPU lists.)
    func measure(_ spec: ServerSpec, transport: String, subscribers: Int, load: [String], label: String,
                 loadgen: String, _ context: Context, serverCPUs: String = CPU.server, loadCPUs: String = CPU.load) throws -> Sample {
        let timing = context.timing
        let port = try context.ports.take()
        let server = try RunningServer(spec, port: port, label: label, context: context, cpus: serverCPUs)
        defer { server.stop() }
        let line = try runHelper(
            "reactor-loadgen broadcast",
            ["taskset", "-c", loadCPUs, loadgen, "broadcast", "--port", String(port), "--transport", transport,
             "--subscribers", String(subscribers), "--warmup", String(timing.warmup), "--measure", String(timing.measure),
             "--server-pid", String(server.pid), "--signal-window", "--metrics"] + load,
            label: "\(label)-loadgen", timeout: timing.warmup + timing.measure + 120, expect: "deliveries=", server: server, context)
        let sample = Sample(values: parseKeyValues(line), allocations: try server.allocationsInWindow().allocations)
        guard sample.deliveries > 0 else { throw BenchError("\(spec.name) delivered nothing in the measured window") }
        return sample
    }

    private func describe(_ s: Sample) -> String {
        "\(grouped(s.perSecond)) deliveries/s, \(fixed(s.cpuPerDelivery, 0)) CPU ns/delivery, p50 \(fixed(s.n("p50_us") / 1000, 2)) ms, "
            + "p99 \(fixed(s.n("p99_us") / 1000, 2)) ms to the last delivery, \(s.allocations) allocations, "
            + "\(fixed(s.idleBytesPerSubscriber, 0)) B RSS/idle subscriber, server CPU \(percent(s.serverBusy)), "
            + "loadgen CPU \(percent(s.loadBusy)), other CPU \(percent(s.otherBusy))\(s.n("saturated") == 1 ? ", SATURATED" : "")"
    }

    private func report(_ servers: [ServerSpec], _ subscribers: Int, _ throughput: [String: [[Sample]]],
                        _ latency: [String: [[Sample]]], _ context: Context) -> Report {
        let t = context.timing
        var rows: [[String]] = []
        var latencyRows: [[String]] = []
        var checks: [Check] = []
        var notes: [String] = []
        var chartGroups: [String] = []
        var chartDeliveries: [[Double?]] = servers.map { _ in [] }
        var chartCPU: [[Double?]] = servers.map { _ in [] }
        for transport in ["ws", "sse"] {
            guard let runs = throughput[transport], let lruns = latency[transport] else { continue }
            let title = transport == "ws" ? "WebSocket" : "SSE"
            func med(_ i: Int, _ f: (Sample) -> Double) -> Double { median(runs[i].map(f)) }
            func lmed(_ i: Int, _ f: (Sample) -> Double) -> Double { median(lruns[i].map(f)) }
            for (i, server) in servers.enumerated() {
                rows.append([title, server.name, grouped(med(i, \.perSecond)), grouped(med(i, \.cpuPerDelivery)),
                             allocationsText(med(i, \.allocationsPerDelivery)),
                             fixed(med(i) { $0.n("p50_us") } / 1000, 1), fixed(med(i) { $0.n("p99_us") } / 1000, 1),
                             fixed(med(i, \.idleBytesPerSubscriber), 0), grouped(med(i) { $0.n("rss_end_kb") }),
                             percent(med(i, \.serverBusy)), percent(med(i, \.loadBusy)), percent(med(i, \.otherBusy))])
                latencyRows.append([title, server.name, fixed(lmed(i) { $0.n("p50_us") } / 1000, 2), fixed(lmed(i) { $0.n("p99_us") } / 1000, 2),
                                    fixed(lmed(i) { $0.n("p999_us") } / 1000, 2), grouped(lmed(i, \.perSecond)),
                                    grouped(lmed(i, \.cpuPerDelivery)), lruns[i].contains { $0.n("saturated") == 1 } ? "yes" : "no"])
            }
            chartGroups.append("\(title), \(grouped(Double(subscribers))) subscribers")
            for i in servers.indices {
                chartDeliveries[i].append(med(i, \.perSecond))
                chartCPU[i].append(med(i, \.cpuPerDelivery))
            }
            let ratio = med(0, \.perSecond) / med(1, \.perSecond)
            checks.append(Check(what: "deliveries/s reactor/SwiftNIO, \(title)", value: ratioText(ratio),
                                target: ">= \(ratioText(minDeliveriesRatioToNIO))", ok: ratio >= minDeliveriesRatioToNIO))
            let idle = med(0, \.idleBytesPerSubscriber), cap = maxIdleBytes[transport]!
            checks.append(Check(what: "RSS per idle \(title) subscriber, reactor", value: "\(fixed(idle, 0)) bytes",
                                target: "<= \(fixed(cap, 0)) bytes", ok: idle <= cap))
            // One encoding per message per wire format: the WebSocket publisher's own copy is a
            // WebSocket frame, so the SSE run has two formats.
            let formats = transport == "ws" ? 1.0 : 2.0
            let all = runs[0] + lruns[0]
            let perMessage = all.map { $0.n("encodings") / $0.n("broadcasts") }
            let worst = perMessage.max() ?? .nan
            checks.append(Check(what: "wire encodings per message, reactor, \(title) run (\(Int(formats)) format\(formats > 1 ? "s" : ""))",
                                value: fixed(worst, 3), target: "\(fixed(formats, 0))", ok: abs(worst - formats) < 1e-9))
            let allocs = med(0, \.allocationsPerDelivery)
            notes.append("\(title): allocations per delivery, reactor \(allocationsText(allocs)); CPU ns/delivery reactor/SwiftNIO "
                         + ratioText(med(0, \.cpuPerDelivery) / med(1, \.cpuPerDelivery)))
        }

        var md = """
            ## \(name)

            One publisher and \(grouped(Double(subscribers))) subscribers in one room; 32-byte messages \
            (`Sources/reactor-loadgen`, written on the reactor, pinned to CPU \(CPU.load); every subscriber must receive every \
            message exactly once and in order, or the run fails); servers on CPU \(CPU.server). Throughput: closed loop, \
            \(window) messages published and not yet delivered to every subscriber. Latency: open loop at \(fixed(latencyRate, 0)) \
            messages/s (\(grouped(latencyRate * Double(subscribers))) deliveries/s), each message timed from its intended publish \
            time to the arrival of its last copy (coordinated omission cannot hide a stall). \(fixed(t.warmup, 0)) s warmup + \
            \(fixed(t.measure, 0)) s measured, median of \(t.repetitions) run(s) per server, servers alternating\
            \(context.options.quick ? " (--quick: targets not enforced)" : ""). \(machineLine()).

            CPU ns/delivery: server CPU time over the window / deliveries in it. RSS/idle subscriber: VmRSS after the \
            subscribers connected and sat idle 1 s, minus VmRSS before they connected (after 64 warm-up subscribers came and went), over their number. \
            \(context.buildTimesLine)


            """
        md += markdownTable(["subscribers", "server", "deliveries/s", "CPU ns/delivery", "allocs/delivery", "p50 ms", "p99 ms",
                             "RSS B/idle sub", "RSS end KiB", "server CPU", "loadgen CPU", "other CPU"], rows) + "\n\n"
        md += "Publish to last delivery at \(fixed(latencyRate, 0)) messages/s (open loop):\n\n"
        md += markdownTable(["subscribers", "server", "p50 ms", "p99 ms", "p99.9 ms", "deliveries/s", "CPU ns/delivery", "saturated"], latencyRows) + "\n\n"
        md += checks.map(\.line).joined(separator: "\n") + "\n"
        md += notes.map { "- \($0)" }.joined(separator: "\n") + "\n"
        let worstOther = (throughput.values.joined().joined().map(\.otherBusy)).max() ?? 0
        if worstOther > maxOtherBusy {
            md += "- WARNING: up to \(percent(worstOther)) of a CPU went to other processes during a run: the machine was shared.\n"
        }
        md += "\nRuns:\n"
        for transport in ["ws", "sse"] {
            for (i, server) in servers.enumerated() {
                for (r, s) in (throughput[transport]?[i] ?? []).enumerated() { md += "- \(transport), \(server.name) #\(r + 1): \(describe(s))\n" }
                for (r, s) in (latency[transport]?[i] ?? []).enumerated() { md += "- \(transport) latency, \(server.name) #\(r + 1): \(describe(s))\n" }
            }
        }
        let chart = Chart(
            fileSuffix: "", title: "broadcast: 1 publisher, 32-byte messages",
            subtitle: "closed loop, \(window) messages in flight; server on CPU \(CPU.server)", groups: chartGroups,
            panels: [
                Chart.Panel(title: "deliveries/s (higher is better)",
                            series: servers.indices.map { Chart.Series(name: servers[$0].name, values: chartDeliveries[$0]) }),
                Chart.Panel(title: "server CPU ns per delivery (lower is better)",
                            series: servers.indices.map { Chart.Series(name: servers[$0].name, values: chartCPU[$0]) }),
            ])
        return Report(markdown: md, targetsMet: checks.allSatisfy(\.ok), charts: [chart])
    }
}
