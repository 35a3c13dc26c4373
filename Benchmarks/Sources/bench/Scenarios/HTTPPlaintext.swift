import Foundation

/// HTTP plaintext: `GET /plaintext` from wrk at 64 connections, without and with
/// 16-deep pipelining, against the reactor's web demo (`echo --port N`), a minimal C
/// epoll HTTP server (the ceiling, C/http_server.c) and a SwiftNIO HTTP server on one
/// event-loop thread (the peer, Sources/nio-http); and, for issue 16, the reactor's async
/// route (`/plaintext-async` of the same demo) and Hummingbird 2 (Sources/hb-http), with
/// the issue's bar: async/callback server CPU per request, and the async route's requests
/// per server CPU-second against Hummingbird's.
///
/// wrk reports totals only, so the runner marks the window in the middle of one wrk run
/// (see Wrk.swift). Syscalls per request (`--syscalls`, perf stat in an extra run) and
/// instructions per request (`--callgrind`, a fixed load under callgrind, see
/// Callgrind.swift) go beside the timed figures.
struct HTTPPlaintext: Scenario {
    let name = "http-plaintext"
    let summary = "HTTP GET /plaintext, wrk 64 connections, without and with 16-deep pipelining: reactor (callback, async) vs C epoll vs SwiftNIO vs Hummingbird"

    let connections = 64
    let path = "/plaintext"
    /// The loads: requests per write (1 = no pipelining).
    let depths = [1, 16]

    // Targets, reactor relative to the baselines.
    /// CPU per request against C, by depth: the first HTTP issue's bar without pipelining, issue
    /// 18's with 16-deep pipelining.
    let maxCPURatio: [Int: Double] = [1: 1.2, 16: 1.25]
    let minThroughputRatioToNIO = 1.5
    // Issue 16's bar, by depth where it names one (16-deep pipelining).
    /// Server CPU per request, async route / callback route.
    let maxAsyncCPURatio: [Int: Double] = [16: 1.3]
    /// Requests per server CPU-second, the reactor's async route / Hummingbird.
    let minAsyncEfficiencyToHummingbird = 3.0
    let maxAsyncAllocationsPerRequest = 2.0

    /// The rows' places in `servers` (a row is a server x path).
    enum Row { static let c = 0, reactor = 1, nio = 2, reactorAsync = 3, hummingbird = 4 }

    func run(_ context: Context) throws -> Report {
        try Wrk.ensureInstalled()
        if context.options.syscalls { try Tools.ensure("perf", package: "linux-perf", why: "--syscalls") }
        let cServer = context.cProgram("http_server")
        let baseline = ServerSpec(name: "C epoll (ceiling)") { port in [cServer, String(port)] }
        let reactor = try context.reactorServer(product: "echo", arguments: [])
        let nio = try context.peerServer(name: "SwiftNIO (1 thread)", product: "nio-http")
        let reactorAsync = reactor.at("/plaintext-async", name: PeerName.reactorAsync)
        let hummingbird = try context.peerServer(name: PeerName.hummingbird, product: "hb-http")
        let servers = [baseline, reactor, nio, reactorAsync, hummingbird]

        var samples: [Int: [[WindowSample]]] = [:]
        var syscallSamples: [Int: [WindowSample?]] = [:]
        for depth in depths {
            say("  -- \(loadName(depth))")
            samples[depth] = try alternatingRuns(context, servers, label: "\(name)-d\(depth)", describe: describe) { _, server, label in
                try measure(server, depth: depth, label: label, countSyscalls: false, context)
            }
            if context.options.syscalls {
                syscallSamples[depth] = try servers.enumerated().map { i, server in
                    let sample = try measure(server, depth: depth, label: "\(name)-d\(depth)-\(i)-syscalls", countSyscalls: true, context)
                    say("  \(server.name) syscall count run: \(fixed(sample.syscallsPerItem?["total"] ?? 0, 3)) syscalls/request")
                    return sample
                }
            }
        }
        var instructions: [[Int: Double]]?
        if context.options.callgrind {
            instructions = try servers.enumerated().map { i, server in
                say("  \(server.name) under callgrind (\(grouped(Double(Callgrind.requests))) requests per depth)")
                let result = try Callgrind.instructionsPerRequest(server, depths: depths, label: "\(name)-\(i)-callgrind", context)
                say("    " + depths.map { "depth \($0): \(grouped(result[$0] ?? 0)) instructions/request" }.joined(separator: ", "))
                return result
            }
        }
        return report(servers, samples, syscallSamples, instructions, context)
    }

