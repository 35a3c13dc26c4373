import Foundation

/// External tools a scenario needs (wrk, valgrind, perf), installed from Debian's
/// packages when missing. CI runs the benchmarks as root on a fresh machine, so the
/// runner installs them itself there; anyone else is told the command to run.
enum Tools {
    /// Makes sure `command` is in PATH, installing Debian package `package` if the
    /// runner is root; throws with the command to run otherwise.
    static func ensure(_ command: String, package: String, why: String) throws {
        if (try? resolveExecutable(command)) != nil { return }
        guard geteuid() == 0 else {
            throw BenchError("\(command) is needed for \(why) but is not installed: run `sudo apt-get install -y \(package)`")
        }
        say("\(command) is not installed: apt-get install -y \(package) (needed for \(why))")
        let started = monotonicSeconds()
        // A fresh machine may have no package lists at all: update once if the install fails.
        if (try? aptGet(["install", "-y", "--no-install-recommends", package])) == nil {
            try aptGet(["update"])
            try aptGet(["install", "-y", "--no-install-recommends", package])
        }
        guard (try? resolveExecutable(command)) != nil else {
            throw BenchError("apt-get installed \(package) but \(command) is still not in PATH")
        }
        say("installed \(package) in \(fixed(monotonicSeconds() - started, 1)) s")
    }

    private static func aptGet(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try resolveExecutable("apt-get"))
        // Another apt-get (a colleague's, the machine's own) may hold dpkg's lock: wait for it.
        process.arguments = ["-q", "-o", "DPkg::Lock::Timeout=300"] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["DEBIAN_FRONTEND": "noninteractive"]) { $1 }
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchError("apt-get \(arguments.joined(separator: " ")) failed (status \(process.terminationStatus))")
        }
    }
}
