import Foundation

/// The tls scenario's report: its tables, issue 17's bar lines, and the runs.
extension TLSScenario {
    func report(wsServers: [ServerSpec], httpServers: [ServerSpec], kinds: [HandshakeKind],
                _ m: Measured, _ context: Context) -> Report {
        let t = context.timing
        var checks: [Check] = []
        var notes: [String] = []

        // Throughput: the echo loads, then HTTP.
        let header = ["load", "server", "per second", "server CPU ns/item", "CPU ns/item range", "allocs/item",
                      "items per server CPU-second", "server CPU", "loadgen CPU", "other CPU"]
        var rows: [[String]] = []
        func addRows(_ title: String, _ servers: [ServerSpec], _ runs: [[WindowSample]]) {
            for (i, server) in servers.enumerated() {
                let cpus = runs[i].map(\.cpuPerItem)
                func med(_ f: (WindowSample) -> Double) -> Double { median(runs[i].map(f)) }
                rows.append([title, server.name, grouped(med(\.perSecond)), grouped(med(\.cpuPerItem)),
                             "\(grouped(cpus.min()!))-\(grouped(cpus.max()!))", allocationsText(med(\.allocationsPerItem)),
                             grouped(1e9 / med(\.cpuPerItem)), percent(med(\.serverBusy)), percent(med(\.loadBusy)), percent(med(\.otherBusy))])
            }
        }
        for (l, load) in wsLoads.enumerated() {
            let runs = m.ws[l]
            addRows("WebSocket echo, \(load.title)", wsServers, runs)
            func cpu(_ i: Int) -> Double { median(runs[i].map(\.cpuPerItem)) }
            func allocs(_ i: Int) -> Double { median(runs[i].map(\.allocationsPerItem)) }
            let toPlain = cpu(WSRow.tls) / cpu(WSRow.plain)
            let toNIO = cpu(WSRow.nio) / cpu(WSRow.tls)  // messages per server CPU-second, TLS / NIOSSL
            let tlsAllocs = allocs(WSRow.tls)
            if l == 0 {
                checks += [
                    Check(what: "server CPU ns/msg reactor TLS/plain, WebSocket echo \(load.title)", value: ratioText(toPlain),
                          target: "<= \(ratioText(maxCPURatioToPlain))", ok: toPlain <= maxCPURatioToPlain),
                    Check(what: "msgs per server CPU-second reactor TLS/NIOSSL, WebSocket echo \(load.title)", value: ratioText(toNIO),
                          target: ">= \(ratioText(minEfficiencyToNIOSSL))", ok: toNIO >= minEfficiencyToNIOSSL),
                    Check(what: "allocs/msg reactor TLS, WebSocket echo \(load.title)", value: allocationsText(tlsAllocs),
                          target: "0", ok: tlsAllocs < maxAllocationsPerItem),
                ]
            } else {
                notes.append("WebSocket echo \(load.title): server CPU ns/msg reactor TLS/plain \(ratioText(toPlain)), "
                    + "msgs per server CPU-second reactor TLS/NIOSSL \(ratioText(toNIO)), allocs/msg reactor TLS \(allocationsText(tlsAllocs))")
            }
            notes.append("WebSocket echo \(load.title): with record buffers kept, allocs/msg \(allocationsText(allocs(WSRow.tlsKeptBuffers))) "
                + "and server CPU ns/msg \(ratioText(cpu(WSRow.tlsKeptBuffers) / cpu(WSRow.tls))) of the default's")
        }
        for depth in httpDepths {
            let runs = m.http[depth]!
            addRows("HTTP GET /plaintext, \(depthName(depth))", httpServers, runs)
            func cpu(_ i: Int) -> Double { median(runs[i].map(\.cpuPerItem)) }
            notes.append("HTTP \(depthName(depth)): server CPU ns/request reactor TLS/plain \(ratioText(cpu(HTTPRow.tls) / cpu(HTTPRow.plain))), "
                + "requests per server CPU-second reactor TLS/NIOSSL \(ratioText(cpu(HTTPRow.nio) / cpu(HTTPRow.tls))), "
                + "allocs/request reactor TLS \(allocationsText(median(runs[HTTPRow.tls].map(\.allocationsPerItem))))")
        }

        // Handshakes.
        var handshakeRows: [[String]] = []
        let handshakeServers = ["reactor TLS", PeerName.nioSSL]
        for (k, kind) in kinds.enumerated() {
            for (i, server) in handshakeServers.enumerated() {
                let runs = m.handshakes[k][i]
                func med(_ f: (WindowSample) -> Double) -> Double { median(runs.map { f($0.sample) }) }
                let resumedShare = median(runs.map { $0.resumed / $0.sample.count })
                handshakeRows.append([kind.title, server, grouped(med(\.perSecond)), fixed(med(\.cpuPerItem) / 1000, 1),
                                      grouped(1e9 / med(\.cpuPerItem)), percent(resumedShare), runs.first?.protocolVersion ?? "?",
                                      percent(med(\.serverBusy)), percent(med(\.loadBusy)), percent(med(\.otherBusy))])
                if kind.resumed && resumedShare < 0.9 {
                    notes.append("\(server) resumed \(percent(resumedShare)) of the handshakes that offered a ticket: its resumed row is mostly full handshakes")
                }
            }
            let reactorCPU = median(m.handshakes[k][0].map(\.sample.cpuPerItem))
            let nioCPU = median(m.handshakes[k][1].map(\.sample.cpuPerItem))
            notes.append("handshakes \(kind.title): per server CPU-second reactor TLS/NIOSSL \(ratioText(nioCPU / reactorCPU))")
        }

        // Idle connections.
        let idleRows = zip(wsServers, m.idle).map { server, idle in
            [server.name, grouped(Double(idle.connections)), grouped(Double(idle.beforeKiB)), grouped(Double(idle.upgradedKiB)),
             fixed(idle.upgradedBytesPerConnection, 0), fixed(idle.echoedBytesPerConnection, 0), fixed(idle.upgradeSeconds, 2)]
        }
        let idleTLS = m.idle[WSRow.tls].upgradedBytesPerConnection
        let idleNIO = m.idle[WSRow.nio].upgradedBytesPerConnection
        let idleRatio = idleTLS / idleNIO
        checks.append(Check(what: "RSS per idle TLS connection reactor/NIOSSL, \(grouped(Double(m.idle[WSRow.tls].connections))) connections",
                            value: "\(fixed(idleTLS, 0)) / \(fixed(idleNIO, 0)) bytes = \(ratioText(idleRatio))",
                            target: "<= \(ratioText(maxIdleRatioToNIOSSL))", ok: idleRatio <= maxIdleRatioToNIOSSL))
        notes.append("RSS per idle TLS connection after one echo each: reactor TLS \(fixed(m.idle[WSRow.tls].echoedBytesPerConnection, 0)) bytes, "
            + "record buffers kept \(fixed(m.idle[WSRow.tlsKeptBuffers].echoedBytesPerConnection, 0)) bytes, "
            + "NIOSSL \(fixed(m.idle[WSRow.nio].echoedBytesPerConnection, 0)) bytes")

        var md = """
            ## \(name)

            The reactor's demo over TLS (`echo --tls-cert --tls-key`: OpenSSL 3, TLS 1.3 negotiated, the P-256 certificate) beside the same demo \
            in plain TCP and SwiftNIO with NIOSSL (`nio-tls`: NIOSSLServerHandler in front of nio-websocket's and nio-http's handlers, one \
            event-loop thread). "record buffers kept": the demo with `--tls-keep-record-buffers`. Certificates: self-signed RSA 2048 and \
            ECDSA P-256, made for the run. Load generators on CPU \(CPU.load) (`C/ws_loadgen.c --tls`, wrk over https://, \
            `C/tls_handshake.c`, all OpenSSL clients without certificate verification), servers on CPU \(CPU.server). \
            \(fixed(t.warmup, 0)) s warmup + \(fixed(t.measure, 0)) s measured, median of \(t.repetitions) run(s) per server and load, \
            servers alternating\(context.options.quick ? " (--quick: targets not enforced)" : ""). \(machineLine()).

            An item is an echoed message or an answered request. server CPU ns/item: server CPU time (all threads) over the window / items. \
            items per server CPU-second: 1 s / server CPU per item (CPU-normalized, the issue's efficiency figure). allocs/item: \
            malloc-family calls in the server over the window (LD_PRELOAD counter) / items. No handshake falls in a throughput window: \
            every connection is open before it. \(context.buildTimesLine)


            """
        md += markdownTable(header, rows) + "\n\n"
        md += "Handshakes, \(handshakeConnections) at a time (`C/tls_handshake.c`: connect, handshake, close_notify, wait for the server's close; "
            + "resumed: each offers the newest ticket the server issued):\n\n"
        md += markdownTable(["handshake", "server", "handshakes/s", "server CPU us/handshake", "handshakes per server CPU-second",
                             "resumed", "protocol", "server CPU", "loadgen CPU", "other CPU"], handshakeRows) + "\n\n"
        md += "RSS per idle connection: upgraded WebSocket connections (`/echo`, over TLS but the plain row) held idle 1 s after a warmup of 64, "
            + "(VmRSS after - before) / connections; then one 32-byte echo on each and 1 s idle:\n\n"
        md += markdownTable(["server", "connections", "RSS before KiB", "upgraded KiB", "bytes/conn", "bytes/conn after one echo", "connect s"], idleRows) + "\n\n"
        md += checks.map(\.line).joined(separator: "\n") + "\n"
        md += notes.map { "- \($0)" }.joined(separator: "\n") + "\n"
        let allSamples = m.ws.flatMap { $0.joined() } + m.http.values.flatMap { $0.joined() } + m.handshakes.flatMap { $0.joined().map(\.sample) }
        if let warning = sharedMachineWarning(allSamples) { md += warning }

        md += "\nRuns:\n"
        for (l, load) in wsLoads.enumerated() {
            for (i, server) in wsServers.enumerated() {
                for (r, s) in m.ws[l][i].enumerated() {
                    md += "- WebSocket echo \(load.title), \(server.name) #\(r + 1): \(describeMessages(s)), \(grouped(s.count)) messages in \(fixed(s.seconds, 2)) s\n"
                }
            }
        }
        for depth in httpDepths {
            for (i, server) in httpServers.enumerated() {
                for (r, s) in m.http[depth]![i].enumerated() {
                    md += "- HTTP \(depthName(depth)), \(server.name) #\(r + 1): \(describeRequests(s)), \(grouped(s.count)) requests in \(fixed(s.seconds, 2)) s\n"
                }
            }
        }
        for (k, kind) in kinds.enumerated() {
            for (i, server) in handshakeServers.enumerated() {
                for (r, run) in m.handshakes[k][i].enumerated() {
                    md += "- handshakes \(kind.title), \(server) #\(r + 1): \(describe(run))\n"
                }
            }
        }

        // One chart, the echo loads (docs.py copies one chart per scenario); HTTP is in the table.
        func medians(_ runs: [[WindowSample]], _ f: (WindowSample) -> Double) -> [Double] { runs.map { median($0.map(f)) } }
        let wsChart = Chart.throughputAndCPU(
            scenario: "\(name): WebSocket echo", subtitle: "binary messages echoed; median of \(t.repetitions) run(s) per server; \(machineLine())",
            loads: wsLoads.map(\.title), servers: wsServers.map(\.name),
            throughputUnit: "msgs/s", throughput: m.ws.map { medians($0, \.perSecond) }, cpuUnit: "ns/msg", cpu: m.ws.map { medians($0, \.cpuPerItem) })
        return Report(markdown: md, targetsMet: checks.allSatisfy(\.ok), charts: [wsChart])
    }
}
