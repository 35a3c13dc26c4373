import Foundation

/// How long and how often to measure.
struct Timing {
    var warmup: Double
    var measure: Double
    var repetitions: Int

    /// Full runs: long enough that a 10 s window averages out scheduler noise, and
    /// three alternating repetitions per server, reported as the median, because whole-run
    /// CPU figures still move by about 20% from run to run on these VMs.
    static let full = Timing(warmup: 3, measure: 10, repetitions: 3)
    /// CI: proves that everything builds, starts, echoes correctly and reports.
    static let quick = Timing(warmup: 1, measure: 2, repetitions: 1)
}

/// What a scenario gets from the runner: paths, options, built tools and ports.
final class Context {
    let options: Options
    let timing: Timing
    /// Benchmarks/, found from this source file so the runner works from any directory.
    let benchDir: String
    /// The root package: Benchmarks/..
    let rootDir: String
    /// Compiled C programs, and the logs of every child process (git-ignored: .build*).
    let cBuildDir: String
    let logDir: String
    let resultsDir: String
    var ports = PortAllocator()

    private var reactorBinDir: String?
    private var builtProducts: Set<String> = []
    private var benchBinDir: String?
    private var builtBenchProducts: Set<String> = []
    /// Every build the runner did and how long it took, for the reports.
    private(set) var buildTimes: [(what: String, seconds: Double)] = []

    init(options: Options) {
        self.options = options
        var timing = options.quick ? Timing.quick : Timing.full
        if let w = options.warmup { timing.warmup = w }
        if let m = options.measure { timing.measure = m }
        if let r = options.repetitions { timing.repetitions = r }
        self.timing = timing
        let sources = URL(fileURLWithPath: #filePath) // Benchmarks/Sources/bench/Context.swift
        let bench = sources.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        benchDir = bench.path
        rootDir = bench.deletingLastPathComponent().path
        cBuildDir = bench.appendingPathComponent(".build-c").path
        logDir = bench.appendingPathComponent(".build-c/logs").path
        resultsDir = bench.appendingPathComponent("results").path
    }

    /// The C programs every scenario may use, compiled fresh each run (well under a
    /// second) so a stale binary can never be measured.
    func compileCPrograms() throws {
        try FileManager.default.createDirectory(atPath: logDir, withIntermediateDirectories: true)
        let c = "\(benchDir)/C"
        let cc = ["cc", "-O2", "-Wall", "-Wextra"]
        try runToCompletion(cc + ["-o", cProgram("echo_server"), "\(c)/echo_server.c"])
        try runToCompletion(cc + ["-o", cProgram("loadgen"), "\(c)/loadgen.c"])
        for program in ["http_server", "ws_server"] {
            try runToCompletion(cc + ["-o", cProgram(program), "\(c)/\(program).c"])
        }
        // The clients that speak TLS with --tls (C/tls_client.h), and the handshake generator:
        // OpenSSL from Debian's libssl-dev, which the root package's TLS needs anyway.
        for program in ["http_client", "ws_loadgen", "tls_handshake"] {
            try runToCompletion(cc + ["-o", cProgram(program), "\(c)/\(program).c", "-lssl", "-lcrypto"])
        }
        try runToCompletion(cc + ["-shared", "-fPIC", "-o", mallocCounter, "\(c)/malloc_counter.c", "-ldl"])
    }

    func cProgram(_ name: String) -> String { "\(cBuildDir)/\(name)" }
    var mallocCounter: String { "\(cBuildDir)/malloc_counter.so" }

    /// Builds `product` of the root package in release mode (once per run) and returns
    /// its path. The scratch path is $REACTOR_SCRATCH, else the root's own .build.
    func rootProduct(_ product: String) throws -> String {
        if let dir = options.reactorBinDir {
            let path = "\(dir)/\(product)"
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw BenchError("--reactor-bin-dir: no executable \(path)")
            }
            return path
        }
        var scratch: [String] = []
        if let dir = ProcessInfo.processInfo.environment["REACTOR_SCRATCH"], !dir.isEmpty {
            scratch = ["--scratch-path", dir]
        }
        let base = ["swift", "build", "-c", "release", "--package-path", rootDir] + scratch
        if !builtProducts.contains(product) {
            say("building \(product) (release) in \(rootDir)")
            let started = monotonicSeconds()
            try runToCompletion(base + ["--product", product])
            recordBuild("root package: \(product)", since: started)
            builtProducts.insert(product)
        }
        if reactorBinDir == nil {
            reactorBinDir = try runToCompletion(base + ["--show-bin-path"], captureOutput: true)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return "\(reactorBinDir!)/\(product)"
    }

    /// Builds `product` of the Benchmarks package itself (the SwiftNIO servers) in release
    /// mode, once per run, in Benchmarks/.build: `swift run` has released that build
    /// folder's lock by the time the runner runs. The first build compiles swift-nio
    /// (minutes on 2 cores); later ones take seconds.
    func benchProduct(_ product: String) throws -> String {
        let base = ["swift", "build", "-c", "release", "--package-path", benchDir]
        if !builtBenchProducts.contains(product) {
            say("building \(product) (release) in \(benchDir)")
            let started = monotonicSeconds()
            try runToCompletion(base + ["--product", product])
            recordBuild("Benchmarks: \(product)", since: started)
            builtBenchProducts.insert(product)
        }
        if benchBinDir == nil {
            benchBinDir = try runToCompletion(base + ["--show-bin-path"], captureOutput: true)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return "\(benchBinDir!)/\(product)"
    }

    private func recordBuild(_ what: String, since started: Double) {
        let seconds = monotonicSeconds() - started
        buildTimes.append((what, seconds))
        say("  built in \(fixed(seconds, 1)) s")
    }

    /// One line for a report: the builds this run did so far (the first SwiftNIO build is slow).
    var buildTimesLine: String {
        buildTimes.isEmpty ? "" : "Builds this run: " + buildTimes.map { "\($0.what) \(fixed($0.seconds, 1)) s" }.joined(separator: ", ") + "."
    }

    func logPath(_ name: String) -> String { "\(logDir)/\(name).log" }
}
