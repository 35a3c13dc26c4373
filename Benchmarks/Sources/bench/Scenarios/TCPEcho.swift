import Foundation

/// TCP echo: the reactor's `echo --tcp` against a minimal C epoll echo server (the
/// ceiling), under the same closed-loop load from C/loadgen.c.
///
/// On these 2-core machines the load generator usually saturates its CPU before the
/// server does, so messages/s mostly measures the load generator; server CPU time per
/// message is the fairer figure and carries the tighter target.
struct TCPEcho: Scenario {
    let name = "tcp-echo"
    let summary = "TCP echo, 64 connections x 8 in flight x 32-byte messages: reactor vs a minimal C epoll server"

    let connections = 64
    let messageSize = 32
    let inFlight = 8

    // Targets, reactor relative to the C server.
    let minThroughputRatio = 0.90
    let maxCPUPerMessageRatio = 1.15
    /// "0 allocations per message": fewer than one per 10,000 messages, so that a stray
    /// allocation in the window (a log line, a timer) does not count as one per message.
    let maxAllocationsPerMessage = 0.0001
    /// Above this much CPU going to other processes (in CPUs), the report warns that the
    /// machine was shared. Kernel work such as softirqs may land outside both processes, so not 0.
    let maxOtherBusy = 0.10

    /// One measured run of one server.
    struct Sample {
        var messages: Double
        var seconds: Double
        var serverCPUNanoseconds: Double
        var loadgenCPUNanoseconds: Double
        /// Busy time of all CPUs together (/proc/stat), to see what else ran.
        var machineBusyNanoseconds: Double
        var allocations: Int
        /// Syscalls per message by name, plus "total" (only from a --syscalls run).
        var syscallsPerMessage: [String: Double]?

        var messagesPerSecond: Double { messages / seconds }
        var cpuPerMessage: Double { serverCPUNanoseconds / messages }
        var allocationsPerMessage: Double { Double(allocations) / messages }
        var serverBusy: Double { serverCPUNanoseconds / (seconds * 1e9) }
        var loadgenBusy: Double { loadgenCPUNanoseconds / (seconds * 1e9) }
        /// CPU that went to neither the server nor the load generator, in CPUs (0.1 = 10% of one):
        /// anything well above zero means the machine was shared and the figures are suspect.
        var otherBusy: Double { max(0, machineBusyNanoseconds - serverCPUNanoseconds - loadgenCPUNanoseconds) / (seconds * 1e9) }
    }

    func run(_ context: Context) throws -> Report {
        let cServer = context.cProgram("echo_server")
        let baseline = ServerSpec(name: "C epoll (ceiling)") { port in [cServer, String(port)] }
        let reactor = try context.reactorServer(product: "echo", arguments: ["--tcp"])
        let servers = [baseline, reactor]

        // Alternate the servers run by run, so a slow phase of the VM hits both alike.
        // A full run that shared the machine with something else is tried again (twice
        // at most) and the quietest attempt kept: these VMs are often busy with builds,
        // and msgs/s suffers most.
        var samples = Array(repeating: [Sample](), count: servers.count)
        for repetition in 1...context.timing.repetitions {
            for (i, server) in servers.enumerated() {
                let label = "\(name)-\(i)-\(repetition)"
                var sample = try measure(server, label: label, countSyscalls: false, context)
                say("  \(server.name) run \(repetition): \(describe(sample))")
                var last = sample
                var retries = context.options.quick ? 0 : 2
                while last.otherBusy > maxOtherBusy && retries > 0 {
                    retries -= 1
                    say("    other processes took \(percent(last.otherBusy)) of a CPU: measuring again")
                    last = try measure(server, label: label, countSyscalls: false, context)
                    say("  \(server.name) run \(repetition): \(describe(last))")
                    if last.otherBusy < sample.otherBusy { sample = last } // keep the quietest
                }
                samples[i].append(sample)
            }
        }
        // Syscall counts come from an extra run each, so that perf never perturbs the timed runs.
        var syscallSamples: [Sample?] = Array(repeating: nil, count: servers.count)
        if context.options.syscalls {
            for (i, server) in servers.enumerated() {
                let sample = try measure(server, label: "\(name)-\(i)-syscalls", countSyscalls: true, context)
                say("  \(server.name) syscall count run: \(fixed(sample.syscallsPerMessage?["total"] ?? 0, 3)) syscalls/msg")
                syscallSamples[i] = sample
            }
        }
        return report(servers, samples, syscallSamples, context)
    }

