import Foundation

/// `bench gate`: the deterministic performance gate CI runs (see Benchmarks/README.md, "The
/// gate"). Each path of `GatePath.all` is measured in user-space instructions (callgrind) and
/// heap allocations (the malloc counter) per operation, against the committed budgets.
///
/// Exit status: 0 every path within its budget; 1 a path over it (instructions by more than
/// 3%, or any allocation more), or without a budget; 2 something failed (a build, a server, a
/// client that saw a wrong answer).
enum Gate {
    /// Instructions may exceed their budget by this fraction before the gate fails: room for
    /// the residue that does move (the timer wheel's sweep grows with wall time; about 0.1%),
    /// and for small changes that are not worth a budget commit. Allocations get none.
    static let instructionTolerance = 0.03

    struct Arguments {
        var budgets: String?
        var writeBudgets = false
        var repetitions = 1
        var reactorBinDir: String?
        var injectRegression = false
        var paths: [String] = []

        static let usage = """
            usage: bench gate [--budgets FILE] [--write-budgets] [--repeat N] [--reactor-bin-dir DIR]
                              [--inject-regression] [--list] [path ...]

              --budgets FILE     the budget file (default Benchmarks/gate/budgets.txt)
              --write-budgets    measure, then write the figures to the budget file as the new
                                 budgets (re-baselining; commit it with before/after figures)
              --repeat N         measure every path N times and print the spread; the smallest
                                 instruction count and the largest allocation count are judged
              --reactor-bin-dir DIR   measure DIR/echo instead of building the root package's
              --inject-regression     preload gate/regression.c into the server (about 6,000
                                 instructions and one allocation more per loop turn): the gate
                                 must fail; for its self-test (gate/selftest.sh)
              --list             list the paths and how each is measured

            Measures every path when none is named. Exit status: 0 within budget, 1 over a
            budget (instructions by more than 3%, or any allocation), 2 something failed.
            """

        static func parse(_ arguments: [String]) throws -> Arguments {
            var options = Arguments()
            var rest = arguments[...]
            func value(_ flag: String) throws -> String {
                guard let v = rest.popFirst() else { throw BenchError("\(flag) needs a value") }
                return v
            }
            while let arg = rest.popFirst() {
                switch arg {
                case "--budgets": options.budgets = try value(arg)
                case "--write-budgets": options.writeBudgets = true
                case "--repeat":
                    guard let n = Int(try value(arg)), (1...10).contains(n) else { throw BenchError("--repeat takes 1 to 10") }
                    options.repetitions = n
                case "--reactor-bin-dir": options.reactorBinDir = try value(arg)
                case "--inject-regression": options.injectRegression = true
                case "--list":
                    for path in GatePath.all { say("\(path.name)\t\(path.how)") }
                    exit(0)
                case "-h", "--help": throw BenchError("")
                case _ where arg.hasPrefix("-"): throw BenchError("unknown option \(arg)")
                default:
                    guard GatePath.all.contains(where: { $0.name == arg }) else {
                        throw BenchError("unknown path \(arg); known: \(GatePath.all.map(\.name).joined(separator: ", "))")
                    }
                    options.paths.append(arg)
                }
            }
            if options.writeBudgets && options.injectRegression {
                throw BenchError("--write-budgets with --inject-regression would make the regression the budget")
            }
            return options
        }
    }

    /// What the repetitions of one path measured.
    struct Measured {
        let path: GatePath
        var instructions: [Double] = []
        var allocations: [Double] = []

        /// The figures judged: noise only adds instructions (a slower run sweeps more timer
        /// slots), so the smallest count is the path's own; allocations do not vary, so the
        /// largest is as good as any and errs towards failing.
        var judged: Budget { Budget(instructions: instructions.min() ?? 0, allocations: allocations.max() ?? 0) }
        var instructionSpread: Double {
            guard let lo = instructions.min(), let hi = instructions.max(), lo > 0 else { return 0 }
            return (hi - lo) / lo
        }
    }

