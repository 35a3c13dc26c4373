import Foundation

/// Measures one path twice over, each time in a server of its own: once under callgrind for
/// its instructions, once under the malloc counter for its allocations (valgrind replaces
/// malloc, so the counter cannot ride along in the callgrind run).
///
/// Both runs see the same load (`gate/client.py`, strictly one step at a time, so the server
/// reads the same bytes in the same sizes every time) and the same server: the release `echo`
/// with the flags below and `SWIFT_DETERMINISTIC_HASHING=1`. That variable fixes the seed of
/// Swift's hashing, which is otherwise random per process: where a path looks a string up in a
/// Set or Dictionary (the Socket.IO emit does), a random seed moves collisions and so the
/// instruction count by up to 2% from run to run; with the seed fixed, runs agree to 0.1%. The
/// hashing costs the same either way.
struct GateMeasurer {
    let context: Context
    /// The echo binary without debug sections, for valgrind (it reads them slowly, and 3.19
    /// rejects some DWARF 5); its symbols and instructions are the original's.
    let echoForValgrind: String
    let echo: String
    let client: String
    /// A library preloaded into the server to regress it on purpose (the self-test), or nil.
    let regression: String?

    /// The demo as users run it, on loopback, quiet, with Socket.IO's heartbeat (25 s by
    /// default) pushed past the run so that no ping falls into a window.
    static let serverFlags = ["--host", "127.0.0.1", "--ping-interval", "300000", "--log-level", "warn"]
    static let environment = ["SWIFT_DETERMINISTIC_HASHING": "1"]

    /// Instructions per operation in the window.
    func instructions(_ path: GatePath, label: String) throws -> Double {
        let outFile = "\(context.logDir)/\(label).callgrind.out"
        Callgrind.removeDumps(outFile)
        var environment = Self.environment
        if let regression { environment["LD_PRELOAD"] = regression } // valgrind keeps it for its client
        let binary = echoForValgrind
        let spec = ServerSpec(name: "echo under callgrind") { port in [binary] + Self.serverFlags + path.serverFlags + ["--port", String(port)] }
        let port = try context.ports.take()
        let server = try RunningServer(spec, port: port, label: label, context: context,
                                       wrapper: ["valgrind", "--tool=callgrind", "--callgrind-out-file=\(outFile)"],
                                       environment: environment, readyTimeout: 120)
        defer { server.stop() }
        let operations = try runClient(path, marks: "callgrind", server: server, label: label)
        // The client's `--dump` returned once the command was taken; the file may still be
        // being written (Callgrind.summary waits for its last line).
        guard let file = Callgrind.dumps(outFile).first, let ir = Callgrind.summary(file) else {
            throw BenchError("callgrind wrote no dump for \(path.name) (see \(server.child.logPath))")
        }
        return ir / Double(operations)
    }

    /// Allocations in the window, and the operations it held.
    func allocations(_ path: GatePath, label: String) throws -> (count: Int, operations: Int) {
        var environment = Self.environment
        if let regression { environment["LD_PRELOAD"] = "\(context.mallocCounter):\(regression)" }
        let binary = echo
        let spec = ServerSpec(name: "echo") { port in [binary] + Self.serverFlags + path.serverFlags + ["--port", String(port)] }
        let port = try context.ports.take()
        let server = try RunningServer(spec, port: port, label: label, context: context, environment: environment)
        defer { server.stop() }
        let operations = try runClient(path, marks: "signals", server: server, label: label)
        return (try server.allocationsInWindow().allocations, operations)
    }

    private func runClient(_ path: GatePath, marks: String, server: RunningServer, label: String) throws -> Int {
        let line = try runHelper("gate client", ["python3", client, path.name, "--port", String(server.port),
                                                 "--pid", String(server.pid), "--marks", marks,
                                                 "--ops", String(path.steps), "--warmup", String(path.warmupSteps),
                                                 "--deadline", "300"],
                                 label: "\(label)-client", timeout: 320, expect: "ops=", server: server, context)
        guard let operations = parseKeyValues(line)["ops"].flatMap({ Int($0) }), operations > 0 else {
            throw BenchError("gate client printed no operation count: \(line)")
        }
        return operations
    }
}
