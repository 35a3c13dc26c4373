import Foundation

/// Idle connection memory: RSS per idle WebSocket connection at 10,000 and 100,000 connections,
/// the reactor's demo (`GET /echo`, and for issue 16 its async echo `GET /echo-async`) against the
/// C epoll WebSocket server, SwiftNIO's and Hummingbird 2's (Sources/hb-websocket), each
/// upgraded connection held open by the load generator written on the reactor
/// (`reactor-loadgen idle`; past 20,000 connections it connects from 127.0.0.2, .3, ... since one
/// source address has about 28,000 ephemeral ports).
///
/// RSS is the server's VmRSS after the connections are upgraded and idle for a second, minus
/// VmRSS after a warm-up of 64 connections, over the number of connections: user-space memory,
/// the part a runtime decides; the kernel's socket buffers are the same for every server.
/// 100,000 connections need RLIMIT_NOFILE above 100,000 on both sides; the runner raises it
/// when it may (CAP_SYS_RESOURCE) and otherwise measures as many as the limit allows, and says so.
struct IdleMemory: Scenario {
    let name = "idle-memory"
    let summary = "RSS per idle WebSocket connection at 10,000 and 100,000 connections: reactor (callback, async) vs C epoll vs SwiftNIO vs Hummingbird"

    let counts = [10_000, 100_000]
    /// Issue 18's bar.
    let maxBytesPerConnection = 300.0

    struct Result {
        var server: String
        var connections: Int
        var values: [String: String]
        func n(_ key: String) -> Double { values[key].flatMap(Double.init) ?? .nan }
        var bytesPerConnection: Double { n("bytes_per_conn") }
    }

    func run(_ context: Context) throws -> Report {
        let loadgen = try context.benchProduct("reactor-loadgen")
        let cServer = context.cProgram("ws_server")
        let baseline = ServerSpec(name: "C epoll (ceiling)") { port in [cServer, String(port)] }
        let reactor = try context.reactorServer(product: "echo", arguments: ["--max-connections", "200000"])
        let nio = try context.peerServer(name: "SwiftNIO (1 thread)", product: "nio-websocket")
        let reactorAsync = reactor.at("/echo-async", name: PeerName.reactorAsync)
        let hummingbird = try context.peerServer(name: PeerName.hummingbird, product: "hb-websocket")
        let servers = [baseline, reactor, nio, reactorAsync, hummingbird]
        let limit = Proc.openFileLimit() - 500
        var results: [Result] = []
        var notes: [String] = []
        for wanted in counts {
            let connections = min(wanted, limit)
            if connections < wanted {
                notes.append("\(grouped(Double(wanted))) connections asked for, \(grouped(Double(connections))) measured: RLIMIT_NOFILE is \(grouped(Double(limit + 500))) (raising it needs CAP_SYS_RESOURCE, which this machine withholds even from root)")
            }
            say("  -- \(grouped(Double(connections))) connections")
            for (i, server) in servers.enumerated() {
                let label = "\(name)-\(connections)-\(i)"
                let port = try context.ports.take()
                let running = try RunningServer(server, port: port, label: label, context: context)
                defer { running.stop() }
                let line = try runHelper("reactor-loadgen idle",
                                         ["taskset", "-c", CPU.load, loadgen, "idle", "--port", String(port),
                                          "--connections", String(connections), "--path", server.path(or: "/echo"), "--server-pid", String(running.pid)],
                                         label: "\(label)-loadgen", timeout: 300, expect: "conns=", server: running, context)
                let result = Result(server: server.name, connections: connections, values: parseKeyValues(line))
                say("  \(server.name): \(fixed(result.bytesPerConnection, 0)) bytes/connection "
                    + "(RSS \(grouped(result.n("rss_before_kb"))) -> \(grouped(result.n("rss_upgraded_kb"))) KiB, "
                    + "\(fixed(result.n("upgrade_seconds"), 2)) s to upgrade them)")
                results.append(result)
            }
        }
        var checks: [Check] = []
        for connections in Set(results.map(\.connections)).sorted() {
            guard let r = results.first(where: { $0.connections == connections && $0.server == reactor.name }) else { continue }
            checks.append(Check(what: "RSS per idle connection, reactor, \(grouped(Double(connections))) connections",
                                value: "\(fixed(r.bytesPerConnection, 0)) bytes", target: "<= \(fixed(maxBytesPerConnection, 0)) bytes",
                                ok: r.bytesPerConnection <= maxBytesPerConnection))
        }
        // Issue 16: RSS per idle async WebSocket, beside Hummingbird's (reported, no target).
        for connections in Set(results.map(\.connections)).sorted() {
            func bytes(_ name: String) -> String {
                results.first { $0.connections == connections && $0.server == name }.map { "\(fixed($0.bytesPerConnection, 0)) bytes" } ?? "?"
            }
            notes.append("\(grouped(Double(connections))) connections, RSS per idle WebSocket: \(PeerName.reactorAsync) \(bytes(PeerName.reactorAsync)), "
                + "\(PeerName.hummingbird) \(bytes(PeerName.hummingbird)) (reactor callback \(bytes(reactor.name)))")
        }
        let rows = results.map { r in
            [grouped(Double(r.connections)), r.server, grouped(r.n("rss_before_kb")), grouped(r.n("rss_upgraded_kb")),
             fixed(r.bytesPerConnection, 0), fixed(r.n("upgrade_seconds"), 2)]
        }
        var md = """
            ## \(name)

            Upgraded WebSocket connections (`GET /echo`; the async row: `GET /echo-async`) held idle by `reactor-loadgen idle` (pinned to CPU \(CPU.load)); servers on \
            CPU \(CPU.server). bytes/conn: (VmRSS with the connections upgraded and idle 1 s - VmRSS after a warm-up of 64 \
            connections) / connections. \(machineLine()).


            """
        md += markdownTable(["connections", "server", "RSS before KiB", "RSS upgraded KiB", "bytes/conn", "upgrade s"], rows) + "\n\n"
        md += checks.map(\.line).joined(separator: "\n") + "\n"
        md += notes.map { "- \($0)" }.joined(separator: "\n") + (notes.isEmpty ? "" : "\n")
        let sizes = Array(Set(results.map(\.connections))).sorted()
        let chart = Chart(
            fileSuffix: "", title: "RSS per idle WebSocket connection", subtitle: "upgraded, idle 1 s; user-space memory (VmRSS)",
            groups: sizes.map { "\(grouped(Double($0))) connections" },
            panels: [Chart.Panel(title: "bytes per connection (lower is better)", series: servers.map { server in
                Chart.Series(name: server.name, values: sizes.map { n in
                    results.first { $0.connections == n && $0.server == server.name }?.bytesPerConnection
                })
            })])
        return Report(markdown: md, targetsMet: checks.allSatisfy(\.ok), charts: [chart])
    }
}
