import Foundation

/// wrk (Debian's package), the HTTP load generator of http-plaintext.
///
/// wrk only reports totals at its end, so the runner marks the measured window itself:
/// it starts one wrk run of warmup + measure + about a second, samples the server's and
/// wrk's CPU time and signals the malloc counter at warmup and at warmup + measure, and
/// takes the requests in the window as wrk's requests/s times the window's length. One
/// continuous run, so the window holds no connection set-up or teardown: it is steady
/// state, and the connections' own allocations (accept, first request) fall before it.
enum Wrk {
    struct Result {
        var requests: Int
        var seconds: Double
        var requestsPerSecond: Double
        var non2xx: Int
        var connectErrors = 0, readErrors = 0, writeErrors = 0, timeouts = 0
    }

    static func ensureInstalled() throws {
        try Tools.ensure("wrk", package: "wrk", why: "the http-plaintext scenario")
    }

    /// The pipelining script (TechEmpower's): DEPTH requests per write.
    static func pipelineScript(_ context: Context) -> String { "\(context.benchDir)/wrk/pipeline.lua" }

    /// Starts wrk pinned to the load generator's CPU (or the CPU list `cpus`): one thread,
    /// `connections` connections, for `duration` whole seconds (wrk takes no fractions),
    /// `depth` requests per write (1: no script, plain wrk); `tls`: https:// (wrk's OpenSSL, no
    /// certificate verification; the handshakes happen as wrk connects, before the window).
    static func start(port: UInt16, path: String, connections: Int, depth: Int, duration: Int,
                      cpus: String = CPU.load, tls: Bool = false, label: String, _ context: Context) throws -> Child {
        var command = ["taskset", "-c", cpus, "wrk", "-t1", "-c\(connections)", "-d\(duration)s", "--timeout", "5s"]
        if depth > 1 { command += ["-s", pipelineScript(context)] }
        command.append("\(tls ? "https" : "http")://127.0.0.1:\(port)\(path)")
        if depth > 1 { command += ["--", String(depth)] }
        return try Child(name: "wrk", command: command, logPath: context.logPath("\(label)-wrk"))
    }

    /// Parses wrk's report:
    ///       123456 requests in 4.00s, 15.00MB read
    ///       Socket errors: connect 0, read 0, write 0, timeout 0
    ///       Non-2xx or 3xx responses: 5
    ///     Requests/sec:  30864.00
    static func parse(_ text: String) throws -> Result {
        var result = Result(requests: -1, seconds: 0, requestsPerSecond: -1, non2xx: 0)
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            let words = line.split(separator: " ")
            if line.contains(" requests in "), let n = Int(words[0]) {
                result.requests = n
                if words.count > 3 { result.seconds = seconds(String(words[3].dropLast())) } // "4.00s,"
            } else if line.hasPrefix("Requests/sec:"), let v = words.last.flatMap({ Double($0) }) {
                result.requestsPerSecond = v
            } else if line.hasPrefix("Non-2xx or 3xx responses:"), let v = words.last.flatMap({ Int($0) }) {
                result.non2xx = v
            } else if line.hasPrefix("Socket errors:") {
                // "Socket errors: connect 0, read 0, write 0, timeout 0"
                let fields = line.dropFirst("Socket errors:".count).split(separator: ",")
                for field in fields {
                    let kv = field.split(separator: " ")
                    guard kv.count == 2, let n = Int(kv[1]) else { continue }
                    switch kv[0] {
                    case "connect": result.connectErrors = n
                    case "read": result.readErrors = n
                    case "write": result.writeErrors = n
                    case "timeout": result.timeouts = n
                    default: break
                    }
                }
            }
        }
        guard result.requests >= 0, result.requestsPerSecond >= 0 else {
            throw BenchError("could not read wrk's report")
        }
        return result
    }

    /// "4.00s", "1.00m", "950.12ms" -> seconds.
    private static func seconds(_ text: String) -> Double {
        if text.hasSuffix("ms") { return (Double(text.dropLast(2)) ?? 0) / 1000 }
        if text.hasSuffix("us") { return (Double(text.dropLast(2)) ?? 0) / 1e6 }
        if text.hasSuffix("m") { return (Double(text.dropLast()) ?? 0) * 60 }
        if text.hasSuffix("s") { return Double(text.dropLast()) ?? 0 }
        return Double(text) ?? 0
    }
}