    static func main(_ arguments: [String]) -> Never {
        let options: Arguments
        do {
            options = try Arguments.parse(arguments)
        } catch {
            let message = "\(error)"
            FileHandle.standardError.write(Data(((message.isEmpty ? "" : "bench gate: \(message)\n\n") + Arguments.usage + "\n").utf8))
            exit(message.isEmpty ? 0 : 2)
        }
        ChildTable.installSignalCleanup()
        do {
            let status = try run(options)
            Child.stopAll()
            exit(status)
        } catch {
            Child.stopAll()
            FileHandle.standardError.write(Data("bench gate: FAILED: \(error)\n".utf8))
            exit(2)
        }
    }

    private static func run(_ options: Arguments) throws -> Int32 {
        let started = monotonicSeconds()
        var runnerOptions = Options()
        runnerOptions.reactorBinDir = options.reactorBinDir
        let context = Context(options: runnerOptions)
        let budgetFile = options.budgets ?? "\(context.benchDir)/gate/budgets.txt"
        // Read first: a missing or malformed file should fail before minutes of measuring.
        let budgets: [String: Budget] = options.writeBudgets && !FileManager.default.fileExists(atPath: budgetFile)
            ? [:] : try Budgets.read(budgetFile)

        try Tools.ensure("valgrind", package: "valgrind", why: "bench gate")
        _ = try resolveExecutable("python3")
        try FileManager.default.createDirectory(atPath: context.logDir, withIntermediateDirectories: true)
        let cc = ["cc", "-O2", "-Wall", "-Wextra", "-shared", "-fPIC"]
        try runToCompletion(cc + ["-o", context.mallocCounter, "\(context.benchDir)/C/malloc_counter.c", "-ldl"])
        var regression: String?
        if options.injectRegression {
            regression = context.cProgram("regression.so")
            try runToCompletion(cc + ["-o", regression!, "\(context.benchDir)/gate/regression.c", "-ldl"])
        }
        let echo = try context.rootProduct("echo")
        // Without objcopy valgrind reads the debug sections too: slower, same instructions.
        let copy = "\(context.logDir)/gate-echo.bin"
        try? FileManager.default.removeItem(atPath: copy)
        let stripped = (try? runToCompletion(["objcopy", "--strip-debug", echo, copy], captureOutput: true)) != nil ? copy : echo
        let measurer = GateMeasurer(context: context, echoForValgrind: stripped, echo: echo,
                                    client: "\(context.benchDir)/gate/client.py", regression: regression)

        let selected = options.paths.isEmpty ? GatePath.all : GatePath.all.filter { options.paths.contains($0.name) }
        var results: [Measured] = []
        for path in selected {
            var measured = Measured(path: path)
            for repetition in 1...options.repetitions {
                let label = "gate-\(path.name)-\(repetition)"
                let pathStarted = monotonicSeconds()
                let ir = try measurer.instructions(path, label: label)
                let (count, operations) = try measurer.allocations(path, label: "\(label)-malloc")
                measured.instructions.append(ir)
                measured.allocations.append(Double(count) / Double(operations))
                say("  \(path.name) run \(repetition): \(fixed(ir, 1)) instructions/op, \(count) allocations "
                    + "in \(grouped(Double(operations))) ops (\(fixed(monotonicSeconds() - pathStarted, 1)) s)")
            }
            results.append(measured)
        }

        say("")
        say(table(results, budgets: budgets, repetitions: options.repetitions))
        say("")
        // A run of every path on this tree's own build is the gate's named run: its report
        // goes where the scenarios' go, for Benchmarks/docs.py to bring into BENCHMARKS.md.
        if selected.count == GatePath.all.count && !options.injectRegression && options.reactorBinDir == nil {
            let file = "\(context.resultsDir)/gate.md"
            try FileManager.default.createDirectory(atPath: context.resultsDir, withIntermediateDirectories: true)
            try report(results, budgets: budgets, repetitions: options.repetitions, rootDir: context.rootDir)
                .write(toFile: file, atomically: true, encoding: .utf8)
            say("(written to \(file))")
        }
        let seconds = fixed(monotonicSeconds() - started, 0)
        if options.writeBudgets {
            // Rows for paths not measured this time keep their old figures.
            let figures = GatePath.all.compactMap { path -> (path: GatePath, budget: Budget)? in
                if let m = results.first(where: { $0.path.name == path.name }) { return (path, m.judged) }
                return budgets[path.name].map { (path, $0) }
            }
            try Budgets.text(figures).write(toFile: budgetFile, atomically: true, encoding: .utf8)
            say("bench gate: wrote the measured figures to \(budgetFile) (\(seconds) s); commit them with the figures before and after")
            return 0
        }
        let over = results.filter { verdict($0.judged, budgets[$0.path.name]) != nil }
        if over.isEmpty {
            say("bench gate: every path within its budget (\(seconds) s)")
            return 0
        }
        say("bench gate: FAILED: \(over.map(\.path.name).joined(separator: ", ")) over budget (\(seconds) s)")
        return 1
    }

