import Foundation

/// Scaling (issue #10's benchmark, first half): the reactor's web demo with one event loop
/// (`echo --threads 1`) against the same with two (`echo --threads 2`, SO_REUSEPORT listeners),
/// under HTTP plaintext from wrk (driven exactly as http-plaintext drives it, without and with
/// 16-deep pipelining) and 32-byte WebSocket echo from C/ws_loadgen.c (as websocket-echo drives
/// it). The figure is the scaling factor: 2-loop throughput / 1-loop throughput.
///
/// These machines have two CPUs, so two loops and the load generator cannot each have their
/// own: the 1-loop run keeps the usual split (server on CPU 1, load on CPU 0), the 2-loop run
/// lets the server and the load generator both use CPUs 0 and 1. The report says what that
/// does to the factor. No target beyond reporting it.
struct Scaling: Scenario {
    let name = "scaling"
    let summary = "reactor echo --threads 1 vs --threads 2: HTTP plaintext (wrk, with and without 16-deep pipelining), 32 B WebSocket echo and a 10,000-subscriber broadcast; scaling factor, report only"

    /// Where a run's server and load generator may run (`taskset -c` lists).
    struct Setup {
        let loops: Int
        let serverCPUs: String
        let loadCPUs: String
    }
    let setups = [
        Setup(loops: 1, serverCPUs: CPU.server, loadCPUs: CPU.load),
        Setup(loops: 2, serverCPUs: CPU.both, loadCPUs: CPU.both),
    ]

    enum Load {
        case http(depth: Int)
        case webSocket(WebSocketEcho.Load)
        /// broadcast's WebSocket load: one publisher, this many subscribers, 16 messages in
        /// flight; a "request" is one delivery.
        case broadcast(subscribers: Int)

        var title: String {
            switch self {
            case .http(let depth): depth == 1 ? "HTTP, no pipelining" : "HTTP, \(depth)-deep pipelining"
            case .webSocket(let load): "WebSocket echo \(load.title)"
            case .broadcast(let n): "WebSocket broadcast to \(grouped(Double(n))) subscribers (deliveries)"
            }
        }

        var tag: String {
            switch self {
            case .http(let depth): "http-d\(depth)"
            case .webSocket(let load): "ws-\(load.tag)"
            case .broadcast: "broadcast"
            }
        }
    }
    /// The loads of http-plaintext and websocket-echo's 32-byte load, unchanged, so the 1-loop
    /// figures can be read against those scenarios' reports.
    let loads: [Load] = [
        .http(depth: 1),
        .http(depth: 16),
        .webSocket(WebSocketEcho.Load(connections: 64, size: 32, inFlight: 16)),
        .broadcast(subscribers: 10_000),
    ]

    /// Above this share of a CPU the one-thread load generator is taken to be the limit.
    let loadGeneratorBound = 0.9
    /// Above this many CPUs for server + load generator in the 1-loop run, the 2-CPU machine is full.
    let machineFull = 1.8

    func run(_ context: Context) throws -> Report {
        try Wrk.ensureInstalled()
        let loadgen = try context.benchProduct("reactor-loadgen")
        let servers = try setups.map { setup in
            try context.reactorServer(name: "reactor, \(setup.loops) loop\(setup.loops == 1 ? "" : "s")",
                                      product: "echo", arguments: ["--threads", String(setup.loops)])
        }
        var samples: [[[WindowSample]]] = []
        for load in loads {
            say("  -- \(load.title)")
            samples.append(try alternatingRuns(context, servers, label: "\(name)-\(load.tag)", describe: describe) { i, server, label in
                let setup = setups[i]
                switch load {
                case .http(let depth):
                    return try HTTPPlaintext().measure(server, depth: depth, label: label, countSyscalls: false, context,
                                                       serverCPUs: setup.serverCPUs, loadCPUs: setup.loadCPUs)
                case .webSocket(let ws):
                    return try WebSocketEcho().measure(server, ws, label: label, countSyscalls: false, context,
                                                       serverCPUs: setup.serverCPUs, loadCPUs: setup.loadCPUs)
                case .broadcast(let subscribers):
                    let b = Broadcast()
                    let sample = try b.measure(server, transport: "ws", subscribers: min(subscribers, Proc.openFileLimit() - 200),
                                               load: ["--window", String(b.window)], label: label, loadgen: loadgen, context,
                                               serverCPUs: setup.serverCPUs, loadCPUs: setup.loadCPUs)
                    var values = sample.values
                    values["messages"] = values["deliveries"]
                    return try WindowSample(loadgenLine: values, allocations: sample.allocations)
                }
            })
        }
        return report(servers, samples, context)
    }

    private func describe(_ s: WindowSample) -> String {
        "\(grouped(s.perSecond)) requests/s, \(grouped(s.cpuPerItem)) CPU ns/request, server CPU \(percent(s.serverBusy)), "
            + "loadgen CPU \(percent(s.loadBusy)), other CPU \(percent(s.otherBusy))"
    }

