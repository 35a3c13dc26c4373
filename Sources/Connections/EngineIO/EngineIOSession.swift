import Protocols
import Reactor

/// One Engine.IO session (a client), on the polling or the WebSocket transport, kept by its
/// server in a table by id on the loop's thread.
///
/// Polling: packets queue here until the client's long poll (a deferred `HTTPResponder`) takes
/// them all in one payload. WebSocket: each packet is one frame, written through. Upgrade: the
/// client probes a WebSocket (`2probe` / `3probe`); from then on a long poll is answered with a
/// noop at once and packets wait, until `5` makes the WebSocket the transport and they go there.
/// Heartbeat: one timer in the loop's wheel, alternately "send the next ping" and "the pong is
/// late".
public final class EngineIOSession {
    enum State { case open, closing, closed }

    /// The session id (`sid`).
    public let id: String
    public let server: EngineIOServer
    /// The transport packets currently travel on.
    public private(set) var transport: EngineIOTransport
    /// Receives the session's messages and its close. Kept strongly until the session closes.
    public var delegate: (any EngineIOSessionDelegate)?
    /// Room for the application's per-session state.
    public var context: AnyObject?
    /// The query string of the request that opened the session (undecoded), and its peer.
    public let query: String
    public let peerAddress: SocketAddress?

    private var state = State.open
    private var queue: [Outgoing] = []
    /// Bytes in `queue` (bounded by `maxQueuedBytes`).
    private var queuedBytes = 0
    private var heldPoll: HTTPResponder?
    private var heldPollNumber = 0
    /// The WebSocket transport once it is the transport.
    private var webSocket: WebSocket?
    /// A WebSocket probing the upgrade, and whether it has answered the probe.
    private var probe: EngineIOWebSocketTransport?
    private var upgrading = false
    private var heartbeat: TimerID?
    private var awaitingPong = false
    private var closeTimer: TimerID?
    private var closingReason = EngineIOCloseReason.forcedClose
    /// While above zero (a POST being processed), sends queue without answering the long poll,
    /// so the replies to one POST leave in one response.
    private var batchDepth = 0

    enum Outgoing {
        /// A text packet as sent: type digit, then data.
        case text([UInt8])
        case binary([UInt8])
        case shared(EngineIOMessage)
    }

    init(id: String, server: EngineIOServer, transport: EngineIOTransport, query: String, peerAddress: SocketAddress?) {
        self.id = id
        self.server = server
        self.transport = transport
        self.query = query
        self.peerAddress = peerAddress
    }

    /// Whether the session is open (not closing or closed).
    public var isOpen: Bool { state == .open }

    /// Packets waiting for a long poll (or for the end of an upgrade).
    public var queuedPacketCount: Int { queue.count }

    /// Bytes waiting for the client: the polling queue, or what the WebSocket transport's
    /// connection has not written yet.
    public var queuedByteCount: Int { queuedBytes + (activeWebSocket?.bufferedAmount ?? 0) }

    var loop: EventLoop { server.loop }
    var configuration: EngineIOConfiguration { server.configuration }

    // MARK: Sending

    /// Sends a text message.
    public func send(text: String) {
        sendText { $0 += text.utf8 }
    }

    /// Sends a text message whose data `write` appends to the buffer it is handed (the buffer
    /// already holds the type digit). The message is encoded straight into a buffer the server
    /// reuses, so a message on the WebSocket transport costs no allocation.
    public func sendText(_ write: (inout [UInt8]) -> Void) {
        sendPacket(.message, write)
    }

    /// Sends a binary message.
    public func send(binary: UnsafeRawBufferPointer) {
        guard state == .open else { return }
        if let ws = activeWebSocket {
            ws.send(binary: binary)
            checkBacklog(ws)
        } else {
            enqueue(.binary(Array(binary)))
        }
    }

    public func send(binary: [UInt8]) { binary.withUnsafeBytes { send(binary: $0) } }

