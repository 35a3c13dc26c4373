import Foundation

/// WebSocket echo: the reactor's web demo (`echo --port N`, `GET /echo` upgrades)
/// against a minimal C epoll WebSocket echo server (the ceiling, C/ws_server.c) and a
/// SwiftNIO WebSocket server on one event-loop thread (the peer, Sources/nio-websocket),
/// and, for issue 16, the reactor's async echo (`/echo-async` of the same demo) and Hummingbird 2
/// (Sources/hb-websocket), all driven by C/ws_loadgen.c:
///
/// - throughput: 32-byte binary messages over 64 connections with 16 in flight each, and
///   16 KiB messages over 16 connections with 4 in flight each (closed loop);
/// - latency: one connection, one 32-byte message in flight, round trips in a histogram;
/// - memory: RSS per idle WebSocket connection at 10,000 connections.
///
/// Issue 16's bar is checked at 32 B x 64 x 16: async/callback server CPU per message,
/// and the async echo's messages per server CPU-second against Hummingbird's.
struct WebSocketEcho: Scenario {
    let name = "websocket-echo"
    let summary = "WebSocket echo, 32 B x 64 conns x 16 in flight and 16 KiB x 16 conns; p99 latency; RSS per idle connection: reactor (callback, async) vs C epoll vs SwiftNIO vs Hummingbird"

    struct Load {
        let connections: Int
        let size: Int
        let inFlight: Int
        var title: String { "\(size >= 1024 ? "\(size / 1024) KiB" : "\(size) B") x \(connections) conns x \(inFlight) in flight" }
        var tag: String { "\(size)b" }
    }
    /// The issue names 16 connections for 16 KiB but no depth: 4 in flight keeps 1 MiB
    /// moving, enough to fill both CPUs without queueing megabytes in socket buffers.
    let loads = [Load(connections: 64, size: 32, inFlight: 16), Load(connections: 16, size: 16384, inFlight: 4)]
    let latencySize = 32
    let idleConnections = 10_000

    // Targets, reactor relative to the baselines.
    /// CPU per message against C, by message size: issue 18's bar for 32 bytes (64 connections,
    /// 16 in flight); the first WebSocket issue's for 16 KiB, which issue 18 leaves as it is.
    let maxCPURatio: [Int: Double] = [32: 1.05, 16384: 1.25]
    let minThroughputRatioToC = 0.85
    let minThroughputRatioToNIO = 2.5
    let maxP99RatioToC = 1.2
    /// Issue 18's bar (RSS per idle WebSocket at 10,000 connections).
    let maxIdleBytesPerConnection = 300.0
    // Issue 16's bar, at the first load (32 B x 64 conns x 16 in flight).
    let maxAsyncCPURatio = 1.3
    let minAsyncEfficiencyToHummingbird = 3.0
    let maxAsyncAllocationsPerMessage = 2.0

    /// The rows' places in `servers` (a row is a server x path).
    enum Row { static let c = 0, reactor = 1, nio = 2, reactorAsync = 3, hummingbird = 4 }
    let path = "/echo"

    struct Latency {
        var messages: Double
        var p50: Double, p99: Double, p999: Double, max: Double, mean: Double // microseconds
        /// CPU that went to neither the server nor the load generator, in CPUs: a loopback
        /// round trip's tail is scheduler noise when something else runs.
        var otherBusy: Double
    }

    struct Idle {
        var connections: Int
        var beforeKiB: Int, upgradedKiB: Int, echoedKiB: Int
        var upgradeSeconds: Double
        var upgradedBytesPerConnection: Double { Double(upgradedKiB - beforeKiB) * 1024 / Double(connections) }
        var echoedBytesPerConnection: Double { Double(echoedKiB - beforeKiB) * 1024 / Double(connections) }
    }