    private func report(_ servers: [ServerSpec], _ samples: [[[WindowSample]]], _ context: Context) -> Report {
        let t = context.timing
        let header = ["load", "server", "server CPUs", "load CPUs", "requests/s", "CPU ns/request", "CPU ns/request range",
                      "server CPU", "loadgen CPU", "other CPU"]
        var rows: [[String]] = []
        var checks: [Check] = []
        var notes: [String] = []
        for (l, load) in loads.enumerated() {
            let runs = samples[l]
            func med(_ i: Int, _ f: (WindowSample) -> Double) -> Double { median(runs[i].map(f)) }
            for (i, server) in servers.enumerated() {
                let cpus = runs[i].map(\.cpuPerItem)
                rows.append([load.title, server.name, setups[i].serverCPUs, setups[i].loadCPUs,
                             grouped(med(i, \.perSecond)), grouped(med(i, \.cpuPerItem)),
                             "\(grouped(cpus.min()!))-\(grouped(cpus.max()!))",
                             percent(med(i, \.serverBusy)), percent(med(i, \.loadBusy)), percent(med(i, \.otherBusy))])
            }
            let factor = med(1, \.perSecond) / med(0, \.perSecond)
            checks.append(Check(what: "scaling factor (2-loop / 1-loop requests/s), \(load.title)", value: ratioText(factor),
                                target: "reported, no threshold", ok: factor.isFinite && factor > 0))
            func busy(_ i: Int) -> String {
                "server \(percent(med(i, \.serverBusy))) + load generator \(percent(med(i, \.loadBusy))) + "
                    + "other \(percent(med(i, \.otherBusy))) of one CPU"
            }
            var note = "\(load.title): CPU ns/request 2 loops / 1 loop \(ratioText(med(1, \.cpuPerItem) / med(0, \.cpuPerItem))); "
                + "CPU busy with 1 loop: \(busy(0)); with 2 loops: \(busy(1))"
            if med(0, \.serverBusy) + med(0, \.loadBusy) >= machineFull {
                note += ". With one loop the server and the load generator already kept both CPUs busy: a second loop "
                    + "has no idle CPU to use and can only take CPU from the load generator, so this factor shows the "
                    + "machine's size, not a limit of the reactor"
            } else if med(0, \.loadBusy) >= loadGeneratorBound {
                note += ". With one loop the one-thread load generator was near a full CPU: it, not the reactor, may have set the pace"
            }
            notes.append(note)
        }

        var md = """
            ## \(name)

            The reactor's web demo with one event loop (`echo --threads 1`) and with two (`echo --threads 2`, one \
            SO_REUSEPORT listener per loop), under the loads of http-plaintext (`GET /plaintext` from wrk `-t1 -c64`, \
            without pipelining and 16 requests per write) and websocket-echo's 32-byte load (`C/ws_loadgen.c`, 64 \
            connections x 16 in flight; a request here is one echoed message), measured exactly as those scenarios \
            measure them. \(fixed(t.warmup, 0)) s warmup + \(fixed(t.measure, 0)) s measured, median of \
            \(t.repetitions) run(s) per server and load, servers alternating\(context.options.quick ? " (--quick)" : ""). \
            \(machineLine()).

            Target: none beyond reporting the scaling factor (2-loop requests/s / 1-loop requests/s); this scenario \
            passes when the factor is reported, whatever its value.

            The shared-CPU caveat: this machine has two CPUs. The 1-loop run has the usual split (server on CPU \
            \(CPU.server), load generator on CPU \(CPU.load)); the 2-loop run cannot give two loops and the load \
            generator a CPU each, so the server and the load generator both run on CPUs \(CPU.both) (`taskset`) and \
            the scheduler shares them out. The load generator is one thread in both runs, so the 2-loop server gets \
            at most the two CPUs minus the load generator's share, and the two compete and migrate. Where the 1-loop \
            run already keeps both CPUs busy (server + load generator near 200% of one CPU, which is the usual case \
            here), a second loop has nothing to gain and a factor at or below 1 is expected. The factor therefore \
            says what a second loop gains on this 2-CPU machine with the load generator on it, not how the reactor \
            scales on dedicated cores: that needs at least four CPUs, two loops pinned apart from a load generator \
            with enough threads to drive them. CPU ns/request (server CPU time, all threads, / requests) is the \
            steadier figure: it shows what the second loop costs per request, sharing included.
            \(context.options.reactorCommand != nil ? "\n`--reactor-cmd` replaced both servers with the same command: `--threads` was not passed, so both runs measure that one command.\n" : "")
            \(context.buildTimesLine)


            """
        md += markdownTable(header, rows) + "\n\n"
        md += checks.map(\.line).joined(separator: "\n") + "\n"
        md += notes.map { "- \($0)" }.joined(separator: "\n") + "\n"
        if let warning = sharedMachineWarning(samples.flatMap { $0.joined() }) { md += warning }
        md += "\nRuns:\n"
        for (l, load) in loads.enumerated() {
            for (i, server) in servers.enumerated() {
                for (r, s) in samples[l][i].enumerated() {
                    md += "- \(load.title), \(server.name) #\(r + 1): \(describe(s)), \(grouped(s.count)) requests in \(fixed(s.seconds, 2)) s\n"
                }
            }
        }
        return Report(markdown: md, targetsMet: checks.allSatisfy(\.ok))
    }
}
