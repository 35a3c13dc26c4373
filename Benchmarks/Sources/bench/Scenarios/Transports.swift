import Foundation

/// The transport comparison (issue #8): the same chat messages through the reactor's `echo` demo
/// over AJAX polling (1 s), long polling, SSE, WebSocket and Socket.IO (polling, polling upgraded
/// to WebSocket, WebSocket only): bytes on the wire per message, publish-to-delivery latency p50
/// and p99, and what each costs before its first message.
///
/// The runner starts the demo (pinned to the server's CPU) and runs `transports/compare.py`
/// (Python's standard library only, pinned to the load's CPU): hand-written clients over raw
/// sockets, so every byte is counted at the socket, and checked against the kernel's TCP_INFO.
/// The script's docstring says exactly what is counted and how; it prints one `result {json}`
/// line per transport, read here. No targets: this scenario describes, it does not judge.
struct Transports: Scenario {
    let name = "transports"
    let summary = "the same chat messages over AJAX polling, long polling, SSE, WebSocket and Socket.IO: bytes/message, latency p50/p99, set-up cost"

    /// One transport's figures, as compare.py prints them.
    struct Result: Decodable {
        let key: String
        let transport: String
        let messages: Int
        let received: Int
        let down_bytes_per_message: Double
        let up_bytes_per_message: Double
        let p50_ms: Double
        let p99_ms: Double
        let max_ms: Double
        let setup_round_trips: Int
        let setup_connections: Int
        let setup_up_bytes: Int
        let setup_down_bytes: Int
        let setup_ms: Double
        let requests: Int
        let pings: Int
        let seconds: Double
        let server_cpu_us_per_message: Double?
        /// CPU that went to neither the server nor the script during the messages, in CPUs.
        let other_cpu: Double
        let publisher_up_bytes_per_message: Double
    }

    /// Every transport compare.py runs, in its order: a missing one fails the scenario.
    static let transportCount = 7
    let intervalMilliseconds = 10
    let messageSize = 32

    func run(_ context: Context) throws -> Report {
        let python = try resolveExecutable("python3")
        let script = "\(context.benchDir)/transports/compare.py"
        let spec = try context.reactorServer(product: "echo", arguments: [])
        let port = try context.ports.take()
        let server = try RunningServer(spec, port: port, label: name, context: context)
        defer { server.stop() }

        let quick = context.options.quick
        let client = try Child(
            name: "compare.py",
            command: ["taskset", "-c", CPU.load, python, script, "--port", String(port),
                      "--server-pid", String(server.pid), "--interval-ms", String(intervalMilliseconds)]
                + (quick ? ["--quick"] : []),
            logPath: context.logPath("\(name)-client"))
        defer { client.stop() }

        // 7 transports x (1,000 messages x 10 ms + set-up), plus the 1 s polling tail: about 75 s;
        // the bound leaves room for a shared machine, and every socket in the script times out.
        let timeout: Double = quick ? 90 : 300
        let started = monotonicSeconds()
        var shown = 0
        var status: Int32?
        repeat {
            status = client.wait(timeout: 0.5)
            // Progress: the script's lines as they come (not its result lines, shown below).
            let lines = ((try? String(contentsOfFile: client.logPath, encoding: .utf8)) ?? "").split(separator: "\n")
            for line in lines.dropFirst(shown) where line.hasPrefix("run: ") || line.hasPrefix("FAILED") {
                say("  \(line)")
            }
            shown = lines.count
        } while status == nil && monotonicSeconds() - started < timeout
        guard let status else {
            throw BenchError("compare.py did not finish within \(Int(timeout)) s:\n\(client.logTail())")
        }
        guard status == 0 else {
            let why = status == 2 ? "a message was lost, duplicated, reordered or altered, or the server answered wrongly" : "status \(status)"
            throw BenchError("compare.py failed (\(why)):\n\(client.logTail())\n  server output:\n\(server.child.logTail())")
        }
        guard server.child.isRunning else {
            throw BenchError("\(spec.name) exited during the run:\n\(server.child.logTail())")
        }
        let log = (try? String(contentsOfFile: client.logPath, encoding: .utf8)) ?? ""
        let results = try log.split(separator: "\n").filter { $0.hasPrefix("result ") }.map { line in
            try JSONDecoder().decode(Result.self, from: Data(line.dropFirst("result ".count).utf8))
        }
        guard results.count == Self.transportCount else {
            throw BenchError("compare.py reported \(results.count) transports, expected \(Self.transportCount):\n\(client.logTail())")
        }
        for r in results where r.received != r.messages {
            throw BenchError("\(r.transport): \(r.received) of \(r.messages) messages arrived")
        }
        return report(results, context)
    }