    func run(_ context: Context) throws -> Report {
        if context.options.syscalls { try Tools.ensure("perf", package: "linux-perf", why: "--syscalls") }
        let cServer = context.cProgram("ws_server")
        let baseline = ServerSpec(name: "C epoll (ceiling)") { port in [cServer, String(port)] }
        let reactor = try context.reactorServer(product: "echo", arguments: [])
        let nio = try context.peerServer(name: "SwiftNIO (1 thread)", product: "nio-websocket")
        let reactorAsync = reactor.at("/echo-async", name: PeerName.reactorAsync)
        let hummingbird = try context.peerServer(name: PeerName.hummingbird, product: "hb-websocket")
        let servers = [baseline, reactor, nio, reactorAsync, hummingbird]

        var samples: [[[WindowSample]]] = []
        var syscallSamples: [[WindowSample?]] = []
        for load in loads {
            say("  -- \(load.title)")
            samples.append(try alternatingRuns(context, servers, label: "\(name)-\(load.tag)", describe: describe) { _, server, label in
                try measure(server, load, label: label, countSyscalls: false, context)
            })
            if context.options.syscalls {
                syscallSamples.append(try servers.enumerated().map { i, server in
                    let sample = try measure(server, load, label: "\(name)-\(load.tag)-\(i)-syscalls", countSyscalls: true, context)
                    say("  \(server.name) syscall count run: \(fixed(sample.syscallsPerItem?["total"] ?? 0, 3)) syscalls/msg")
                    return sample
                })
            }
        }

        say("  -- latency: 1 connection, 1 message of \(latencySize) B in flight")
        var latencies = Array(repeating: [Latency](), count: servers.count)
        for repetition in 1...context.timing.repetitions {
            for (i, server) in servers.enumerated() {
                // As alternatingRuns does: a full run that shared the machine is measured again
                // (twice at most) and the quietest attempt kept.
                let label = "\(name)-latency-\(i)-\(repetition)"
                var kept = try latency(server, label: label, context)
                say("  \(server.name) run \(repetition): \(describe(kept))")
                var retries = context.options.quick ? 0 : 2
                var last = kept
                while last.otherBusy > maxOtherBusy && retries > 0 {
                    retries -= 1
                    say("    other processes took \(percent(last.otherBusy)) of a CPU: measuring again")
                    last = try latency(server, label: label, context)
                    say("  \(server.name) run \(repetition): \(describe(last))")
                    if last.otherBusy < kept.otherBusy { kept = last }
                }
                latencies[i].append(kept)
            }
        }

        // Each side needs a descriptor per connection: this process's limit is what both inherit.
        let connections = min(idleConnections, Proc.openFileLimit() - 200)
        say("  -- RSS per idle connection: \(grouped(Double(connections))) connections")
        var idles: [Idle] = []
        for (i, server) in servers.enumerated() {
            let idle = try idleRSS(server, connections: connections, label: "\(name)-idle-\(i)", context)
            say("  \(server.name): \(fixed(idle.upgradedBytesPerConnection, 0)) bytes/connection after the upgrade, "
                + "\(fixed(idle.echoedBytesPerConnection, 0)) after one echo (\(fixed(idle.upgradeSeconds, 2)) s to upgrade them)")
            idles.append(idle)
        }
        let openLoop = try openLoopLatencies(servers, context)
        var result = report(servers, samples, syscallSamples, latencies, idles, context)
        result.markdown += openLoopMarkdown(servers, openLoop)
        return result
    }

    /// One throughput run: starts `spec`, drives it with ws_loadgen, stops it. The server runs
    /// on `serverCPUs` and the load generator on `loadCPUs` (the scaling scenario shares both);
    /// `tls`: ws_loadgen speaks TLS (the tls scenario's servers).
    func measure(_ spec: ServerSpec, _ load: Load, label: String, countSyscalls: Bool, _ context: Context,
                 serverCPUs: String = CPU.server, loadCPUs: String = CPU.load, tls: Bool = false) throws -> WindowSample {
        let timing = context.timing
        let port = try context.ports.take()
        let server = try RunningServer(spec, port: port, label: label, context: context, cpus: serverCPUs)
        defer { server.stop() }

        let loadgen = try Child(
            name: "ws_loadgen",
            command: ["taskset", "-c", loadCPUs, context.cProgram("ws_loadgen"),
                      "-p", String(port), "-c", String(load.connections), "-s", String(load.size),
                      "-d", String(load.inFlight), "-w", String(timing.warmup), "-t", String(timing.measure),
                      "-P", String(server.pid), "-S", "-u", spec.path(or: path)] + (tls ? ["--tls"] : []),
            logPath: context.logPath("\(label)-loadgen")
        )
        defer { loadgen.stop() }

        var syscalls: [String: Int]?
        var countedSeconds = 0.0
        if countSyscalls {
            usleep(UInt32((timing.warmup + 0.3) * 1e6))
            countedSeconds = max(0.5, timing.measure - 0.6)
            syscalls = try SyscallCounter.count(pid: server.pid, seconds: countedSeconds, logPath: context.logPath("\(label)-perf"))
        }
        let values = try finish(loadgen, server, spec, timeout: timing.warmup + timing.measure + 60, expect: "messages=")
        var sample = try WindowSample(loadgenLine: values, allocations: try server.allocationsInWindow().allocations)
        guard sample.count > 0 else { throw BenchError("\(spec.name) echoed no message in the measured window") }
        if let counts = syscalls {
            let counted = sample.perSecond * countedSeconds
            sample.syscallsPerItem = counts.mapValues { Double($0) / counted }
        }
        return sample
    }

