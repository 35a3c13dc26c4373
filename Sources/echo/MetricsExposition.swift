import Reactor

/// The Prometheus text exposition format (version 0.0.4) of the loops' snapshots: one family per
/// metric, `# HELP` and `# TYPE` first, then its samples. Values are summed over the loops, except
/// where every loop sees the same thing (each loop gets every room's every message through the
/// relay, so "published" and "rooms" are the same on each: those take the largest).
enum PrometheusText {
    static func render(_ loops: [LoopSnapshot], startTime: Int) -> String {
        var out = Writer()
        func sum(_ f: (LoopSnapshot) -> Int) -> Int { loops.reduce(0) { $0 + f($1) } }
        func sum64(_ f: (LoopSnapshot) -> UInt64) -> UInt64 { loops.reduce(0) { $0 &+ f($1) } }

        // Connections: the transports the demo counts, and every other connection as "http".
        out.family("reactor_connections", "gauge", "Open connections by transport (http: plain request/response and anything not counted apart).")
        var counted = 0
        for t in DemoTransport.holdingConnections {
            let n = sum { $0.demo.open[t.rawValue] }
            counted += n
            out.sample("reactor_connections", ["transport": t.label], n)
        }
        out.sample("reactor_connections", ["transport": "http"], max(0, sum { $0.connections } - counted))

        out.family("reactor_connections_opened_total", "counter", "Connections opened by transport since start (a held long poll counts once per request).")
        for t in DemoTransport.holdingConnections {
            out.sample("reactor_connections_opened_total", ["transport": t.label], sum64 { $0.demo.opened[t.rawValue] })
        }
        out.counter("reactor_connections_accepted_total", "TCP connections accepted.", sum64 { $0.statistics.accepted })
        out.counter("reactor_connections_closed_total", "TCP connections closed.", sum64 { $0.statistics.closed })
        out.counter("reactor_connections_refused_total", "Accepted connections closed at once: descriptor beyond the loop's table.",
                    sum64 { $0.statistics.refusedDescriptors })

        out.family("reactor_messages_received_total", "counter", "Messages received from clients by transport.")
        for t in DemoTransport.receiving {
            out.sample("reactor_messages_received_total", ["transport": t.label], sum64 { $0.demo.received[t.rawValue] })
        }
        out.family("reactor_messages_sent_total", "counter", "Messages sent to clients by transport (chat: one per subscriber reached).")
        for t in DemoTransport.sending {
            out.sample("reactor_messages_sent_total", ["transport": t.label], sum64 { $0.demo.sent[t.rawValue] })
        }

        out.counter("reactor_received_bytes_total", "Bytes read from sockets.", sum64 { $0.statistics.bytesRead })
        out.counter("reactor_sent_bytes_total", "Bytes written to sockets.", sum64 { $0.statistics.bytesWritten })
        out.counter("reactor_socket_reads_total", "read(2) calls that returned data.", sum64 { $0.statistics.reads })
        out.counter("reactor_socket_writes_total", "send/sendmsg calls.", sum64 { $0.statistics.writes })

        out.counter("reactor_broadcasts_total", "Messages published to chat rooms.", UInt64(loops.map(\.published).max() ?? 0))
        out.counter("reactor_broadcast_deliveries_total", "Room messages handed to subscribers, every transport.", UInt64(sum { $0.delivered }))
        out.counter("reactor_broadcast_encodings_total", "Wire encodings made for room messages (at most one per message, wire format and loop).", UInt64(sum { $0.encoded }))
        out.gauge("reactor_room_subscribers", "Subscribers over every room and transport.", sum { $0.subscribers })
        out.gauge("reactor_rooms", "Chat rooms that exist.", loops.map(\.rooms).max() ?? 0)

        out.gauge("reactor_pending_write_bytes", "Bytes queued for sockets and not yet taken by the kernel.", sum { $0.queuedBytes })
        out.gauge("reactor_buffered_input_bytes", "Bytes of memory holding unconsumed input (incomplete heads and frames), pooled blocks included.",
                  sum { $0.bufferedInputBytes })
        out.gauge("reactor_timers_armed", "Timers armed in the loops' timing wheels.", sum { $0.armedTimers })
        out.gauge("reactor_event_loops", "Event loops (threads) serving.", loops.count)
        out.counter("reactor_log_lines_suppressed_total", "Connection error lines left out by the log's rate limit.", sum64 { $0.demo.logLinesSuppressed })

        iterationHistogram(loops, &out)

        out.gauge("process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds.", startTime)
        return out.text
    }

    /// LoopStatistics counts iterations in power-of-two microsecond buckets (bucket i: under 2^i
    /// µs; the last one open-ended); Prometheus wants cumulative counts with upper bounds in
    /// seconds, and the open-ended bucket is `+Inf`.
    private static func iterationHistogram(_ loops: [LoopSnapshot], _ out: inout Writer) {
        let name = "reactor_loop_iteration_seconds"
        out.family(name, "histogram", "Time each loop iteration spent working (from its wait's return to the next wait).")
        // Each loop's buckets read once. The count is theirs, not `iterations`: an iteration is
        // timed only when the next one waits, so the newest is counted but not yet in a bucket.
        let buckets = loops.map(\.statistics.iterationMicrosecondsBuckets)
        var cumulative: UInt64 = 0
        for i in 0..<LoopStatistics.bucketCount {
            cumulative &+= buckets.reduce(0) { $0 &+ $1[i] }
            guard let micros = LoopStatistics.bucketUpperBoundMicroseconds(i) else { break }
            out.sample(name + "_bucket", ["le": decimal(micros, scale: 6)], cumulative)
        }
        let count = cumulative
        out.sample(name + "_bucket", ["le": "+Inf"], count)
        out.line(name + "_sum " + decimal(loops.reduce(0) { $0 &+ $1.statistics.iterationNanosecondsTotal }, scale: 9))
        out.sample(name + "_count", [:], count)
    }

    /// `value / 10^scale` in plain decimal notation, without trailing zeros ("0.000512", "3").
    static func decimal(_ value: UInt64, scale: Int) -> String {
        var divisor: UInt64 = 1
        for _ in 0..<scale { divisor *= 10 }
        let whole = value / divisor
        var fraction = String(value % divisor)
        guard fraction != "0" else { return String(whole) }
        fraction = String(repeating: "0", count: scale - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(whole).\(fraction)"
    }

    private struct Writer {
        var text = ""

        mutating func line(_ s: String) {
            text += s
            text += "\n"
        }

        mutating func family(_ name: String, _ type: String, _ help: String) {
            line("# HELP \(name) \(help)")
            line("# TYPE \(name) \(type)")
        }

        mutating func sample<N: BinaryInteger>(_ name: String, _ labels: KeyValuePairs<String, String>, _ value: N) {
            var s = name
            if !labels.isEmpty {
                // Label values here are fixed names and numbers: nothing to escape.
                s += "{" + labels.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ",") + "}"
            }
            line(s + " " + String(value))
        }

        mutating func counter<N: BinaryInteger>(_ name: String, _ help: String, _ value: N) {
            family(name, "counter", help)
            sample(name, [:], value)
        }

        mutating func gauge<N: BinaryInteger>(_ name: String, _ help: String, _ value: N) {
            family(name, "gauge", help)
            sample(name, [:], value)
        }
    }
}
