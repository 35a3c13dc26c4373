import Foundation

/// One measured run of one server under one load, in the scenarios whose figures are
/// per request or per message (http-plaintext, websocket-echo): the same figures as
/// tcp-echo's, taken the same way.
struct WindowSample {
    /// Requests or messages completed in the window.
    var count: Double
    var seconds: Double
    var serverCPUNanoseconds: Double
    /// The load generator's CPU time (wrk or ws_loadgen).
    var loadCPUNanoseconds: Double
    /// Busy time of all CPUs together (/proc/stat), to see what else ran.
    var machineBusyNanoseconds: Double
    var allocations: Int
    /// Syscalls per request or message by name, plus "total" (only from a --syscalls run).
    var syscallsPerItem: [String: Double]?

    var perSecond: Double { count / seconds }
    var cpuPerItem: Double { serverCPUNanoseconds / count }
    var allocationsPerItem: Double { Double(allocations) / count }
    var serverBusy: Double { serverCPUNanoseconds / (seconds * 1e9) }
    var loadBusy: Double { loadCPUNanoseconds / (seconds * 1e9) }
    /// CPU that went to neither the server nor the load generator, in CPUs (0.1 = 10% of one).
    var otherBusy: Double { max(0, machineBusyNanoseconds - serverCPUNanoseconds - loadCPUNanoseconds) / (seconds * 1e9) }

    /// The figures from the two edges of a window the runner marked itself.
    init(count: Double, start: WindowEdge, end: WindowEdge, allocations: Int) throws {
        guard let s0 = start.server, let s1 = end.server else { throw BenchError("could not read the server's CPU time from /proc") }
        self.count = count
        seconds = end.time - start.time
        serverCPUNanoseconds = s1 - s0
        loadCPUNanoseconds = (end.load ?? 0) - (start.load ?? 0)
        machineBusyNanoseconds = (end.machine ?? 0) - (start.machine ?? 0)
        self.allocations = allocations
    }

    /// The figures from a load generator's result line (ws_loadgen, as loadgen.c prints them).
    init(loadgenLine values: [String: String], allocations: Int) throws {
        func number(_ key: String) throws -> Double {
            guard let v = values[key].flatMap(Double.init) else { throw BenchError("load generator result lacks \(key)") }
            return v
        }
        count = try number("messages")
        seconds = try number("seconds")
        serverCPUNanoseconds = try number("server_cpu_ns")
        loadCPUNanoseconds = try number("loadgen_cpu_ns")
        machineBusyNanoseconds = try number("machine_busy_ns")
        self.allocations = allocations
        guard serverCPUNanoseconds >= 0 else { throw BenchError("could not read the server's CPU time from /proc") }
    }
}

/// A target and whether it was met, one line of a report.
struct Check {
    let what: String
    let value: String
    let target: String
    let ok: Bool

    var line: String { "- \(what): \(value) (target \(target)) \(ok ? "PASS" : "MISS")" }
}

/// Above this much CPU going to other processes (in CPUs), a full run measures again and
/// the report warns that the machine was shared (the threshold tcp-echo uses).
let maxOtherBusy = 0.10

/// "0 allocations per request": fewer than one per 10,000, as in tcp-echo.
let maxAllocationsPerItem = 0.0001

/// Runs `measure(serverIndex, server, label)` `repetitions` times for every server,
/// servers alternating so a slow phase of the VM hits them alike. A full run that shared
/// the machine with something else (other CPU above 10% of one) is measured again, twice
/// at most, and the quietest attempt kept, as tcp-echo does.
func alternatingRuns(_ context: Context, _ servers: [ServerSpec], label: String,
                     describe: (WindowSample) -> String,
                     measure: (Int, ServerSpec, String) throws -> WindowSample) throws -> [[WindowSample]] {
    var samples = Array(repeating: [WindowSample](), count: servers.count)
    for repetition in 1...context.timing.repetitions {
        for (i, server) in servers.enumerated() {
            let runLabel = "\(label)-\(i)-\(repetition)"
            var sample = try measure(i, server, runLabel)
            say("  \(server.name) run \(repetition): \(describe(sample))")
            var retries = context.options.quick ? 0 : 2
            var last = sample
            while last.otherBusy > maxOtherBusy && retries > 0 {
                retries -= 1
                say("    other processes took \(percent(last.otherBusy)) of a CPU: measuring again")
                last = try measure(i, server, runLabel)
                say("  \(server.name) run \(repetition): \(describe(last))")
                if last.otherBusy < sample.otherBusy { sample = last }
            }
            samples[i].append(sample)
        }
    }
    return samples
}

func allocationsText(_ perItem: Double) -> String { perItem == 0 ? "0" : fixed(perItem, 4) }

func ratioText(_ r: Double) -> String { "\(fixed(r, 2))x" }

/// The warning tcp-echo prints when a kept run still shared the machine.
func sharedMachineWarning(_ samples: [WindowSample]) -> String? {
    let worst = samples.map(\.otherBusy).max() ?? 0
    guard worst > maxOtherBusy else { return nil }
    return "- WARNING: up to \(percent(worst)) of a CPU went to other processes during a run: "
        + "the machine was shared, so these figures are suspect (CPU per request holds up far better than throughput).\n"
}

/// Runs a short-lived helper (a checking client, a load generator) to completion and
/// returns its last output line that starts with `prefix`; throws with its output on failure.
func runHelper(_ name: String, _ command: [String], label: String, timeout: Double, expect prefix: String,
               server: RunningServer?, _ context: Context) throws -> String {
    let child = try Child(name: name, command: command, logPath: context.logPath(label))
    defer { child.stop() }
    guard let status = child.wait(timeout: timeout) else {
        throw BenchError("\(name) did not finish within \(Int(timeout)) s:\n\(child.logTail())")
    }
    guard status == 0 else {
        let why = status == 2 ? "the server's answers were wrong" : "status \(status)"
        var message = "\(name) failed (\(why)):\n\(child.logTail())"
        if let server { message += "\n  server output:\n\(server.child.logTail())" }
        throw BenchError(message)
    }
    let log = (try? String(contentsOfFile: child.logPath, encoding: .utf8)) ?? ""
    guard let line = log.split(separator: "\n").last(where: { $0.hasPrefix(prefix) }) else {
        throw BenchError("\(name) printed no result:\n\(child.logTail())")
    }
    return String(line)
}
