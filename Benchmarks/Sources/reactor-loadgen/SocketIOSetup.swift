/// The cost the Socket.IO upgrade adds, measured: `count` set-ups of each kind, alternating,
/// one at a time, from the first TCP connect until the client has joined a room (its `join` ack
/// arrived), which is when an application can first receive a room message.
///
/// - websocket only: the upgrade, Engine.IO open, CONNECT, join.
/// - polling then upgrade, as socket.io-client does it: the handshake GET, the CONNECT POST, the
///   GET that brings its answer, a GET left pending, the WebSocket upgrade with the sid, the
///   `2probe`/`3probe` exchange, `5` (upgrade) and the pending GET answered, then join.
///
/// Blocking sockets on purpose: one set-up at a time is the measurement, and a blocking client
/// adds no states of its own. Prints per kind p50/p99/mean in microseconds, plus the bytes each
/// way and the HTTP requests and TCP connections per set-up.
enum SocketIOSetup {
    struct Kind {
        let name: String
        var histogram = Histogram()
        var bytesSent = 0, bytesReceived = 0, requests = 0, connections = 0
    }

    static func run(_ options: LoadOptions) {
        var kinds = [Kind(name: "websocket"), Kind(name: "polling_upgrade")]
        for i in 0..<(options.count * 2) {
            let k = i % 2
            let started = ProcReadings.monotonicNanoseconds()
            let counts = k == 0 ? websocketOnly(options, room: "setup") : pollingThenUpgrade(options, room: "setup")
            kinds[k].histogram.record(ProcReadings.monotonicNanoseconds() - started)
            kinds[k].bytesSent += counts.sent
            kinds[k].bytesReceived += counts.received
            kinds[k].requests += counts.requests
            kinds[k].connections += counts.connections
        }
        var line = "setups=\(options.count)"
        for kind in kinds {
            let n = Double(options.count)
            line += " \(kind.name)_p50_us=\(fmt(kind.histogram.quantile(0.5) / 1e3, 1))"
            line += " \(kind.name)_p99_us=\(fmt(kind.histogram.quantile(0.99) / 1e3, 1))"
            line += " \(kind.name)_mean_us=\(fmt(kind.histogram.mean / 1e3, 1))"
            line += " \(kind.name)_bytes_up=\(fmt(Double(kind.bytesSent) / n, 0)) \(kind.name)_bytes_down=\(fmt(Double(kind.bytesReceived) / n, 0))"
            line += " \(kind.name)_http_requests=\(fmt(Double(kind.requests) / n, 0)) \(kind.name)_connections=\(fmt(Double(kind.connections) / n, 0))"
        }
        output(line)
    }

    typealias Counts = (sent: Int, received: Int, requests: Int, connections: Int)

    static func websocketOnly(_ o: LoadOptions, room: String) -> Counts {
        let ws = BlockingSocket(host: o.host, port: o.port)
        upgrade(ws, o, query: "EIO=4&transport=websocket")
        expectFrame(ws, prefix: "0{")
        ws.sendTextFrame("40")
        expectFrame(ws, prefix: "40")
        join(ws, room: room)
        return (ws.bytesSent, ws.bytesReceived, 1, 1)
    }

    static func pollingThenUpgrade(_ o: LoadOptions, room: String) -> Counts {
        let poll = BlockingSocket(host: o.host, port: o.port)
        let base = "/socket.io/?EIO=4&transport=polling"
        let open = request(poll, o, "GET", base)
        guard open.hasPrefix("0{"), let sid = jsonString(open, key: "sid") else { die("polling handshake answered \(open)", status: 2) }
        let query = "\(base)&sid=\(sid)"
        let posted = request(poll, o, "POST", query, body: "40")
        guard posted == "ok" else { die("CONNECT POST answered \(posted)", status: 2) }
        let connected = request(poll, o, "GET", query)
        guard connected.hasPrefix("40") else { die("the poll after CONNECT answered \(connected)", status: 2) }
        // The client keeps a poll pending while it probes; the server answers it once upgraded.
        poll.write("GET \(query) HTTP/1.1\r\nHost: \(o.host)\r\n\r\n")

        let ws = BlockingSocket(host: o.host, port: o.port)
        upgrade(ws, o, query: "EIO=4&transport=websocket&sid=\(sid)")
        ws.sendTextFrame("2probe")
        expectFrame(ws, prefix: "3probe")
        ws.sendTextFrame("5")
        let released = poll.readResponse()
        guard released.status == 200 else { die("the pending poll was answered \(released.status)", status: 2) }
        join(ws, room: room)
        return (poll.bytesSent + ws.bytesSent, poll.bytesReceived + ws.bytesReceived, 5, 2)
    }

    private static func request(_ s: BlockingSocket, _ o: LoadOptions, _ method: String, _ target: String, body: String = "") -> String {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: \(o.host)\r\n"
        if method == "POST" { head += "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: \(body.utf8.count)\r\n" }
        s.write(head + "\r\n" + body)
        let response = s.readResponse()
        guard response.status == 200 else { die("\(method) \(target) answered \(response.status)", status: 2) }
        return String(decoding: response.body, as: UTF8.self)
    }

    private static func upgrade(_ s: BlockingSocket, _ o: LoadOptions, query: String) {
        s.write(MinimalUpgrade.request("/socket.io/?\(query)", host: o.host))
        let response = s.readResponse()
        guard response.status == 101, response.head.contains(MinimalUpgrade.accept.lowercased()) else {
            die("the WebSocket upgrade answered \(response.status)", status: 2)
        }
    }

    private static func expectFrame(_ s: BlockingSocket, prefix: String) {
        while true {
            let frame = s.readFrame()
            let text = String(decoding: frame.payload, as: UTF8.self)
            if text == "2" { s.sendTextFrame("3"); continue }
            guard text.hasPrefix(prefix) else { die("expected \(prefix)..., got \(text)", status: 2) }
            return
        }
    }

    /// Emits `join {room}` with ack id 0 and waits for the ack (skipping the demo's `auth` and `joined`).
    private static func join(_ s: BlockingSocket, room: String) {
        s.sendTextFrame("420[\"join\",{\"room\":\"\(room)\"}]")
        while true {
            let text = String(decoding: s.readFrame().payload, as: UTF8.self)
            if text.hasPrefix("430") { return }
            if text == "2" { s.sendTextFrame("3") }
        }
    }

    private static func jsonString(_ text: String, key: String) -> String? {
        guard let r = text.range(of: "\"\(key)\":\"") else { return nil }
        let rest = text[r.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end])
    }
}

extension String {
    /// The first occurrence of `needle` (the standard library alone has no `range(of:)`).
    func range(of needle: String) -> Range<String.Index>? {
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(needle) { return i..<index(i, offsetBy: needle.count) }
            i = index(after: i)
        }
        return nil
    }
}