    /// Sends a message encoded once for many sessions (a broadcast).
    public func send(_ message: EngineIOMessage) {
        guard state == .open else { return }
        if let ws = activeWebSocket {
            ws.send(frame: message.webSocketFrame)
            checkBacklog(ws)
        } else {
            enqueue(.shared(message))
        }
    }

    /// Closes the session from the server side: packets already sent are delivered first, then
    /// a close packet.
    public func close() {
        close(.forcedClose)
    }

    private var activeWebSocket: WebSocket? {
        transport == .websocket && !upgrading ? webSocket : nil
    }

    private func sendPacket(_ type: EngineIOPacketType, _ write: (inout [UInt8]) -> Void) {
        guard state == .open else { return }
        server.scratch.removeAll(keepingCapacity: true)
        server.scratch.append(type.digit)
        write(&server.scratch)
        if let ws = activeWebSocket {
            server.scratch.withUnsafeBytes { _ = ws.send(text: $0) }
            checkBacklog(ws)
        } else {
            enqueue(.text(server.scratch))
        }
    }

    private func sendControl(_ type: EngineIOPacketType, _ data: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) {
        sendPacket(type) { $0 += data }
    }

    private func enqueue(_ packet: Outgoing) {
        guard queue.count < configuration.maxQueuedPackets else {
            server.log("session \(id): \(queue.count) packets queued for a client that does not poll: closing")
            finish(.transportError)
            return
        }
        let size: Int
        switch packet {
        case .text(let bytes), .binary(let bytes): size = bytes.count
        case .shared(let message): size = message.pollingPacket.count
        }
        guard queuedBytes + size <= configuration.maxQueuedBytes else {
            server.log("session \(id): \(queuedBytes + size) bytes queued for a client that does not poll (limit \(configuration.maxQueuedBytes)): closing as a slow consumer")
            finish(.transportError)
            return
        }
        queuedBytes += size
        queue.append(packet)
        flushPoll()
    }

    /// The slow-consumer rule on the WebSocket transport: the connection's queue is the session's.
    private func checkBacklog(_ ws: WebSocket) {
        let backlog = ws.bufferedAmount  // O(1): read on every send of a broadcast burst
        guard backlog > configuration.maxQueuedBytes, state == .open else { return }
        server.log("session \(id): \(backlog) bytes queued for a client that does not read (limit \(configuration.maxQueuedBytes)): closing as a slow consumer")
        // As a pub/sub room's `.disconnect` policy closes its subscribers (1008, with the reason).
        ws.close(code: .policyViolation, reason: "slow consumer: could not keep up with the session")
        finish(.transportError)
        // The backlog is not flushed to a client that does not read: it is dropped now.
        ws.connection.close(reason: .slowConsumer, flush: false)
    }

    // MARK: Polling

    /// A long poll arrived.
    func poll(_ res: HTTPResponder) {
        if let held = heldPoll, held.isPending {
            // Two long polls at once break the transport's contract: the first gets a close
            // packet, the second an error, and the session ends.
            server.log("session \(id): overlapping long polls")
            held.respond(contentType: Self.contentType, body: "1" as StaticString)
            heldPoll = nil
            server.respondError(.badRequest, res)
            finish(.transportError)
            return
        }
        if upgrading {
            // The client must see its poll end before it can complete the upgrade.
            res.respond(contentType: Self.contentType, body: "6" as StaticString)
            return
        }
        heldPoll = res
        heldPollNumber += 1
        let number = heldPollNumber
        res.onAbandoned { [weak self] in
            guard let self, self.heldPollNumber == number, self.heldPoll != nil else { return }
            self.heldPoll = nil
            self.finish(.transportClose)
        }
        // A graceful shutdown ends the session at once: the held poll carries what is queued and
        // a close packet, as the reference server answers it when it closes.
        res.onShutdown { [weak self] in
            guard let self, self.heldPollNumber == number, self.heldPoll != nil else { return }
            self.close(.serverShutdown)
        }
        flushPoll()
    }