    private func loadName(_ depth: Int) -> String {
        depth == 1 ? "no pipelining" : "\(depth)-deep pipelining"
    }

    /// Starts `spec`, checks its answers, loads it with wrk, and stops it. The server runs on
    /// `serverCPUs` and wrk on `loadCPUs` (the scaling scenario shares both CPUs); `tls`: the
    /// check and wrk speak TLS (https://, the tls scenario's servers).
    func measure(_ spec: ServerSpec, depth: Int, label: String, countSyscalls: Bool, _ context: Context,
                 serverCPUs: String = CPU.server, loadCPUs: String = CPU.load, tls: Bool = false) throws -> WindowSample {
        let timing = context.timing
        let port = try context.ports.take()
        let server = try RunningServer(spec, port: port, label: label, context: context, cpus: serverCPUs)
        defer { server.stop() }

        // wrk counts responses without reading them: check them first, strictly.
        let path = spec.path(or: path)
        _ = try runHelper("http_client", [context.cProgram("http_client"), "-p", String(port), "-n", "64", "-d", "16", "-u", path] + (tls ? ["--tls"] : []),
                          label: "\(label)-check", timeout: 20, expect: "requests=", server: server, context)

        let duration = Int((timing.warmup + timing.measure).rounded(.up)) + 1
        // A syscall count covers the whole wrk run, from just before its first connection to
        // just after its last answer, and is divided by wrk's own total: exact, where a count
        // over part of the run divided by wrk's average rate would not be (perf's tracepoints
        // slow the server, so the rate under perf is below the average).
        var perf: Child?
        let perfLog = context.logPath("\(label)-perf")
        let perfSeconds = Double(duration) + 1.5
        if countSyscalls {
            perf = try SyscallCounter.start(pid: server.pid, seconds: perfSeconds, logPath: perfLog)
            usleep(500_000) // perf attaches
        }
        defer { perf?.stop() }
        let wrk = try Wrk.start(port: port, path: path, connections: connections, depth: depth,
                                duration: duration, cpus: loadCPUs, tls: tls, label: label, context)
        defer { wrk.stop() }
        let started = monotonicSeconds()
        sleep(until: started + timing.warmup)

        let start: WindowEdge, end: WindowEdge
        if countSyscalls {
            start = .now(server: server.pid, load: wrk.pid)
            sleep(until: started + timing.warmup + timing.measure)
            end = .now(server: server.pid, load: wrk.pid)
        } else {
            kill(server.pid, SIGUSR1) // the malloc counter's snapshot
            start = .now(server: server.pid, load: wrk.pid)
            sleep(until: started + timing.warmup + timing.measure)
            end = .now(server: server.pid, load: wrk.pid)
            kill(server.pid, SIGUSR2) // ... and its report
        }

        guard let status = wrk.wait(timeout: Double(duration) + 30) else {
            throw BenchError("wrk against \(spec.name) did not finish:\n\(wrk.logTail())")
        }
        guard status == 0 else {
            throw BenchError("wrk against \(spec.name) failed (status \(status)):\n\(wrk.logTail())\n  server output:\n\(server.child.logTail())")
        }
        guard server.child.isRunning else {
            throw BenchError("\(spec.name) exited during the run:\n\(server.child.logTail())")
        }
        let result = try Wrk.parse((try? String(contentsOfFile: wrk.logPath, encoding: .utf8)) ?? "")
        if result.non2xx > 0 || result.connectErrors + result.readErrors + result.writeErrors > 0 {
            throw BenchError("wrk against \(spec.name) saw \(result.non2xx) non-2xx answers and socket errors "
                + "(connect \(result.connectErrors), read \(result.readErrors), write \(result.writeErrors)):\n\(wrk.logTail())")
        }
        if result.timeouts > 0 { say("    wrk: \(result.timeouts) requests took over 5 s") }
        guard result.requests > 0 else { throw BenchError("\(spec.name) answered no request") }

        // Requests in the window: wrk's steady rate times the window's length.
        let count = result.requestsPerSecond * (end.time - start.time)
        let allocations = countSyscalls ? 0 : try server.allocationsInWindow().allocations
        var sample = try WindowSample(count: count, start: start, end: end, allocations: allocations)
        if let perf {
            let syscalls = try SyscallCounter.finish(perf, seconds: perfSeconds, logPath: perfLog)
            sample.syscallsPerItem = syscalls.mapValues { Double($0) / Double(result.requests) }
        }
        return sample
    }

