import Foundation

/// Readings from /proc, for scenarios whose load generator (wrk) cannot take them:
/// the same figures `C/loadgen.c` samples at the edges of its window.
enum Proc {
    /// Nanoseconds on CPU (user + kernel) of all threads of `pid`: the first field of
    /// /proc/PID/task/*/schedstat, summed. nil if the process is gone.
    static func cpuNanoseconds(_ pid: Int32) -> Double? {
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return nil }
        var total = 0.0
        for task in tasks {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/schedstat", encoding: .utf8),
                  let first = text.split(separator: " ").first, let ns = Double(first) else { continue }
            total += ns
        }
        return total
    }

    /// Busy time of the whole machine (all CPUs, every state but idle and iowait) from
    /// /proc/stat, in nanoseconds; nil if it cannot be read.
    static func machineBusyNanoseconds() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = text.split(separator: "\n").first, line.hasPrefix("cpu ") else { return nil }
        let ticks = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard ticks.count >= 8 else { return nil }
        // user nice system idle iowait irq softirq steal
        let busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6] + ticks[7]
        return busy * 1e9 / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Resident set size of `pid` in KiB (VmRSS in /proc/PID/status).
    static func rssKiB(_ pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return nil }
        return line.split(whereSeparator: \.isWhitespace).dropFirst().first.flatMap { Int($0) }
    }

    /// Raises this process's soft limit on open files to the hard limit. The servers and
    /// load generators inherit it: the idle-connection test needs 10,000 sockets on each side.
    static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        // Root may raise the hard limit too: idle-memory holds 100,000 connections, a
        // descriptor on each side, where the default hard limit here is 20,000.
        if limit.rlim_max < rlim_t(wantedOpenFiles) {
            var raised = rlimit(rlim_cur: rlim_t(wantedOpenFiles), rlim_max: rlim_t(wantedOpenFiles))
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { return }
        }
        guard limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    /// Enough for 100,000 connections on each side of one machine, with room to spare.
    static let wantedOpenFiles = 262_144

    static func openFileLimit() -> Int {
        var limit = rlimit()
        return getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 ? Int(limit.rlim_cur) : 0
    }
}

/// The CPU times at one edge of a measured window, for a window the runner marks itself.
struct WindowEdge {
    let time: Double
    let server: Double?
    let load: Double?
    let machine: Double?

    static func now(server: Int32, load: Int32?) -> WindowEdge {
        WindowEdge(time: monotonicSeconds(), server: Proc.cpuNanoseconds(server),
                   load: load.flatMap { Proc.cpuNanoseconds($0) }, machine: Proc.machineBusyNanoseconds())
    }
}

/// CLOCK_MONOTONIC in seconds.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Sleeps until CLOCK_MONOTONIC reaches `deadline` (seconds).
func sleep(until deadline: Double) {
    let left = deadline - monotonicSeconds()
    if left > 0 { usleep(UInt32(left * 1e6)) }
}
