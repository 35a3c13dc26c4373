import Foundation

/// Instructions per request under valgrind's callgrind (`--callgrind`).
///
/// Callgrind counts the instructions a process executes in user space (Ir), the same
/// total for the same binary and the same inputs whatever else the machine does, so it
/// is the steady figure where CPU time moves by 20% from run to run. It does not see
/// the kernel's share (most of a small request's cost: see CPU ns/request), and
/// valgrind runs the server one thread at a time, about 50 times slower.
///
/// The load must be repeatable too, so it is not wrk but `C/http_client.c`: one
/// connection, N requests in batches of D (D = 1: one at a time; D = 16: 16-deep
/// pipelining), each batch in one write and the next only after every answer came back,
/// so the server sees the same reads of the same sizes on every run.
///
/// Start-up is left out by zeroing the counters instead of subtracting a second, shorter
/// run: the server starts under callgrind, gets a warmup (2,000 pipelined and 200
/// single requests, so one-time costs such as first-use allocations and lazy tables are
/// paid), then `callgrind_control --zero`; after each measured batch of N requests,
/// `callgrind_control --dump` writes the instructions since the last zero or dump to a
/// file of its own. So each figure is (Ir of that dump) / N, with nothing but the N
/// requests and one connection's accept and close in it (under 0.1% at N = 10,000).
enum Callgrind {
    static let requests = 10_000

    /// Instructions per request at each depth, for one server.
    static func instructionsPerRequest(_ spec: ServerSpec, depths: [Int], label: String, _ context: Context) throws -> [Int: Double] {
        try Tools.ensure("valgrind", package: "valgrind", why: "--callgrind")
        let outFile = "\(context.logDir)/\(label).callgrind.out"
        removeDumps(outFile)
        // valgrind 3.19 gives up on some DWARF 5 that clang writes (SwiftNIO's C modules):
        // run a copy of the binary without debug sections. Its symbols stay, and the
        // instructions are the same.
        let original = spec.command(0).first ?? ""
        let copy = "\(context.logDir)/\(label).bin"
        try? FileManager.default.removeItem(atPath: copy)
        let binary = (try? runToCompletion(["objcopy", "--strip-debug", original, copy], captureOutput: true)) != nil ? copy : original
        let stripped = ServerSpec(name: spec.name, path: spec.path) { port in [binary] + spec.command(port).dropFirst() }
        let port = try context.ports.take()
        let server = try RunningServer(stripped, port: port, label: label, context: context,
                                       wrapper: ["valgrind", "--tool=callgrind", "--callgrind-out-file=\(outFile)"],
                                       readyTimeout: 180)
        defer { server.stop() }
        let client = context.cProgram("http_client")
        func load(_ n: Int, _ depth: Int, _ step: String) throws {
            _ = try runHelper("http_client", [client, "-p", String(port), "-n", String(n), "-d", String(depth),
                                              "-u", spec.path(or: "/plaintext")],
                              label: "\(label)-\(step)", timeout: 600, expect: "requests=", server: server, context)
        }
        try load(2000, 16, "warmup16")
        try load(200, 1, "warmup1")
        try control(["--zero", String(server.pid)], label: label, context)
        var result: [Int: Double] = [:]
        var seen = Set(dumps(outFile))
        for depth in depths {
            try load(requests, depth, "depth\(depth)")
            try control(["--dump", String(server.pid)], label: label, context)
            let deadline = Date().addingTimeInterval(30)
            var fresh: [String] = []
            while fresh.isEmpty && Date() < deadline {
                fresh = dumps(outFile).filter { !seen.contains($0) }
                if fresh.isEmpty { usleep(50_000) }
            }
            guard let file = fresh.first, let ir = summary(file) else {
                throw BenchError("callgrind wrote no dump for \(spec.name) (see \(server.child.logPath))")
            }
            seen.formUnion(fresh)
            result[depth] = ir / Double(requests)
        }
        return result
    }

    /// callgrind_control (it talks to the server through vgdb), its chatter in the log.
    private static func control(_ arguments: [String], label: String, _ context: Context) throws {
        let child = try Child(name: "callgrind_control", command: ["callgrind_control"] + arguments,
                              logPath: context.logPath("\(label)-control"))
        defer { child.stop() }
        guard child.wait(timeout: 60) == 0 else {
            throw BenchError("callgrind_control \(arguments.joined(separator: " ")) failed:\n\(child.logTail())")
        }
    }

    /// The dump files of one callgrind run: OUT.1, OUT.2, ...
    static func dumps(_ outFile: String) -> [String] {
        let dir = (outFile as NSString).deletingLastPathComponent
        let base = (outFile as NSString).lastPathComponent + "."
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { $0.hasPrefix(base) && Int($0.dropFirst(base.count)) != nil }
            .sorted { Int($0.dropFirst(base.count))! < Int($1.dropFirst(base.count))! }
            .map { "\(dir)/\($0)" }
    }

    static func removeDumps(_ outFile: String) {
        for file in dumps(outFile) + [outFile] { try? FileManager.default.removeItem(atPath: file) }
    }

    /// The "summary: N" line of a dump: instructions executed in its interval. The dump
    /// is written by the server process, so wait for it to be complete.
    static func summary(_ file: String) -> Double? {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            // "summary:" comes near the top, "totals:" is the last line: wait for that.
            if let text = try? String(contentsOfFile: file, encoding: .utf8) {
                let lines = text.split(separator: "\n")
                if lines.contains(where: { $0.hasPrefix("totals:") }),
                   let line = lines.first(where: { $0.hasPrefix("summary:") }) ?? lines.last(where: { $0.hasPrefix("totals:") }),
                   let ir = line.split(separator: " ").last.flatMap({ Double($0) }) {
                    return ir
                }
            }
            usleep(50_000)
        }
        return nil
    }
}