    /// One latency run: one connection, one message in flight.
    private func latency(_ spec: ServerSpec, label: String, _ context: Context) throws -> Latency {
        let timing = context.timing
        let port = try context.ports.take()
        let server = try RunningServer(spec, port: port, label: label, context: context)
        defer { server.stop() }
        let loadgen = try Child(
            name: "ws_loadgen -L",
            command: ["taskset", "-c", CPU.load, context.cProgram("ws_loadgen"), "-L",
                      "-p", String(port), "-s", String(latencySize), "-w", String(timing.warmup), "-t", String(timing.measure),
                      "-P", String(server.pid), "-u", spec.path(or: path)],
            logPath: context.logPath("\(label)-loadgen")
        )
        defer { loadgen.stop() }
        let v = try finish(loadgen, server, spec, timeout: timing.warmup + timing.measure + 60, expect: "messages=")
        func n(_ key: String) throws -> Double {
            guard let x = v[key].flatMap(Double.init) else { throw BenchError("ws_loadgen -L result lacks \(key)") }
            return x
        }
        let seconds = try n("seconds")
        let other = max(0, try n("machine_busy_ns") - max(0, try n("server_cpu_ns")) - (try n("loadgen_cpu_ns"))) / (seconds * 1e9)
        return Latency(messages: try n("messages"), p50: try n("p50_us"), p99: try n("p99_us"), p999: try n("p999_us"),
                       max: try n("max_us"), mean: try n("mean_us"), otherBusy: other)
    }

    /// RSS per idle connection: `connections` upgraded connections held open (over TLS with `tls`).
    func idleRSS(_ spec: ServerSpec, connections: Int, label: String, _ context: Context, tls: Bool = false) throws -> Idle {
        let port = try context.ports.take()
        let server = try RunningServer(spec, port: port, label: label, context: context)
        defer { server.stop() }
        let loadgen = try Child(
            name: "ws_loadgen -I",
            command: ["taskset", "-c", CPU.load, context.cProgram("ws_loadgen"), "-I",
                      "-p", String(port), "-c", String(connections), "-w", "1", "-P", String(server.pid), "-u", spec.path(or: path)]
                + (tls ? ["--tls"] : []),
            logPath: context.logPath("\(label)-loadgen")
        )
        defer { loadgen.stop() }
        let v = try finish(loadgen, server, spec, timeout: 180, expect: "conns=")
        func n(_ key: String) throws -> Double {
            guard let x = v[key].flatMap(Double.init) else { throw BenchError("ws_loadgen -I result lacks \(key)") }
            return x
        }
        return Idle(connections: Int(try n("conns")), beforeKiB: Int(try n("rss_before_kb")),
                    upgradedKiB: Int(try n("rss_upgraded_kb")), echoedKiB: Int(try n("rss_echoed_kb")),
                    upgradeSeconds: try n("upgrade_seconds"))
    }