    /// Packets posted by the client.
    func post(_ req: HTTPRequest, _ res: HTTPResponder) {
        guard req.body.count <= configuration.maxPayload else {
            res.respond(.contentTooLarge, contentType: "text/plain; charset=utf-8", body: "Payload Too Large\n" as StaticString)
            finish(.payloadTooLarge)
            return
        }
        batchDepth += 1
        do throws(EngineIOProtocolError) {
            try EngineIOPayload.decode(req.body) { element in
                guard state == .open else { return }
                switch element {
                case .text(let type, let data): receive(type, data)
                case .binary(let data): receiveBinary(data)
                }
            }
        } catch {
            batchDepth -= 1
            server.log("session \(id): bad payload: \(error)")
            server.respondError(.badRequest, res)
            finish(.parseError)
            return
        }
        batchDepth -= 1
        res.respond(contentType: "text/html", body: "ok" as StaticString)
        flushPoll()
    }

    /// Answers the held long poll with everything queued (or, while closing, the last packets
    /// and then the end of the session).
    private func flushPoll() {
        guard batchDepth == 0, transport == .polling, !upgrading, !queue.isEmpty, let res = heldPoll else { return }
        heldPoll = nil
        guard res.isPending else {
            // The poll's connection is gone (its abandonment normally closes the session first).
            finish(.transportClose)
            return
        }
        var body: [UInt8] = []
        for (i, packet) in queue.enumerated() {
            if i > 0 { body.append(EngineIOPayload.separator) }
            switch packet {
            case .text(let bytes): body += bytes
            case .binary(let bytes): bytes.withUnsafeBytes { EngineIOPayload.appendPacket(type: .message, data: $0, isBinary: true, to: &body) }
            case .shared(let message): message.pollingPacket.withUnsafeBytes { body += $0 }
            }
        }
        queue.removeAll(keepingCapacity: true)
        queuedBytes = 0
        res.respond(contentType: Self.contentType, body: body)
        if state == .closing { finish(closingReason) }
    }

    static let contentType: HTTPContentType = "text/plain; charset=UTF-8"

    // MARK: Receiving

    func receive(_ type: EngineIOPacketType, _ data: UnsafeRawBufferPointer) {
        guard state == .open else { return }
        switch type {
        case .message:
            delegate?.engineIOSession(self, didReceiveText: data)
        case .pong:
            guard awaitingPong else { return }
            awaitingPong = false
            scheduleHeartbeat()
        case .ping:
            // Clients of protocol v4 do not ping, but answering costs nothing and keeps a
            // probing or older client happy.
            sendControl(.pong, data)
        case .close:
            finish(.transportClose)
        case .open, .upgrade, .noop:
            break  // meaningless here; the reference server ignores them too
        }
    }

    func receiveBinary(_ data: UnsafeRawBufferPointer) {
        guard state == .open else { return }
        delegate?.engineIOSession(self, didReceiveBinary: data)
    }

    // MARK: Heartbeat

    func scheduleHeartbeat() {
        if let heartbeat { loop.cancel(heartbeat) }
        heartbeat = loop.schedule(after: configuration.pingInterval) { [weak self] in self?.sendPing() }
    }

    private func sendPing() {
        guard state == .open else { return }
        awaitingPong = true
        sendControl(.ping)
        heartbeat = loop.schedule(after: configuration.pingTimeout) { [weak self] in
            guard let self, self.awaitingPong else { return }
            self.server.log("session \(self.id): no pong within the ping timeout")
            self.finish(.pingTimeout)
        }
    }

    // MARK: WebSocket transport and upgrade

    /// The session was opened on a WebSocket: it is the transport from the start.
    func attach(webSocket ws: WebSocket) {
        webSocket = ws
        transport = .websocket
    }

    /// A WebSocket with this session's id opened: it may now probe.
    func probeOpened(_ handler: EngineIOWebSocketTransport) {
        if let old = probe { old.abandon() }
        probe = handler
    }