    private func report(_ results: [Result], _ context: Context) -> Report {
        let n = results.first?.messages ?? 0
        let header = ["transport", "messages", "down B/msg", "up B/msg", "total B/msg", "p50 ms", "p99 ms",
                      "set-up round trips", "set-up conns", "set-up B down", "set-up B up", "set-up ms",
                      "requests", "server CPU us/msg", "other CPU"]
        let rows = results.map { r in
            [r.transport, "\(r.received)/\(r.messages)", fixed(r.down_bytes_per_message, 1), fixed(r.up_bytes_per_message, 1),
             fixed(r.down_bytes_per_message + r.up_bytes_per_message, 1), latency(r.p50_ms), latency(r.p99_ms),
             String(r.setup_round_trips), String(r.setup_connections), grouped(Double(r.setup_down_bytes)),
             grouped(Double(r.setup_up_bytes)), fixed(r.setup_ms, 2), grouped(Double(r.requests)),
             r.server_cpu_us_per_message.map { fixed($0, 1) } ?? "?", percent(r.other_cpu)]
        }
        var md = """
            ## \(name)

            The same \(grouped(Double(n))) chat messages (\(messageSize) bytes of text each, one every \(intervalMilliseconds) ms) \
            through the reactor's `echo` demo (on CPU \(CPU.server)) to one subscriber per transport, from one publisher: a \
            WebSocket on `/chat` for the chat's transports, a Socket.IO client over WebSocket emitting `chat {room, text}` on \
            `/chat` for Socket.IO's. Clients: `transports/compare.py` (Python standard library, hand-written over raw sockets, \
            on CPU \(CPU.load)), one transport at a time, each on a fresh room\(context.options.quick ? " (--quick)" : ""). \
            \(machineLine()).

            Bytes: the sum of send() and recv() lengths on the subscriber's connections, i.e. TCP payload: HTTP request and \
            status lines and headers, WebSocket framing, Engine.IO/Socket.IO packets included, TCP/IP headers not; each \
            connection's count is checked against the kernel's (TCP_INFO). Per message: from the end of set-up to the last \
            message, divided by the messages; down is server to subscriber. The publisher's bytes are not in them. The \
            clients send minimal requests (no cookies, User-Agent or cache-busting query), so the per-request transports' \
            figures are a floor. Latency: publish (just before the publisher's send) to parsed by the subscriber, one \
            process, one monotonic clock. Set-up: from the subscriber's first connect until it can receive (chat: the \
            room's cursor for the polling clients, the response head for SSE, the 101 for WebSocket; Socket.IO: the \
            handshake, CONNECT to `/chat`, and `join` acknowledged, with the probe and `5` for the upgrade): round trips \
            (request/response exchanges waited on; TCP handshakes are the conns column), bytes each way, time. requests: \
            HTTP requests after set-up. server CPU: the server's CPU time from the end of set-up to the last message \
            (the publisher's side included) / messages; at one message every \(intervalMilliseconds) ms the server sleeps \
            between messages, so this is mostly the cost of waking up for each one: a rough, noisy ordering of the \
            transports, not their cost under load. other CPU: busy time of the whole machine (/proc/stat) that went to \
            neither the server nor the script during the messages; above 10% of a CPU a full run measures that \
            transport again (three times at most in all) and keeps the quietest run.


            """
        md += markdownTable(header, rows) + "\n\n"
        md += "- every transport delivered all \(grouped(Double(n))) messages exactly once, in order, unaltered "
            + "(checked message by message, then for 0.3 s after the last)\n"
        let worstOther = results.map(\.other_cpu).max() ?? 0
        if worstOther > maxOtherBusy {
            md += "- WARNING: up to \(percent(worstOther)) of a CPU went to other processes during a run: "
                + "the machine was shared, and latency p99 shows it first.\n"
        }
        let pings = results.filter { $0.pings > 0 }
        if !pings.isEmpty {
            md += "- heartbeats answered after set-up: " + pings.map { "\($0.transport) \($0.pings)" }.joined(separator: ", ") + "\n"
        }
        let publishers = Dictionary(grouping: results, by: { $0.key.hasPrefix("socketio") ? "Socket.IO" : "chat WebSocket" })
        md += "- publisher's bytes up per message (not in the figures above): "
            + publishers.keys.sorted().map { "\($0) \(fixed(publishers[$0]!.map(\.publisher_up_bytes_per_message).max() ?? 0, 1))" }
                .joined(separator: ", ") + "\n"
        md += "- run time per transport (first publish to last delivery): "
            + results.map { "\($0.transport) \(fixed($0.seconds, 1)) s" }.joined(separator: ", ") + "\n"

        let groups = results.map(\.transport)
        let chart = Chart(
            fileSuffix: "", title: "transports: \(grouped(Double(n))) chat messages of \(messageSize) bytes through the reactor's echo demo",
            subtitle: "one every \(intervalMilliseconds) ms, one subscriber per transport; bytes = TCP payload counted at the socket; \(machineLine())",
            groups: groups,
            panels: [
                Chart.Panel(title: "bytes on the wire per message (headers and framing included)", series: [
                    Chart.Series(name: "down (server to subscriber)", values: results.map(\.down_bytes_per_message)),
                    Chart.Series(name: "up (subscriber to server)", values: results.map(\.up_bytes_per_message)),
                ], format: .significant),
                Chart.Panel(title: "publish-to-delivery latency (ms, log scale)", series: [
                    Chart.Series(name: "p50", values: results.map(\.p50_ms)),
                    Chart.Series(name: "p99", values: results.map(\.p99_ms)),
                ], logScale: true, format: .significant),
                Chart.Panel(title: "set-up before the first message (bytes)", series: [
                    Chart.Series(name: "down", values: results.map { Double($0.setup_down_bytes) }),
                    Chart.Series(name: "up", values: results.map { Double($0.setup_up_bytes) }),
                ]),
            ])
        return Report(markdown: md, targetsMet: true, charts: [chart])
    }

    private func latency(_ ms: Double) -> String { ms >= 100 ? fixed(ms, 0) : ms >= 10 ? fixed(ms, 1) : fixed(ms, 2) }
}
