import Foundation

/// A process the runner started: a server under test, a load generator, a profiler.
///
/// Its stdout and stderr go to a log file rather than a pipe, so a chatty child can
/// never block on a full pipe and the log is still there to show when it fails.
/// Every child is entered in `ChildTable` until it is stopped, so that an error path
/// (`Child.stopAll()`) or a SIGINT/SIGTERM to the runner kills what is left.
final class Child {
    let name: String
    let logPath: String
    private let process = Process()

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// Starts `command` (its first word is looked up in PATH unless it is a path).
    init(name: String, command: [String], environment: [String: String] = [:], logPath: String) throws {
        guard let program = command.first else { throw BenchError("\(name): empty command") }
        self.name = name
        self.logPath = logPath
        guard FileManager.default.createFile(atPath: logPath, contents: nil) else {
            throw BenchError("\(name): cannot create \(logPath)")
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        defer { try? log.close() } // the child holds its own copy of the descriptor
        process.executableURL = URL(fileURLWithPath: try resolveExecutable(program))
        process.arguments = Array(command.dropFirst())
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        do {
            try process.run()
        } catch {
            throw BenchError("\(name): cannot start \(command.joined(separator: " ")): \(error)")
        }
        ChildTable.add(process.processIdentifier)
    }

    /// Waits until the child exits or `timeout` seconds pass; returns its exit status
    /// (128 + signal if a signal killed it), or nil if it is still running.
    func wait(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() >= deadline { return nil }
            usleep(10_000)
        }
        ChildTable.remove(pid)
        let status = process.terminationStatus
        return process.terminationReason == .uncaughtSignal ? 128 + status : status
    }

    /// Asks the child to exit (SIGTERM), then insists (SIGKILL) after two seconds.
    func stop() {
        if process.isRunning {
            kill(pid, SIGTERM)
            if wait(timeout: 2) == nil {
                kill(pid, SIGKILL)
                process.waitUntilExit()
            }
        }
        ChildTable.remove(pid)
    }

    /// The last lines of the child's output, to explain a failure.
    func logTail(lines: Int = 15) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        let tail = text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines)
        return tail.map { "    | \($0)" }.joined(separator: "\n")
    }

    /// Kills every child still running: the runner's error path.
    static func stopAll() { ChildTable.killAll() }
}

/// The pids of running children, in a fixed table of plain words so that the SIGINT
/// handler can read it: a handler may not take a lock the interrupted code holds.
/// Single-threaded writes from the runner, a racy read from the handler: at worst the
/// handler misses a child that was being added at that very instant.
enum ChildTable {
    private static let capacity = 64
    nonisolated(unsafe) private static let slots: UnsafeMutablePointer<Int32> = {
        let p = UnsafeMutablePointer<Int32>.allocate(capacity: capacity)
        p.initialize(repeating: 0, count: capacity)
        return p
    }()

    static func add(_ pid: Int32) {
        if let free = (0..<capacity).first(where: { slots[$0] == 0 }) { slots[free] = pid }
    }

    static func remove(_ pid: Int32) {
        for i in 0..<capacity where slots[i] == pid { slots[i] = 0 }
    }

    static func killAll() {
        for i in 0..<capacity where slots[i] != 0 {
            kill(slots[i], SIGKILL)
            slots[i] = 0
        }
    }

    /// On SIGINT, SIGTERM or SIGHUP the runner kills its children and exits. A caught
    /// handler (unlike SIG_IGN) is reset by exec, so the children keep default actions.
    static func installSignalCleanup() {
        _ = slots // initialize the table now, never lazily inside the handler
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { sig in
                ChildTable.killAll()
                _exit(128 + sig)
            }
            sigaction(sig, &action, nil)
        }
    }
}

/// The runner's one error type: a message for the user.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Finds `program` in PATH, the way a shell would.
func resolveExecutable(_ program: String) throws -> String {
    if program.contains("/") { return program }
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for dir in path.split(separator: ":") {
        let candidate = "\(dir)/\(program)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    throw BenchError("\(program) not found in PATH")
}

/// Runs a command to completion with the runner's own stdout and stderr, or with its
/// stdout captured and returned; throws if it fails.
@discardableResult
func runToCompletion(_ command: [String], captureOutput: Bool = false, in directory: String? = nil) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try resolveExecutable(command[0]))
    process.arguments = Array(command.dropFirst())
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let pipe = Pipe()
    if captureOutput { process.standardOutput = pipe }
    try process.run()
    // Read before waiting: a child blocked on a full pipe would never exit.
    let output = captureOutput ? pipe.fileHandleForReading.readDataToEndOfFile() : Data()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw BenchError("failed (status \(process.terminationStatus)): \(command.joined(separator: " "))")
    }
    return String(decoding: output, as: UTF8.self)
}
