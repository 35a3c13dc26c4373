import Foundation

/// The CPU split on these 2-core machines: the server under test has CPU 1 to itself,
/// the load generator CPU 0, so neither steals the other's cycles and per-server CPU
/// time is not blurred by migrations.
enum CPU {
    static let server = "1"
    static let load = "0"
    /// Both CPUs, for a run that cannot keep the two apart (scaling: a server with two loops).
    static let both = "0,1"
}

/// How to start one server under test: a display name and its command for a port, and
/// the path it serves the scenario's route at when that is not the scenario's own (the
/// reactor's async routes: `/plaintext-async`, `/echo-async`; a row is a server x path).
struct ServerSpec {
    let name: String
    var path: String? = nil
    let command: (UInt16) -> [String]

    /// The path to load: this server's own, else the scenario's.
    func path(or scenarioPath: String) -> String { path ?? scenarioPath }

    /// The same server loaded at another path, under another name.
    func at(_ path: String, name: String) -> ServerSpec {
        ServerSpec(name: name, path: path, command: command)
    }
}

extension Context {
    /// The reactor's server for a scenario: `<bin>/<product> <arguments> --port N`, built
    /// from the root package on first use, unless --reactor-cmd replaces it.
    func reactorServer(name: String = "reactor", product: String, arguments: [String]) throws -> ServerSpec {
        if let template = options.reactorCommand {
            let words = template.split(whereSeparator: \.isWhitespace).map(String.init)
            let cbuild = cBuildDir
            return ServerSpec(name: "\(name) [--reactor-cmd]") { port in
                words.map {
                    $0.replacingOccurrences(of: "{port}", with: String(port))
                        .replacingOccurrences(of: "{cbuild}", with: cbuild)
                }
            }
        }
        let binary = try rootProduct(product)
        return ServerSpec(name: name) { port in [binary] + arguments + ["--port", String(port)] }
    }

    /// A peer built from this package (`nio-http`, `hb-websocket`, ...): `<product> --port N`.
    func peerServer(name: String, product: String) throws -> ServerSpec {
        let binary = try benchProduct(product)
        return ServerSpec(name: name) { port in [binary, "--port", String(port)] }
    }
}

/// The names of the issue-16 rows, the same in every report.
enum PeerName {
    static let reactorAsync = "reactor async"
    static let hummingbird = "Hummingbird 2 (1 loop thread)"
    static let nioSSL = "SwiftNIO + NIOSSL (1 thread)"
}

/// A server under test, running pinned to `CPU.server` (or the CPU list `cpus`) with the
/// malloc counter preloaded.
///
/// The counter (C/malloc_counter.c) resets on SIGUSR1 and writes its counts on SIGUSR2;
/// the load generator sends both at the edges of the measured window.
final class RunningServer {
    let child: Child
    let port: UInt16
    private let counterFile: String

    var pid: Int32 { child.pid }

    /// `wrapper` goes between taskset and the server's command (valgrind, say); such a
    /// server runs without the malloc counter, which valgrind's own malloc would bypass.
    /// `environment` is added last (the gate's fixed hashing seed; an LD_PRELOAD list that
    /// names the counter and more).
    init(_ spec: ServerSpec, port: UInt16, label: String, context: Context,
         cpus: String = CPU.server, wrapper: [String] = [], environment: [String: String] = [:],
         readyTimeout: Double = 10) throws {
        self.port = port
        counterFile = "\(context.logDir)/\(label).allocs"
        try? FileManager.default.removeItem(atPath: counterFile)
        let counter = wrapper.isEmpty ? ["LD_PRELOAD": context.mallocCounter, "MALLOC_COUNTER_OUT": counterFile] : [:]
        child = try Child(
            name: spec.name,
            command: ["taskset", "-c", cpus] + wrapper + spec.command(port),
            environment: counter.merging(environment) { $1 },
            logPath: context.logPath(label)
        )
        do {
            try Ports.waitUntilListening(child, port: port, timeout: readyTimeout)
        } catch {
            child.stop()
            throw error
        }
    }

    /// Heap allocations (and frees) in the measured window. The SIGUSR2 handler writes
    /// the file asynchronously, so give it a moment to appear after the load generator exits.
    func allocationsInWindow() throws -> (allocations: Int, frees: Int) {
        let deadline = Date().addingTimeInterval(3)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: counterFile, encoding: .utf8), text.hasSuffix("\n") {
                let values = parseKeyValues(text)
                if let a = values["allocations"].flatMap(Int.init), let f = values["frees"].flatMap(Int.init) {
                    return (a, f)
                }
            }
            usleep(20_000)
        }
        throw BenchError("\(child.name): the malloc counter wrote nothing to \(counterFile) (was SIGUSR2 delivered?)")
    }

    func stop() { child.stop() }
}

/// Counts a process's system calls for a while with `perf stat` on the syscall
/// tracepoints: counting in the kernel costs far less than strace's ptrace stops,
/// which would slow the server so much that its batching, and so its syscalls per
/// message, would no longer be the real ones.
enum SyscallCounter {
    /// The calls an event-loop server makes per message, by the name of their tracepoint.
    static let calls = ["read", "recvfrom", "recvmsg", "readv", "write", "sendto", "sendmsg", "writev",
                        "epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl"]

    /// Counts for `seconds`; returns counts by syscall name plus "total" (all syscalls).
    static func count(pid: Int32, seconds: Double, logPath: String) throws -> [String: Int] {
        let perf = try start(pid: pid, seconds: seconds, logPath: logPath)
        defer { perf.stop() }
        return try finish(perf, seconds: seconds, logPath: logPath)
    }

    /// Starts counting for `seconds` in the background (for a window that a load
    /// generator such as wrk, which reports totals only, opens after it).
    static func start(pid: Int32, seconds: Double, logPath: String) throws -> Child {
        let events = (["raw_syscalls:sys_enter"] + calls.map { "syscalls:sys_enter_\($0)" }).joined(separator: ",")
        return try Child(
            name: "perf stat",
            command: ["perf", "stat", "-x", ",", "-o", logPath + ".csv", "-e", events, "-p", String(pid),
                      "--", "sleep", String(format: "%.3f", seconds)],
            logPath: logPath
        )
    }

    /// Waits for a count `start` began and reads it.
    static func finish(_ perf: Child, seconds: Double, logPath: String) throws -> [String: Int] {
        let out = logPath + ".csv"
        guard perf.wait(timeout: seconds + 15) == 0 else {
            throw BenchError("perf stat failed:\n\(perf.logTail())")
        }
        var counts: [String: Int] = [:]
        let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count > 2, let n = Int(fields[0]) else { continue }
            let event = fields[2]
            if event == "raw_syscalls:sys_enter" {
                counts["total"] = n
            } else if event.hasPrefix("syscalls:sys_enter_") {
                counts[String(event.dropFirst("syscalls:sys_enter_".count))] = n
            }
        }
        guard counts["total"] != nil else { throw BenchError("perf stat reported no syscall counts in \(out)") }
        return counts
    }
}