    /// The gate's section of BENCHMARKS.md: this run's table, and each path against the bar an
    /// issue set for it (reported, not enforced: the budgets are what CI enforces).
    static func report(_ results: [Measured], budgets: [String: Budget], repetitions: Int, rootDir: String) -> String {
        let commit = (try? runToCompletion(["git", "-C", rootDir, "describe", "--always", "--dirty"], captureOutput: true))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
        var lines = [
            "## gate",
            "",
            "Deterministic counts (callgrind instructions in user space, heap allocations from the malloc",
            "counter, steady state after a warm-up) on the release `echo` demo, judged by CI against",
            "`Benchmarks/gate/budgets.txt` (3% over an instruction budget, or any allocation over, fails).",
            "`swift run -c release --package-path Benchmarks bench gate` on \(commit), \(machineLine()).",
            "",
            table(results, budgets: budgets, repetitions: repetitions),
            "",
        ]
        for m in results {
            guard let bar = m.path.bar else { continue }
            let judged = m.judged
            if let most = bar.instructions {
                lines.append(Check(what: "user-space instructions \(bar.what) (\(m.path.name))", value: grouped(judged.instructions),
                                   target: "<= \(grouped(most)), \(bar.issue)", ok: judged.instructions <= most).line)
            }
            lines.append(Check(what: "heap allocations \(bar.what) (\(m.path.name))", value: Budgets.allocationText(judged.allocations),
                               target: "\(bar.allocations == 0 ? "0" : "<= \(Budgets.allocationText(bar.allocations))"), \(bar.issue)",
                               ok: judged.allocations <= bar.allocations + 1e-9).line)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Why `figures` fail `budget`, or nil if they pass.
    static func verdict(_ figures: Budget, _ budget: Budget?) -> String? {
        guard let budget else { return "no budget" }
        var why: [String] = []
        if figures.instructions > budget.instructions * (1 + instructionTolerance) {
            why.append("instructions +\(fixed((figures.instructions / budget.instructions - 1) * 100, 1))%")
        }
        // The file keeps allocations rounded up to 1e-6 per operation; one allocation more in
        // a window is at least 1/16,000.
        if figures.allocations > budget.allocations + 1e-9 {
            why.append("allocations")
        }
        return why.isEmpty ? nil : "OVER: " + why.joined(separator: ", ")
    }

    static func table(_ results: [Measured], budgets: [String: Budget], repetitions: Int) -> String {
        var header = ["path", "Ir/op budget", "Ir/op measured", "ratio", "allocs/op budget", "allocs/op measured"]
        if repetitions > 1 { header.append("Ir spread (\(repetitions) runs)") }
        header.append("verdict")
        var rows: [[String]] = []
        for m in results {
            let judged = m.judged
            let budget = budgets[m.path.name]
            var row = [m.path.name,
                       budget.map { grouped($0.instructions) } ?? "-",
                       fixed(judged.instructions, 1),
                       budget.map { "\(fixed(judged.instructions / $0.instructions, 3))x" } ?? "-",
                       budget.map { Budgets.allocationText($0.allocations) } ?? "-",
                       Budgets.allocationText(judged.allocations)]
            if repetitions > 1 { row.append("\(fixed(m.instructionSpread * 100, 2))%") }
            var verdictText = verdict(judged, budget) ?? "ok"
            if let budget, verdictText == "ok", judged.instructions < budget.instructions * (1 - instructionTolerance) {
                verdictText = "ok (\(fixed((1 - judged.instructions / budget.instructions) * 100, 1))% under: lower the budget?)"
            }
            row.append(verdictText)
            rows.append(row)
        }
        return markdownTable(header, rows)
    }
}