    /// The probe was answered: from now on long polls end at once with a noop and packets wait
    /// for the new transport.
    func probeSucceeded(_ handler: EngineIOWebSocketTransport) {
        guard probe === handler, state == .open else { return }
        upgrading = true
        if let res = heldPoll {
            heldPoll = nil
            res.respond(contentType: Self.contentType, body: "6" as StaticString)
        }
    }

    /// The client sent `5` on the probing WebSocket: it becomes the transport, and what queued
    /// during the upgrade goes out on it.
    func completeUpgrade(_ handler: EngineIOWebSocketTransport, _ ws: WebSocket) {
        guard probe === handler, upgrading, state == .open else { return }
        probe = nil
        upgrading = false
        transport = .websocket
        webSocket = ws
        if let res = heldPoll {
            heldPoll = nil
            res.respond(contentType: Self.contentType, body: "6" as StaticString)
        }
        let pending = queue
        queue.removeAll()
        queuedBytes = 0
        for packet in pending {
            switch packet {
            case .text(let bytes): bytes.withUnsafeBytes { _ = ws.send(text: $0) }
            case .binary(let bytes): ws.send(binary: bytes)
            case .shared(let message): ws.send(frame: message.webSocketFrame)
            }
        }
    }

    /// The probing WebSocket failed or closed before the upgrade completed: stay on polling.
    func probeFailed(_ handler: EngineIOWebSocketTransport) {
        guard probe === handler else { return }
        probe = nil
        if upgrading {
            upgrading = false
            flushPoll()
        }
    }

    /// Whether a new WebSocket may probe this session.
    var acceptsUpgrade: Bool {
        state == .open && transport == .polling && !upgrading && configuration.allowUpgrades
    }

    /// The transport WebSocket closed.
    func webSocketClosed(_ ws: WebSocket) {
        guard webSocket === ws else { return }
        finish(.transportClose)
    }

    // MARK: Closing

    /// Closes for `reason`. A server-initiated close first delivers what is queued and a close
    /// packet; any other reason ends the session at once.
    func close(_ reason: EngineIOCloseReason) {
        guard state == .open else { return }
        guard reason == .forcedClose || reason == .serverShutdown else {
            finish(reason)
            return
        }
        if let ws = activeWebSocket {
            sendControl(.close)
            ws.close(code: reason == .serverShutdown ? .goingAway : .normal)
            finish(reason)
            return
        }
        // Polling: the close packet leaves with the next long poll (at once if one is held); a
        // client that does not come back within the ping timeout is not waited for.
        batchDepth += 1
        sendControl(.close)
        batchDepth -= 1
        state = .closing
        closingReason = reason
        flushPoll()
        if state == .closing {
            closeTimer = loop.schedule(after: configuration.pingTimeout) { [weak self] in self?.finish(reason) }
        }
    }

    /// Ends the session: cancels its timers, answers a held poll, closes its WebSockets, leaves
    /// the server's table and tells the delegate. Runs once.
    func finish(_ reason: EngineIOCloseReason) {
        guard state != .closed else { return }
        state = .closed
        if let heartbeat { loop.cancel(heartbeat) }
        if let closeTimer { loop.cancel(closeTimer) }
        heartbeat = nil
        closeTimer = nil
        if let res = heldPoll {
            heldPoll = nil
            // A client that asked to close gets a noop (its poll just ends); otherwise the poll
            // carries the close packet, as the reference server does.
            res.respond(contentType: Self.contentType, body: reason == .transportClose ? "6" as StaticString : "1" as StaticString)
        }
        queue.removeAll()
        queuedBytes = 0
        if let ws = webSocket {
            webSocket = nil
            ws.close(code: reason == .parseError ? .protocolError : reason == .serverShutdown ? .goingAway : .normal)
        }
        if let p = probe {
            probe = nil
            p.abandon()
        }
        server.sessionDidClose(self)
        let d = delegate
        delegate = nil
        d?.engineIOSessionDidClose(self, reason: reason)
    }
}