    /// Waits for the load generator, checks it and the server, and returns its result line.
    private func finish(_ loadgen: Child, _ server: RunningServer, _ spec: ServerSpec, timeout: Double, expect prefix: String) throws -> [String: String] {
        guard let status = loadgen.wait(timeout: timeout) else {
            throw BenchError("\(loadgen.name) against \(spec.name) did not finish:\n\(loadgen.logTail())")
        }
        guard status == 0 else {
            let why = status == 2 ? "the echoed frames did not match what was sent" : "status \(status)"
            throw BenchError("\(loadgen.name) against \(spec.name) failed (\(why)):\n\(loadgen.logTail())\n  server output:\n\(server.child.logTail())")
        }
        guard server.child.isRunning else {
            throw BenchError("\(spec.name) exited during the run:\n\(server.child.logTail())")
        }
        let log = (try? String(contentsOfFile: loadgen.logPath, encoding: .utf8)) ?? ""
        guard let line = log.split(separator: "\n").last(where: { $0.hasPrefix(prefix) }) else {
            throw BenchError("\(loadgen.name) printed no result:\n\(loadgen.logTail())")
        }
        return parseKeyValues(line)
    }

    private func describe(_ l: Latency) -> String {
        "p50 \(fixed(l.p50, 1)) us, p99 \(fixed(l.p99, 1)) us, p99.9 \(fixed(l.p999, 1)) us, max \(fixed(l.max, 1)) us, "
            + "\(grouped(l.messages)) round trips, other CPU \(percent(l.otherBusy))"
    }

    private func describe(_ s: WindowSample) -> String {
        "\(grouped(s.perSecond)) msgs/s, \(grouped(s.cpuPerItem)) CPU ns/msg, "
            + "\(s.allocations) allocations in window, server CPU \(percent(s.serverBusy)), "
            + "loadgen CPU \(percent(s.loadBusy)), other CPU \(percent(s.otherBusy))"
    }

    /// Open-loop round trips (issue #8's coordinated-omission-aware latency run): `reactor-loadgen
    /// ws-echo-latency` sends 32-byte messages over 16 connections on a fixed schedule, each timed
    /// from its intended send time, at a rate every server sustains. Median of the repetitions'
    /// percentiles, per server.
    let openLoopRate = 20_000.0
    let openLoopConnections = 16

    private func openLoopLatencies(_ servers: [ServerSpec], _ context: Context) throws -> [[String: Double]] {
        let loadgen = try context.benchProduct("reactor-loadgen")
        say("  -- open loop: \(grouped(openLoopRate)) msgs/s over \(openLoopConnections) connections, \(latencySize) B")
        var runs = Array(repeating: [[String: Double]](), count: servers.count)
        for repetition in 1...context.timing.repetitions {
            for (i, server) in servers.enumerated() {
                let label = "\(name)-openloop-\(i)-\(repetition)"
                let port = try context.ports.take()
                let running = try RunningServer(server, port: port, label: label, context: context)
                defer { running.stop() }
                let line = try runHelper("reactor-loadgen ws-echo-latency",
                                         ["taskset", "-c", CPU.load, loadgen, "ws-echo-latency", "--port", String(port),
                                          "--rate", fixed(openLoopRate, 0), "--connections", String(openLoopConnections),
                                          "--size", String(latencySize), "--path", server.path(or: path), "--warmup", String(context.timing.warmup),
                                          "--measure", String(context.timing.measure), "--server-pid", String(running.pid)],
                                         label: "\(label)-loadgen", timeout: context.timing.warmup + context.timing.measure + 60,
                                         expect: "messages=", server: running, context)
                let values = parseKeyValues(line).compactMapValues(Double.init)
                say("  \(server.name) run \(repetition): p50 \(fixed(values["p50_us"] ?? 0, 1)) us, p99 \(fixed(values["p99_us"] ?? 0, 1)) us, "
                    + "p99.9 \(fixed(values["p999_us"] ?? 0, 1)) us\(values["behind"] == 1 ? ", FELL BEHIND" : "")")
                runs[i].append(values)
            }
        }
        return runs.map { r in
            var out: [String: Double] = [:]
            for key in ["p50_us", "p99_us", "p999_us", "max_us", "server_cpu_ns", "messages", "behind"] {
                out[key] = median(r.compactMap { $0[key] })
            }
            return out
        }
    }

