/// The runner's command line.
struct Options {
    var quick = false
    var list = false
    var syscalls = false
    var callgrind = false
    var warmup: Double?
    var measure: Double?
    var repetitions: Int?
    /// Replaces the reactor's server command in every scenario; `{port}` is replaced by
    /// the port and `{cbuild}` by Benchmarks/.build-c. Lets the harness be tested before
    /// the reactor exists, e.g. `--reactor-cmd '{cbuild}/echo_server {port}'`.
    var reactorCommand: String?
    /// Takes the root package's products (the reactor's `echo`) from this folder instead
    /// of building them: to measure a fixed build while the sources change under it.
    var reactorBinDir: String?
    var scenarios: [String] = []

    static let usage = """
        usage: bench [--quick] [--syscalls] [--callgrind] [--warmup S] [--measure S] [--repeat N]
                     [--reactor-cmd 'CMD ... {port}'] [--reactor-bin-dir DIR] [--list] [scenario ...]
               bench gate [options] [path ...]   (CI's budget gate: bench gate --help)

          --quick        1 s warmup, 2 s measured, 1 repetition; exits 0 even if targets are missed
          --syscalls     add one extra run per server with `perf stat` counting its syscalls
          --callgrind    http-plaintext: instructions per request, each server under valgrind's callgrind
          --warmup S, --measure S, --repeat N   override the timing
          --reactor-cmd  run this command instead of the reactor's server ({port}, {cbuild} expand)
          --reactor-bin-dir DIR   use the reactor's binaries in DIR (e.g. a release build of a
                         snapshot) instead of building the root package
          --list         list the scenarios

        Runs every scenario when none is named. Exit status: 0 done, 1 a target was missed
        (full runs only), 2 something failed (build, server start, echo mismatch).
        """

    static func parse(_ arguments: [String]) throws -> Options {
        var options = Options()
        var rest = arguments[...]
        func value(_ flag: String) throws -> String {
            guard let v = rest.popFirst() else { throw BenchError("\(flag) needs a value") }
            return v
        }
        func number(_ flag: String) throws -> Double {
            guard let v = Double(try value(flag)), v >= 0 else { throw BenchError("\(flag) needs a number") }
            return v
        }
        while let arg = rest.popFirst() {
            switch arg {
            case "--quick": options.quick = true
            case "--list": options.list = true
            case "--syscalls": options.syscalls = true
            case "--callgrind": options.callgrind = true
            case "--warmup": options.warmup = try number(arg)
            case "--measure": options.measure = try number(arg)
            case "--repeat": options.repetitions = max(1, Int(try number(arg)))
            case "--reactor-cmd": options.reactorCommand = try value(arg)
            case "--reactor-bin-dir": options.reactorBinDir = try value(arg)
            case "-h", "--help": throw BenchError("")
            case _ where arg.hasPrefix("-"): throw BenchError("unknown option \(arg)")
            default: options.scenarios.append(arg)
            }
        }
        return options
    }
}