    private func describe(_ s: WindowSample) -> String {
        "\(grouped(s.perSecond)) requests/s, \(grouped(s.cpuPerItem)) CPU ns/request, "
            + "\(s.allocations) allocations in window, server CPU \(percent(s.serverBusy)), "
            + "wrk CPU \(percent(s.loadBusy)), other CPU \(percent(s.otherBusy))"
    }

    private func report(_ servers: [ServerSpec], _ samples: [Int: [[WindowSample]]], _ syscallSamples: [Int: [WindowSample?]],
                        _ instructions: [[Int: Double]]?, _ context: Context) -> Report {
        let t = context.timing
        var header = ["load", "server", "requests/s", "CPU ns/request", "CPU ns/request range", "allocs/request"]
        if context.options.syscalls { header.append("syscalls/request") }
        if instructions != nil { header.append("instructions/request") }
        header += ["server CPU", "wrk CPU", "other CPU"]

        var rows: [[String]] = []
        var checks: [Check] = []
        var ratios: [String] = []
        for depth in depths {
            let runs = samples[depth]!
            func med(_ i: Int, _ f: (WindowSample) -> Double) -> Double { median(runs[i].map(f)) }
            for (i, server) in servers.enumerated() {
                let cpus = runs[i].map(\.cpuPerItem)
                var row = [loadName(depth), server.name, grouped(med(i, \.perSecond)), grouped(med(i, \.cpuPerItem)),
                           "\(grouped(cpus.min()!))-\(grouped(cpus.max()!))", allocationsText(med(i, \.allocationsPerItem))]
                if context.options.syscalls {
                    row.append(syscallSamples[depth]?[i]?.syscallsPerItem?["total"].map { fixed($0, 3) } ?? "?")
                }
                if let instructions { row.append(instructions[i][depth].map(grouped) ?? "?") }
                row += [percent(med(i, \.serverBusy)), percent(med(i, \.loadBusy)), percent(med(i, \.otherBusy))]
                rows.append(row)
            }
            let cpu = med(Row.reactor, \.cpuPerItem) / med(Row.c, \.cpuPerItem)
            let toNIO = med(Row.reactor, \.perSecond) / med(Row.nio, \.perSecond)
            let toC = med(Row.reactor, \.perSecond) / med(Row.c, \.perSecond)
            let allocs = med(Row.reactor, \.allocationsPerItem)
            let maxCPU = maxCPURatio[depth]!
            checks += [
                Check(what: "CPU ns/request reactor/C, \(loadName(depth))", value: ratioText(cpu),
                      target: "<= \(ratioText(maxCPU))", ok: cpu <= maxCPU),
                Check(what: "requests/s reactor/SwiftNIO, \(loadName(depth))", value: ratioText(toNIO),
                      target: ">= \(ratioText(minThroughputRatioToNIO))", ok: toNIO >= minThroughputRatioToNIO),
                Check(what: "allocs/request reactor, \(loadName(depth))", value: allocationsText(allocs),
                      target: "0", ok: allocs < maxAllocationsPerItem),
            ]
            // Issue 16: the async route against the callback route and Hummingbird, all in
            // server CPU (requests per server CPU-second = 1 s / CPU per request).
            let asyncCPU = med(Row.reactorAsync, \.cpuPerItem) / med(Row.reactor, \.cpuPerItem)
            let asyncToHB = med(Row.hummingbird, \.cpuPerItem) / med(Row.reactorAsync, \.cpuPerItem)
            let asyncAllocs = med(Row.reactorAsync, \.allocationsPerItem)
            if let maxAsync = maxAsyncCPURatio[depth] {
                checks += [
                    Check(what: "CPU ns/request reactor async/callback, \(loadName(depth))", value: ratioText(asyncCPU),
                          target: "<= \(ratioText(maxAsync))", ok: asyncCPU <= maxAsync),
                    Check(what: "requests per server CPU-second reactor async/Hummingbird, \(loadName(depth))", value: ratioText(asyncToHB),
                          target: ">= \(ratioText(minAsyncEfficiencyToHummingbird))", ok: asyncToHB >= minAsyncEfficiencyToHummingbird),
                    Check(what: "allocs/request reactor async, \(loadName(depth))", value: allocationsText(asyncAllocs),
                          target: "<= \(fixed(maxAsyncAllocationsPerRequest, 0))", ok: asyncAllocs <= maxAsyncAllocationsPerRequest),
                ]
            } else {
                ratios.append("\(loadName(depth)): CPU ns/request reactor async/callback \(ratioText(asyncCPU)), "
                    + "requests per server CPU-second reactor async/Hummingbird \(ratioText(asyncToHB)), "
                    + "allocs/request reactor async \(allocationsText(asyncAllocs))")
            }
            ratios.append("\(loadName(depth)): requests per server CPU-second: "
                + [Row.reactor, Row.reactorAsync, Row.hummingbird, Row.nio].map { "\(servers[$0].name) \(grouped(1e9 / med($0, \.cpuPerItem)))" }
                    .joined(separator: ", "))
            ratios.append("\(loadName(depth)): requests/s reactor/C \(ratioText(toC)), "
                + "CPU ns/request SwiftNIO/C \(ratioText(med(Row.nio, \.cpuPerItem) / med(Row.c, \.cpuPerItem))), "
                + "Hummingbird/C \(ratioText(med(Row.hummingbird, \.cpuPerItem) / med(Row.c, \.cpuPerItem)))")
            if let instructions, let r = instructions[Row.reactor][depth], let c = instructions[Row.c][depth], let n = instructions[Row.nio][depth] {
                ratios.append("\(loadName(depth)): instructions/request reactor/C \(ratioText(r / c)), reactor/SwiftNIO \(ratioText(r / n))")
            }
        }

        var md = """
            ## \(name)

            `GET \(path)` (the async row: `GET /plaintext-async`, the same demo) from wrk (`-t1 -c\(connections)`, pinned to CPU \(CPU.load)), without pipelining and with \
            16 requests per write (`wrk/pipeline.lua`); servers on CPU \(CPU.server). \(fixed(t.warmup, 0)) s warmup + \
            \(fixed(t.measure, 0)) s measured inside one wrk run, median of \(t.repetitions) run(s) per server and load, servers alternating\
            \(context.options.quick ? " (--quick: targets not enforced)" : ""). \(machineLine()).

            requests/s: wrk's. CPU ns/request: server CPU time (all threads, /proc/PID/task/*/schedstat) over the window / \
            requests in it (wrk's rate x the window). allocs/request: malloc-family calls in the server over the window \
            (LD_PRELOAD counter) / requests. \
            \(context.options.syscalls ? "syscalls/request: `perf stat` on the syscall tracepoints in one extra run per server and load. " : "")\
            \(instructions != nil ? "instructions/request: user-space instructions (callgrind Ir) per request over \(grouped(Double(Callgrind.requests))) requests on one connection, sent one at a time or 16 per write, after a warmup (kernel work not included). " : "")\
            other CPU: busy time of the whole machine (/proc/stat) not spent in the server or wrk. \
            \(context.buildTimesLine)


            """
        md += markdownTable(header, rows) + "\n\n"
        md += checks.map(\.line).joined(separator: "\n") + "\n"
        md += ratios.map { "- \($0)" }.joined(separator: "\n") + "\n"
        if let warning = sharedMachineWarning(samples.values.flatMap { $0.joined() }) { md += warning }
        if context.options.syscalls {
            md += "\nSyscalls per request (one extra run per server and load with `perf stat` counting):\n"
            for depth in depths {
                for (i, server) in servers.enumerated() {
                    let parts = SyscallCounter.calls.compactMap { call -> String? in
                        guard let v = syscallSamples[depth]?[i]?.syscallsPerItem?[call], v > 0 else { return nil }
                        return "\(call) \(fixed(v, 3))"
                    }
                    md += "- \(loadName(depth)), \(server.name): \(parts.joined(separator: ", "))\n"
                }
            }
        }
        md += "\nRuns:\n"
        for depth in depths {
            for (i, server) in servers.enumerated() {
                for (r, s) in samples[depth]![i].enumerated() {
                    md += "- \(loadName(depth)), \(server.name) #\(r + 1): \(describe(s)), \(grouped(s.count)) requests in \(fixed(s.seconds, 2)) s\n"
                }
            }
        }
        func medians(_ f: (WindowSample) -> Double) -> [[Double]] {
            depths.map { d in servers.indices.map { median(samples[d]![$0].map(f)) } }
        }
        let chart = Chart.throughputAndCPU(
            scenario: name, subtitle: "GET \(path), wrk -c\(connections); median of \(t.repetitions) run(s) per server; \(machineLine())",
            loads: depths.map(loadName), servers: servers.map(\.name),
            throughputUnit: "requests/s", throughput: medians(\.perSecond), cpuUnit: "ns/request", cpu: medians(\.cpuPerItem))
        return Report(markdown: md, targetsMet: checks.allSatisfy(\.ok), charts: [chart])
    }
}