    private func openLoopMarkdown(_ servers: [ServerSpec], _ runs: [[String: Double]]) -> String {
        let rows = zip(servers, runs).map { server, v in
            [server.name, fixed(v["p50_us"] ?? 0, 1), fixed(v["p99_us"] ?? 0, 1), fixed(v["p999_us"] ?? 0, 1),
             grouped((v["server_cpu_ns"] ?? 0) / max(1, v["messages"] ?? 1)), (v["behind"] ?? 0) > 0 ? "yes" : "no"]
        }
        return "\nOpen-loop round trips (`reactor-loadgen ws-echo-latency`, written on the reactor): \(grouped(openLoopRate)) messages/s of "
            + "\(latencySize) bytes over \(openLoopConnections) connections on a fixed schedule, each timed from its intended send time "
            + "(coordinated omission cannot hide a stall); the load generator spins on its CPU so messages leave on time. At this "
            + "rate the servers sleep between messages, so CPU per message is mostly the cost of waking up (microseconds):\n\n"
            + markdownTable(["server", "p50 us", "p99 us", "p99.9 us", "CPU ns/msg", "fell behind"], rows) + "\n"
    }

    private func report(_ servers: [ServerSpec], _ samples: [[[WindowSample]]], _ syscallSamples: [[WindowSample?]],
                        _ latencies: [[Latency]], _ idles: [Idle], _ context: Context) -> Report {
        let t = context.timing
        var header = ["load", "server", "msgs/s", "CPU ns/msg", "CPU ns/msg range", "allocs/msg"]
        if context.options.syscalls { header.append("syscalls/msg") }
        header += ["server CPU", "loadgen CPU", "other CPU"]

        var rows: [[String]] = []
        var checks: [Check] = []
        var notes: [String] = []
        for (l, load) in loads.enumerated() {
            let runs = samples[l]
            func med(_ i: Int, _ f: (WindowSample) -> Double) -> Double { median(runs[i].map(f)) }
            for (i, server) in servers.enumerated() {
                let cpus = runs[i].map(\.cpuPerItem)
                var row = [load.title, server.name, grouped(med(i, \.perSecond)), grouped(med(i, \.cpuPerItem)),
                           "\(grouped(cpus.min()!))-\(grouped(cpus.max()!))", allocationsText(med(i, \.allocationsPerItem))]
                if context.options.syscalls {
                    row.append(syscallSamples[l][i]?.syscallsPerItem?["total"].map { fixed($0, 3) } ?? "?")
                }
                row += [percent(med(i, \.serverBusy)), percent(med(i, \.loadBusy)), percent(med(i, \.otherBusy))]
                rows.append(row)
            }
            let cpu = med(Row.reactor, \.cpuPerItem) / med(Row.c, \.cpuPerItem)
            let toC = med(Row.reactor, \.perSecond) / med(Row.c, \.perSecond)
            let toNIO = med(Row.reactor, \.perSecond) / med(Row.nio, \.perSecond)
            let allocs = med(Row.reactor, \.allocationsPerItem)
            let maxCPU = maxCPURatio[load.size]!
            checks += [
                Check(what: "CPU ns/msg reactor/C, \(load.title)", value: ratioText(cpu), target: "<= \(ratioText(maxCPU))", ok: cpu <= maxCPU),
                Check(what: "msgs/s reactor/C, \(load.title)", value: ratioText(toC), target: ">= \(ratioText(minThroughputRatioToC))", ok: toC >= minThroughputRatioToC),
                Check(what: "msgs/s reactor/SwiftNIO, \(load.title)", value: ratioText(toNIO), target: ">= \(ratioText(minThroughputRatioToNIO))", ok: toNIO >= minThroughputRatioToNIO),
                Check(what: "allocs/msg reactor, \(load.title)", value: allocationsText(allocs), target: "0", ok: allocs < maxAllocationsPerItem),
            ]
            notes.append("\(load.title): CPU ns/msg SwiftNIO/C \(ratioText(med(Row.nio, \.cpuPerItem) / med(Row.c, \.cpuPerItem))), "
                + "Hummingbird/C \(ratioText(med(Row.hummingbird, \.cpuPerItem) / med(Row.c, \.cpuPerItem)))")
            // Issue 16: the async echo against the callback echo and Hummingbird, all in
            // server CPU (messages per server CPU-second = 1 s / CPU per message).
            let asyncCPU = med(Row.reactorAsync, \.cpuPerItem) / med(Row.reactor, \.cpuPerItem)
            let asyncToHB = med(Row.hummingbird, \.cpuPerItem) / med(Row.reactorAsync, \.cpuPerItem)
            let asyncAllocs = med(Row.reactorAsync, \.allocationsPerItem)
            if l == 0 {
                checks += [
                    Check(what: "CPU ns/msg reactor async/callback, \(load.title)", value: ratioText(asyncCPU),
                          target: "<= \(ratioText(maxAsyncCPURatio))", ok: asyncCPU <= maxAsyncCPURatio),
                    Check(what: "msgs per server CPU-second reactor async/Hummingbird, \(load.title)", value: ratioText(asyncToHB),
                          target: ">= \(ratioText(minAsyncEfficiencyToHummingbird))", ok: asyncToHB >= minAsyncEfficiencyToHummingbird),
                    Check(what: "allocs/msg reactor async, \(load.title)", value: allocationsText(asyncAllocs),
                          target: "<= \(fixed(maxAsyncAllocationsPerMessage, 0))", ok: asyncAllocs <= maxAsyncAllocationsPerMessage),
                ]
            } else {
                notes.append("\(load.title): CPU ns/msg reactor async/callback \(ratioText(asyncCPU)), "
                    + "msgs per server CPU-second reactor async/Hummingbird \(ratioText(asyncToHB)), allocs/msg reactor async \(allocationsText(asyncAllocs))")
            }
            notes.append("\(load.title): msgs per server CPU-second: "
                + [Row.reactor, Row.reactorAsync, Row.hummingbird, Row.nio].map { "\(servers[$0].name) \(grouped(1e9 / med($0, \.cpuPerItem)))" }
                    .joined(separator: ", "))
        }

        func latMed(_ i: Int, _ f: (Latency) -> Double) -> Double { median(latencies[i].map(f)) }
        let latencyRows = servers.enumerated().map { i, server in
            [server.name, fixed(latMed(i, \.p50), 1), fixed(latMed(i, \.p99), 1), fixed(latMed(i, \.p999), 1),
             fixed(latMed(i, \.mean), 1), grouped(latMed(i, \.messages) / t.measure), percent(latMed(i, \.otherBusy))]
        }
        let p99 = latMed(Row.reactor, \.p99) / latMed(Row.c, \.p99)
        checks.append(Check(what: "p99 round trip reactor/C, 1 connection", value: ratioText(p99),
                            target: "<= \(ratioText(maxP99RatioToC))", ok: p99 <= maxP99RatioToC))

        let idleRows = zip(servers, idles).map { server, idle in
            [server.name, grouped(Double(idle.beforeKiB)), grouped(Double(idle.upgradedKiB)), fixed(idle.upgradedBytesPerConnection, 0),
             grouped(Double(idle.echoedKiB)), fixed(idle.echoedBytesPerConnection, 0)]
        }
        let idleBytes = idles[Row.reactor].upgradedBytesPerConnection
        checks.append(Check(what: "RSS per idle connection reactor, \(grouped(Double(idles[Row.reactor].connections))) connections",
                            value: "\(fixed(idleBytes, 0)) bytes", target: "<= \(fixed(maxIdleBytesPerConnection, 0)) bytes",
                            ok: idleBytes <= maxIdleBytesPerConnection))
        if idles[Row.reactor].echoedBytesPerConnection > maxIdleBytesPerConnection && idleBytes <= maxIdleBytesPerConnection {
            notes.append("after one echo per connection the reactor holds \(fixed(idles[Row.reactor].echoedBytesPerConnection, 0)) bytes/connection, over the target")
        }
        notes.append("RSS per idle connection (issue 16, reported beside each other): reactor async \(fixed(idles[Row.reactorAsync].upgradedBytesPerConnection, 0)) bytes "
            + "(\(fixed(idles[Row.reactorAsync].echoedBytesPerConnection, 0)) after one echo), Hummingbird \(fixed(idles[Row.hummingbird].upgradedBytesPerConnection, 0)) bytes "
            + "(\(fixed(idles[Row.hummingbird].echoedBytesPerConnection, 0)) after one echo), reactor callback \(fixed(idleBytes, 0)) bytes")

        var md = """
            ## \(name)

            Binary messages echoed over WebSocket (`GET /echo`; the async row: `GET /echo-async` of the same demo; no extensions) by `C/ws_loadgen.c` (pinned to CPU \(CPU.load); \
            client frames masked, every echoed frame checked byte for byte); servers on CPU \(CPU.server). \
            Throughput and latency: \(fixed(t.warmup, 0)) s warmup + \(fixed(t.measure, 0)) s measured, median of \(t.repetitions) \
            run(s) per server, servers alternating\(context.options.quick ? " (--quick: targets not enforced)" : ""). \(machineLine()).

            CPU ns/msg: server CPU time (all threads, /proc/PID/task/*/schedstat) over the window / messages echoed in it. \
            allocs/msg: malloc-family calls in the server over the window (LD_PRELOAD counter) / messages. \
            \(context.options.syscalls ? "syscalls/msg: `perf stat` on the syscall tracepoints in one extra run per server and load. " : "")\
            other CPU: busy time of the whole machine (/proc/stat) not spent in the server or the load generator. \
            \(context.buildTimesLine)


            """
        md += markdownTable(header, rows) + "\n\n"
        md += "Round trips at one connection, one \(latencySize)-byte message in flight (microseconds, median of the runs' percentiles):\n\n"
        md += markdownTable(["server", "p50 us", "p99 us", "p99.9 us", "mean us", "round trips/s", "other CPU"], latencyRows) + "\n\n"
        md += "RSS per idle connection: VmRSS of the server after a warmup (64 connections upgraded, one echo each, closed), "
            + "then with \(grouped(Double(idles[Row.reactor].connections))) upgraded connections idle for 1 s, then after one \(latencySize)-byte echo on each and 1 s idle:\n\n"
        md += markdownTable(["server", "RSS before KiB", "upgraded KiB", "bytes/conn", "after one echo KiB", "bytes/conn after echo"], idleRows) + "\n\n"
        md += checks.map(\.line).joined(separator: "\n") + "\n"
        md += notes.map { "- \($0)" }.joined(separator: "\n") + "\n"
        if let warning = sharedMachineWarning(samples.flatMap { $0.joined() }) { md += warning }
        let worstLatencyOther = latencies.joined().map(\.otherBusy).max() ?? 0
        if worstLatencyOther > maxOtherBusy {
            md += "- WARNING: up to \(percent(worstLatencyOther)) of a CPU went to other processes during a latency run: "
                + "its p99 and p99.9 are mostly the scheduler's.\n"
        }
        if context.options.syscalls {
            md += "\nSyscalls per message (one extra run per server and load with `perf stat` counting):\n"
            for (l, load) in loads.enumerated() {
                for (i, server) in servers.enumerated() {
                    let parts = SyscallCounter.calls.compactMap { call -> String? in
                        guard let v = syscallSamples[l][i]?.syscallsPerItem?[call], v > 0 else { return nil }
                        return "\(call) \(fixed(v, 3))"
                    }
                    md += "- \(load.title), \(server.name): \(parts.joined(separator: ", "))\n"
                }
            }
        }
        md += "\nRuns:\n"
        for (l, load) in loads.enumerated() {
            for (i, server) in servers.enumerated() {
                for (r, s) in samples[l][i].enumerated() {
                    md += "- \(load.title), \(server.name) #\(r + 1): \(describe(s)), \(grouped(s.count)) messages in \(fixed(s.seconds, 2)) s\n"
                }
            }
        }
        for (i, server) in servers.enumerated() {
            for (r, l) in latencies[i].enumerated() {
                md += "- latency, \(server.name) #\(r + 1): \(describe(l))\n"
            }
        }
        func medians(_ f: (WindowSample) -> Double) -> [[Double]] {
            loads.indices.map { l in servers.indices.map { median(samples[l][$0].map(f)) } }
        }
        let chart = Chart.throughputAndCPU(
            scenario: name, subtitle: "binary messages echoed; median of \(t.repetitions) run(s) per server; \(machineLine())",
            loads: loads.map(\.title), servers: servers.map(\.name),
            throughputUnit: "msgs/s", throughput: medians(\.perSecond), cpuUnit: "ns/msg", cpu: medians(\.cpuPerItem))
        return Report(markdown: md, targetsMet: checks.allSatisfy(\.ok), charts: [chart])
    }
}
