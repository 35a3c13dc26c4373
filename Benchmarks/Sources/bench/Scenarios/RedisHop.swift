import Foundation

/// The added latency of the Redis hop (issue #10): publish-to-delivery latency for a few chat
/// WebSocket subscribers (few, so that the fan-out does not bury the hop), open loop at a fixed
/// rate, in three set-ups of the reactor's demo:
///
/// - one process, no Redis: the room lives in the process;
/// - one process with `--redis`: the same, but every message is numbered by Redis (a Lua call)
///   and comes back through its pub/sub before delivery;
/// - two processes sharing Redis: the publisher on the first, the subscribers on the second, so
///   every message crosses processes through Redis.
///
/// Debian's redis-server runs on a loopback port (installed when missing, as root). The servers
/// and Redis share CPU 1; the load generator (`reactor-loadgen broadcast --publish-port`) has CPU 0.
struct RedisHop: Scenario {
    let name = "redis-hop"
    let summary = "publish-to-delivery latency p50/p99, 10 WebSocket subscribers at 1,000 msgs/s: one process vs one process through Redis vs two processes through Redis"

    let subscribers = 10
    let rate = 1_000.0

    struct Setup {
        let title: String
        let redis: Bool
        let twoProcesses: Bool
    }
    let setups = [
        Setup(title: "one process", redis: false, twoProcesses: false),
        Setup(title: "one process, through Redis", redis: true, twoProcesses: false),
        Setup(title: "two processes, through Redis", redis: true, twoProcesses: true),
    ]

    func run(_ context: Context) throws -> Report {
        try Tools.ensure("redis-server", package: "redis-server", why: "the redis-hop scenario")
        let loadgen = try context.benchProduct("reactor-loadgen")
        let redisPort = try context.ports.take()
        let redis = try Child(
            name: "redis-server",
            command: ["taskset", "-c", CPU.server, try resolveExecutable("redis-server"), "--port", String(redisPort),
                      "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            logPath: context.logPath("\(name)-redis"))
        defer { redis.stop() }
        try Ports.waitUntilListening(redis, port: redisPort, timeout: 10)
        let url = "redis://127.0.0.1:\(redisPort)"

        var results: [(Setup, [String: String])] = []
        for (i, setup) in setups.enumerated() {
            let spec = try context.reactorServer(product: "echo", arguments: setup.redis ? ["--redis", url] : [])
            let subscriberPort = try context.ports.take()
            let subscriberServer = try RunningServer(spec, port: subscriberPort, label: "\(name)-\(i)-sub", context: context)
            defer { subscriberServer.stop() }
            var publisherServer: RunningServer?
            if setup.twoProcesses {
                publisherServer = try RunningServer(spec, port: try context.ports.take(), label: "\(name)-\(i)-pub", context: context)
            }
            defer { publisherServer?.stop() }
            let publishPort = publisherServer?.port ?? subscriberPort
            let line = try runHelper(
                "reactor-loadgen broadcast",
                ["taskset", "-c", CPU.load, loadgen, "broadcast", "--port", String(subscriberPort), "--publish-port", String(publishPort),
                 "--transport", "ws", "--subscribers", String(subscribers), "--rate", fixed(rate, 0), "--room", "hop\(i)",
                 "--warmup", String(context.timing.warmup), "--measure", String(context.timing.measure),
                 "--server-pid", String(subscriberServer.pid)],
                label: "\(name)-\(i)-loadgen", timeout: context.timing.warmup + context.timing.measure + 120,
                expect: "deliveries=", server: subscriberServer, context)
            let values = parseKeyValues(line)
            say("  \(setup.title): p50 \(values["p50_us"] ?? "?") us, p99 \(values["p99_us"] ?? "?") us to the last of \(subscribers) deliveries")
            results.append((setup, values))
        }

        func n(_ v: [String: String], _ key: String) -> Double { v[key].flatMap(Double.init) ?? .nan }
        let base = results[0].1
        func signed(_ v: Double) -> String { (v >= 0 ? "+" : "") + fixed(v, 0) }
        let rows = results.map { setup, v in
            [setup.title, fixed(n(v, "p50_us"), 0), fixed(n(v, "p99_us"), 0), fixed(n(v, "p999_us"), 0),
             signed(n(v, "p50_us") - n(base, "p50_us")), signed(n(v, "p99_us") - n(base, "p99_us")),
             grouped(n(v, "deliveries") / n(v, "seconds"))]
        }
        var md = """
            ## \(name)

            \(grouped(Double(subscribers))) chat WebSocket subscribers in one room, a WebSocket publisher, \(fixed(rate, 0)) messages/s \
            open loop (latency from each message's intended publish time to its last delivery); the reactor's `echo` \
            processes and Debian's redis-server on CPU \(CPU.server), `reactor-loadgen` on CPU \(CPU.load). \
            \(fixed(context.timing.warmup, 0)) s warmup + \(fixed(context.timing.measure, 0)) s measured, one run each\
            \(context.options.quick ? " (--quick)" : ""). \(machineLine()).


            """
        md += markdownTable(["set-up", "p50 us", "p99 us", "p99.9 us", "p50 added", "p99 added", "deliveries/s"], rows) + "\n\n"
        let hop = n(results[2].1, "p50_us") - n(base, "p50_us")
        md += "- the Redis hop between two processes adds \(fixed(hop, 0)) us at the median "
            + "(\(fixed(n(results[2].1, "p99_us") - n(base, "p99_us"), 0)) us at p99) to the time the last of \(grouped(Double(subscribers))) "
            + "subscribers gets a message: Redis numbers the message (a Lua call) and its pub/sub carries it to the other process.\n"
        let chart = Chart(
            fileSuffix: "", title: "redis-hop: publish to last delivery", subtitle: "\(grouped(Double(subscribers))) WebSocket subscribers, \(fixed(rate, 0)) msgs/s",
            groups: setups.map(\.title),
            panels: [Chart.Panel(title: "latency, us (lower is better)", series: [
                Chart.Series(name: "p50", values: results.map { n($0.1, "p50_us") }),
                Chart.Series(name: "p99", values: results.map { n($0.1, "p99_us") }),
            ])])
        return Report(markdown: md, targetsMet: true, charts: [chart])
    }
}
