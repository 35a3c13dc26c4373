import Connections
import Protocols
import Reactor

/// The ways a client talks to the demo, as `/metrics` labels them.
enum DemoTransport: Int, CaseIterable, Sendable {
    case webSocketEcho, webSocketChat, sse, longPoll, polling, httpSend

    var label: String {
        switch self {
        case .webSocketEcho: "websocket_echo"
        case .webSocketChat: "websocket_chat"
        case .sse: "sse"
        case .longPoll: "long_poll"
        case .polling: "polling"
        case .httpSend: "http_send"
        }
    }

    /// Transports that hold a connection of their own while open (a held long poll holds one).
    static let holdingConnections: [DemoTransport] = [.webSocketEcho, .webSocketChat, .sse, .longPoll]
    static let receiving: [DemoTransport] = [.webSocketEcho, .webSocketChat, .httpSend]
    static let sending: [DemoTransport] = [.webSocketEcho, .webSocketChat, .sse, .longPoll, .polling]
}

/// One loop's demo counters, copied out for `/metrics` (possibly to another loop's thread).
struct DemoCounters: Sendable {
    var open = [Int](repeating: 0, count: DemoTransport.allCases.count)
    var opened = [UInt64](repeating: 0, count: DemoTransport.allCases.count)
    var received = [UInt64](repeating: 0, count: DemoTransport.allCases.count)
    var sent = [UInt64](repeating: 0, count: DemoTransport.allCases.count)
    /// Deliveries made to `RoomAudience` observers, which are bookkeeping, not clients.
    var observerDeliveries: UInt64 = 0
    var logLinesSuppressed: UInt64 = 0
}

/// The demo's own bookkeeping on one loop: connections, messages in and out by transport, and
/// one rate-limited log line per connection that ends in error. The library counts bytes and
/// syscalls (`LoopStatistics`) and fan-out (`PubSub`); only the application knows which transport
/// a connection speaks, so that part is counted here, by the handlers, on the loop's thread.
///
/// The counters live behind a pointer held by a `let`: a handler bumps one on every echoed
/// message, and a class's `var` would pay a runtime exclusivity check each time.
final class DemoMetrics {
    /// Sockets whose failure was logged as it happened (see `webSocketFailing`), until they close.
    private var failuresLogged: Set<UInt64> = []
    let loop: EventLoop
    let errors: RateLimitedLog
    private let counters: UnsafeMutablePointer<DemoCounters>
    private var audiences: [ObjectIdentifier: RoomAudience] = [:]

    init(loop: EventLoop, log: Log) {
        self.loop = loop
        self.errors = RateLimitedLog(sink: log, level: .warning, loop: loop)
        counters = .allocate(capacity: 1)
        counters.initialize(to: DemoCounters())
    }

    deinit {
        counters.deinitialize(count: 1)
        counters.deallocate()
    }

    func opened(_ t: DemoTransport) {
        counters.pointee.open[t.rawValue] += 1
        counters.pointee.opened[t.rawValue] &+= 1
    }

    func closed(_ t: DemoTransport) { counters.pointee.open[t.rawValue] -= 1 }
    func received(_ t: DemoTransport, _ n: Int = 1) { counters.pointee.received[t.rawValue] &+= UInt64(n) }
    func sent(_ t: DemoTransport, _ n: Int = 1) { counters.pointee.sent[t.rawValue] &+= UInt64(n) }

    // MARK: WebSockets

    func webSocketOpened(_ ws: WebSocket, _ t: DemoTransport) { opened(t) }

    /// Logs our side failing a WebSocket, naming its peer while the connection is still open (at
    /// the close the descriptor and its address are gone, and keeping every socket's address
    /// would cost each idle connection bytes it is budgeted not to have). The close that follows
    /// is then not logged again.
    func webSocketFailing(_ ws: WebSocket, _ t: DemoTransport, code: WebSocketCloseCode, reason: String) {
        let peer = ws.connection.peerAddress?.description ?? "\(ws.connection)"
        // The reason is the peer's text (at most 123 bytes): `errors` escapes the whole line once.
        errors("\(peer): \(t.label): WebSocket closed \(code.rawValue): \(reason.isEmpty ? "no reason given" : reason)")
        failuresLogged.insert(ws.connection.id)
    }

    /// Counts the close, and logs it when it ended in error: a protocol violation (ours or the
    /// peer's), a message too big, a slow consumer, or a connection that dropped or timed out
    /// without a close handshake. Normal closes and our own shutdown (1001) are not errors.
    func webSocketClosed(_ ws: WebSocket, _ t: DemoTransport, code: WebSocketCloseCode, reason: String) {
        closed(t)
        if failuresLogged.remove(ws.connection.id) != nil { return }  // logged as it failed
        switch code {
        case .normal, .goingAway, .noStatus: return
        default: break
        }
        if code.rawValue >= 3000 { return }  // application codes: a decision, not an error
        // A drop or the peer's own error close: the descriptor is gone, so the handle names it.
        let peer = "\(ws.connection)"
        let what = code == .abnormal ? "dropped" : "closed \(code.rawValue)"
        // The reason is the peer's own close reason: `errors` escapes and caps the whole line once.
        errors("\(peer): \(t.label): WebSocket \(what): \(reason.isEmpty ? "no reason given" : reason)")
    }

    // MARK: Rooms

    /// Starts counting `topic`'s deliveries to one more local subscriber of transport `t`.
    func watch(_ topic: Topic, _ t: DemoTransport) {
        let key = ObjectIdentifier(topic)
        let audience = audiences[key] ?? RoomAudience(metrics: self, topic: topic)
        audiences[key] = audience
        audience.add(t, 1)
    }

    func unwatch(_ topic: Topic, _ t: DemoTransport) {
        let key = ObjectIdentifier(topic)
        guard let audience = audiences[key] else { return }
        if audience.add(t, -1) {
            audience.stop()
            audiences[key] = nil
        }
    }

    /// Rooms with an observer subscribed on this loop (each one a subscriber that is not a client).
    var watchedRooms: Int { audiences.count }

    fileprivate func observed(_ audience: RoomAudience) {
        counters.pointee.observerDeliveries &+= 1
        sent(.webSocketChat, audience.count(.webSocketChat))
        sent(.sse, audience.count(.sse))
    }

    // MARK: Snapshot

    var snapshot: DemoCounters {
        var c = counters.pointee
        c.logLinesSuppressed = errors.suppressedTotal
        return c
    }
}

/// A room's local WebSocket and SSE subscribers, counted by transport. The library delivers a
/// message to them itself (encoded once, write-through), so the demo cannot count each send; this
/// observer, subscribed to the room like any client, sees every message delivered on this loop
/// and adds the room's audience to the "sent" counters: the same number of deliveries.
private final class RoomAudience: TopicSubscriber {
    unowned let metrics: DemoMetrics
    let topic: Topic
    private var counts = [Int](repeating: 0, count: DemoTransport.allCases.count)
    private var token: SubscriberToken?

    init(metrics: DemoMetrics, topic: Topic) {
        self.metrics = metrics
        self.topic = topic
        token = topic.subscribe(self)
    }

    func count(_ t: DemoTransport) -> Int { counts[t.rawValue] }

    /// Returns true when nobody is left.
    @discardableResult
    func add(_ t: DemoTransport, _ n: Int) -> Bool {
        counts[t.rawValue] += n
        return counts.allSatisfy { $0 <= 0 }
    }

    func stop() {
        if let token { topic.unsubscribe(token) }
        token = nil
    }

    func topic(_ topic: Topic, didPublish message: TopicMessage) { metrics.observed(self) }
}

