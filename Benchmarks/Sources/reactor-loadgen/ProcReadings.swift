import Glibc

/// Readings from /proc and the clock, taken at the edges of a measured window: the same
/// figures C/loadgen.c samples, so the runner treats every load generator alike.
enum ProcReadings {
    /// CLOCK_MONOTONIC in nanoseconds.
    static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// This process's CPU time (user + kernel), nanoseconds.
    static func ownCPUNanoseconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) * 1e9 + Double(ts.tv_nsec)
    }

    /// CPU time of every thread of `pid` (first field of /proc/PID/task/*/schedstat); -1 if gone.
    static func cpuNanoseconds(of pid: Int32) -> Double {
        guard pid > 0, let dir = opendir("/proc/\(pid)/task") else { return -1 }
        defer { closedir(dir) }
        var total = 0.0
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            guard name.first?.isNumber == true,
                  let text = readText("/proc/\(pid)/task/\(name)/schedstat"),
                  let first = text.split(separator: " ").first, let ns = Double(first) else { continue }
            total += ns
        }
        return total
    }

    /// Busy time of all CPUs (every state but idle and iowait) from /proc/stat, nanoseconds.
    static func machineBusyNanoseconds() -> Double {
        guard let text = readText("/proc/stat"), let line = text.split(separator: "\n").first else { return 0 }
        let ticks = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard ticks.count >= 8 else { return 0 }
        let busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6] + ticks[7]
        return busy * 1e9 / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// VmRSS of `pid` in KiB; -1 if it cannot be read.
    static func rssKiB(of pid: Int32) -> Int {
        guard pid > 0, let text = readText("/proc/\(pid)/status"),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kib = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return -1 }
        return kib
    }

    /// Raises this process's soft RLIMIT_NOFILE to its hard limit; returns the soft limit.
    @discardableResult
    static func raiseOpenFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return Int(limit.rlim_cur)
    }

    static func readText(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// The figures at one edge of the measured window.
struct WindowEdge {
    let nanoseconds: UInt64
    let serverCPU: Double
    let ownCPU: Double
    let machineBusy: Double

    static func now(serverPID: Int32) -> WindowEdge {
        WindowEdge(nanoseconds: ProcReadings.monotonicNanoseconds(), serverCPU: ProcReadings.cpuNanoseconds(of: serverPID),
                   ownCPU: ProcReadings.ownCPUNanoseconds(), machineBusy: ProcReadings.machineBusyNanoseconds())
    }
}