    /// Starts `server`, drives it with the load generator, and stops it.
    private func measure(_ spec: ServerSpec, label: String, countSyscalls: Bool, _ context: Context) throws -> Sample {
        let timing = context.timing
        let port = try context.ports.take()
        let server = try RunningServer(spec, port: port, label: label, context: context)
        defer { server.stop() }

        let loadgen = try Child(
            name: "loadgen",
            command: ["taskset", "-c", CPU.load, context.cProgram("loadgen"),
                      "-p", String(port), "-c", String(connections), "-s", String(messageSize),
                      "-d", String(inFlight), "-w", String(timing.warmup), "-t", String(timing.measure),
                      "-P", String(server.pid), "-S"],
            logPath: context.logPath("\(label)-loadgen")
        )
        defer { loadgen.stop() }

        var syscalls: [String: Int]?
        var countedSeconds = 0.0
        if countSyscalls {
            // Count inside the window with a margin at each end; per message it is a rate, so
            // the counting window need not match the load generator's exactly.
            usleep(UInt32((timing.warmup + 0.3) * 1e6))
            countedSeconds = max(0.5, timing.measure - 0.6)
            syscalls = try SyscallCounter.count(pid: server.pid, seconds: countedSeconds,
                                                logPath: context.logPath("\(label)-perf"))
        }

        guard let status = loadgen.wait(timeout: timing.warmup + timing.measure + 30) else {
            throw BenchError("loadgen against \(spec.name) did not finish:\n\(loadgen.logTail())")
        }
        guard status == 0 else {
            let why = status == 2 ? "the echoed bytes did not match what was sent" : "status \(status)"
            throw BenchError("loadgen against \(spec.name) failed (\(why)):\n\(loadgen.logTail())\n  server output:\n\(server.child.logTail())")
        }
        guard server.child.isRunning else {
            throw BenchError("\(spec.name) exited during the run:\n\(server.child.logTail())")
        }
        let log = (try? String(contentsOfFile: loadgen.logPath, encoding: .utf8)) ?? ""
        guard let line = log.split(separator: "\n").last(where: { $0.hasPrefix("messages=") }) else {
            throw BenchError("loadgen printed no result:\n\(loadgen.logTail())")
        }
        let values = parseKeyValues(line)
        func number(_ key: String) throws -> Double {
            guard let v = values[key].flatMap(Double.init) else { throw BenchError("loadgen result lacks \(key): \(line)") }
            return v
        }
        var sample = Sample(
            messages: try number("messages"), seconds: try number("seconds"),
            serverCPUNanoseconds: try number("server_cpu_ns"), loadgenCPUNanoseconds: try number("loadgen_cpu_ns"),
            machineBusyNanoseconds: try number("machine_busy_ns"),
            allocations: try server.allocationsInWindow().allocations, syscallsPerMessage: nil
        )
        guard sample.messages > 0 else { throw BenchError("\(spec.name) echoed no message in the measured window") }
        guard sample.serverCPUNanoseconds >= 0 else { throw BenchError("could not read \(spec.name)'s CPU time from /proc") }
        if let counts = syscalls {
            // perf counted for countedSeconds inside the window: divide by the messages echoed meanwhile.
            let messagesCounted = sample.messagesPerSecond * countedSeconds
            sample.syscallsPerMessage = counts.mapValues { Double($0) / messagesCounted }
        }
        return sample
    }

    private func describe(_ s: Sample) -> String {
        "\(grouped(s.messagesPerSecond)) msgs/s, \(grouped(s.cpuPerMessage)) CPU ns/msg, "
            + "\(s.allocations) allocations in window, server CPU \(percent(s.serverBusy)), "
            + "loadgen CPU \(percent(s.loadgenBusy)), other CPU \(percent(s.otherBusy))"
    }

    private func report(_ servers: [ServerSpec], _ samples: [[Sample]], _ syscallSamples: [Sample?], _ context: Context) -> Report {
        let t = context.timing
        func med(_ i: Int, _ f: (Sample) -> Double) -> Double { median(samples[i].map(f)) }

        var header = ["server", "msgs/s", "CPU ns/msg", "CPU ns/msg range", "allocs/msg", "server CPU", "loadgen CPU", "other CPU"]
        if context.options.syscalls { header.append("syscalls/msg") }
        var rows: [[String]] = []
        for (i, server) in servers.enumerated() {
            let cpus = samples[i].map(\.cpuPerMessage)
            var row = [server.name, grouped(med(i, \.messagesPerSecond)), grouped(med(i, \.cpuPerMessage)),
                       "\(grouped(cpus.min()!))-\(grouped(cpus.max()!))",
                       allocationsText(med(i, \.allocationsPerMessage)),
                       percent(med(i, \.serverBusy)), percent(med(i, \.loadgenBusy)), percent(med(i, \.otherBusy))]
            if context.options.syscalls { row.append(syscallSamples[i]?.syscallsPerMessage?["total"].map { fixed($0, 3) } ?? "?") }
            rows.append(row)
        }

        let throughput = med(1, \.messagesPerSecond) / med(0, \.messagesPerSecond)
        let cpu = med(1, \.cpuPerMessage) / med(0, \.cpuPerMessage)
        let allocs = med(1, \.allocationsPerMessage)
        let checks = [
            ("msgs/s reactor/C", "\(fixed(throughput, 2))x", ">= \(fixed(minThroughputRatio, 2))x", throughput >= minThroughputRatio),
            ("CPU ns/msg reactor/C", "\(fixed(cpu, 2))x", "<= \(fixed(maxCPUPerMessageRatio, 2))x", cpu <= maxCPUPerMessageRatio),
            ("allocs/msg reactor", allocationsText(allocs), "0", allocs < maxAllocationsPerMessage),
        ]

        var md = """
            ## \(name)

            \(connections) connections, \(messageSize)-byte messages, \(inFlight) in flight per connection (closed loop). \
            Server on CPU \(CPU.server), load generator on CPU \(CPU.load). \(fixed(t.warmup, 0)) s warmup + \
            \(fixed(t.measure, 0)) s measured, median of \(t.repetitions) run(s) per server, servers alternating\
            \(context.options.quick ? " (--quick: targets not enforced)" : ""). \(machineLine()).

            CPU ns/msg: server CPU time (all threads, /proc/PID/task/*/schedstat) over the measured window / messages echoed in it. \
            allocs/msg: malloc-family calls in the server over the window (LD_PRELOAD counter) / messages. \
            other CPU: busy time of the whole machine (/proc/stat) not spent in the server or the load generator.


            """
        md += markdownTable(header, rows) + "\n\n"
        for (what, value, target, ok) in checks {
            md += "- \(what): \(value) (target \(target)) \(ok ? "PASS" : "MISS")\n"
        }
        let worstOther = samples.joined().map(\.otherBusy).max() ?? 0
        if worstOther > maxOtherBusy {
            md += "- WARNING: up to \(percent(worstOther)) of a CPU went to other processes during a run: "
                + "the machine was shared, so these figures are suspect; rerun on a quiet machine.\n"
        }
        if context.options.syscalls {
            md += "\nSyscalls per message (one extra run per server with `perf stat` counting):\n"
            for (i, server) in servers.enumerated() {
                let parts = SyscallCounter.calls.compactMap { call -> String? in
                    guard let v = syscallSamples[i]?.syscallsPerMessage?[call], v > 0 else { return nil }
                    return "\(call) \(fixed(v, 3))"
                }
                md += "- \(server.name): \(parts.joined(separator: ", "))\n"
            }
        }
        md += "\nRuns:\n"
        for (i, server) in servers.enumerated() {
            for (r, s) in samples[i].enumerated() {
                md += "- \(server.name) #\(r + 1): \(describe(s)), \(grouped(s.messages)) messages in \(fixed(s.seconds, 2)) s\n"
            }
        }
        let chart = Chart.throughputAndCPU(
            scenario: name, subtitle: "median of \(t.repetitions) run(s) per server; \(machineLine())",
            loads: ["\(connections) conns x \(inFlight) in flight x \(messageSize) B"], servers: servers.map(\.name),
            throughputUnit: "msgs/s", throughput: [servers.indices.map { med($0, \.messagesPerSecond) }],
            cpuUnit: "ns/msg", cpu: [servers.indices.map { med($0, \.cpuPerMessage) }])
        return Report(markdown: md, targetsMet: checks.allSatisfy { $0.3 }, charts: [chart])
    }

    private func allocationsText(_ perMessage: Double) -> String {
        perMessage == 0 ? "0" : fixed(perMessage, 4)
    }
}
