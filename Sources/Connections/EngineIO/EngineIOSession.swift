import Protocols
import Reactor

/// One Engine.IO session (a client), on the polling or the WebSocket transport, kept by its
/// server in a table by id on the loop's thread.
///
/// The rules live in an `EngineIOSessionMachine` (Protocols, sans-I/O): this class feeds it what
/// happens (a long poll, a POST, a frame, a timer, a send, a close) and performs the actions it
/// returns with the loop: it holds the long poll's `HTTPResponder`, the WebSockets and the timers.
/// Polling: packets queue in the machine until the client's long poll takes them all in one
/// payload. WebSocket: each packet is one frame, written through (the machine only says where a
/// packet goes, so a message on the WebSocket costs no allocation). Upgrade: the client probes a
/// WebSocket (`2probe` / `3probe`) and sends `5`. Heartbeat: one timer in the loop's wheel,
/// alternately "send the next ping" and "the pong is late".
public final class EngineIOSession {
    /// The session id (`sid`).
    public let id: String
    public let server: EngineIOServer
    /// The transport packets currently travel on.
    public var transport: EngineIOTransport { machine.pointee.transport }
    /// Receives the session's messages and its close. Kept strongly until the session closes.
    public var delegate: (any EngineIOSessionDelegate)?
    /// Room for the application's per-session state.
    public var context: AnyObject?
    /// The request that opened the session: headers, URL, query, peer, time.
    public let request: EngineIOHandshakeRequest
    /// The query string of the request that opened the session (undecoded), and its peer.
    public var query: String { request.query }
    public var peerAddress: SocketAddress? { request.address }

    /// The session's rules (state, queue, heartbeat, upgrade); this class performs what it asks.
    /// Reached through a pointer the session owns (allocated with it, freed in its deinit), as
    /// the loop's state is (DESIGN.md): held in a class `var`, the machine was copied whole to
    /// read `sendRoute` on every send, and each access paid a run-time exclusivity check (about
    /// 680 instructions per Socket.IO emit and reply, both together). The machine is never
    /// entered twice at once: its actions are performed after it returns (`perform`).
    private let machine: UnsafeMutablePointer<EngineIOSessionMachine<Outgoing>>
    /// The held long poll, while the machine says one is held (`holdsPoll`): its own responder,
    /// or the stand-in for one held by another loop of the group.
    private var heldPoll: EngineIOPollResponder?
    private var heldPollNumber = 0
    /// The content coding the held poll's request accepts, if compression applies.
    private var heldPollCoding: HTTPContentCoding?
    /// The WebSocket transport once it is the transport.
    private var webSocket: WebSocket?
    /// The transport when it is a WebSocket on another loop of the group (an upgrade that landed
    /// there): checked only where `webSocket` is nil, so a local socket's sends pay nothing for it.
    private var remoteSocket: EngineIORemoteSocket?
    /// The WebSocket probing the upgrade, while the machine says one does (`probing`).
    private var probe: EngineIOWebSocketTransport?
    /// The machine's timers in the loop's wheel.
    private var heartbeatTimer: TimerID?
    private var closingTimer: TimerID?
    private var upgradeTimer: TimerID?

    /// A packet as it waits in the polling queue. `compress`: whether it may be compressed
    /// (false: sent with `compress: false`), kept for the WebSocket it may go out on after an
    /// upgrade.
    enum Outgoing: EngineIOQueuedPacket {
        /// A text packet as sent: type digit, then data.
        case text([UInt8], compress: Bool)
        case binary([UInt8], compress: Bool)
        case shared(EngineIOMessage)

        init(text: [UInt8]) { self = .text(text, compress: true) }

        /// As the session always counted them: a text or binary packet's own bytes, a shared
        /// message's polling form (encoded once, and kept by the queue).
        var queuedByteCount: Int {
            switch self {
            case .text(let bytes, _), .binary(let bytes, _): bytes.count
            case .shared(let message): message.pollingPacket.count
            }
        }

        func appendPolling(to body: inout [UInt8]) {
            switch self {
            case .text(let bytes, _): body += bytes
            case .binary(let bytes, _): bytes.withUnsafeBytes { EngineIOPayload.appendPacket(type: .message, data: $0, isBinary: true, to: &body) }
            case .shared(let message): message.pollingPacket.withUnsafeBytes { body += $0 }
            }
        }
    }

    /// Messages queued since the last poll answer that may be compressed, and that may not: an
    /// answer made only of the latter goes out plain (the reference compresses a polling payload
    /// when any of its packets allows it). The machine's own small packets (ping, noop) count as
    /// neither.
    private var queuedCompressible = 0
    private var queuedPlain = 0

    init(id: String, server: EngineIOServer, transport: EngineIOTransport, request: EngineIOHandshakeRequest) {
        self.id = id
        self.server = server
        self.machine = .allocate(capacity: 1)
        self.machine.initialize(to: EngineIOSessionMachine(transport: transport, configuration: server.configuration))
        self.request = request
    }

    /// Where the next packet goes, from the machine's two fields read in place.
    private var sendRoute: EngineIOSessionMachine<Outgoing>.SendRoute {
        EngineIOSessionMachine<Outgoing>.sendRoute(state: machine.pointee.state, transport: machine.pointee.transport)
    }

    deinit {
        machine.deinitialize(count: 1)
        machine.deallocate()
    }

    /// Whether the session is open (not closing or closed).
    public var isOpen: Bool { machine.pointee.state.isOpen }

    /// Packets waiting for a long poll (or for the end of an upgrade).
    public var queuedPacketCount: Int { machine.pointee.queue.count }

    /// Bytes waiting for the client: the polling queue, or what the WebSocket transport's
    /// connection has not written yet.
    public var queuedByteCount: Int {
        machine.pointee.queuedBytes + (sendRoute == .webSocket ? webSocket?.bufferedAmount ?? 0 : 0)
    }

    var loop: EventLoop { server.loop }
    var configuration: EngineIOConfiguration { server.configuration }

    /// Whether a packet sent now would go out at once, as the reference's `transport.writable`:
    /// on a WebSocket, nothing left unwritten on its connection; on polling, a long poll held,
    /// waiting for it. A volatile emit (`SocketIOSocket.volatile`) is dropped when it is false.
    public var isWritable: Bool {
        switch sendRoute {
        case .webSocket: (webSocket?.bufferedAmount ?? 0) == 0
        case .queue: heldPoll?.isPending ?? false
        case .drop: false
        }
    }

    // MARK: Sending

    /// Sends a text message.
    public func send(text: String) {
        sendText { $0 += text.utf8 }
    }

    /// Sends a text message whose data `write` appends to the buffer it is handed (the buffer
    /// already holds the type digit). The message is encoded straight into a buffer the server
    /// reuses, so a message on the WebSocket transport costs no allocation. `compress: false` sends
    /// it plain on a WebSocket with permessage-deflate, and does not ask for its poll answer to be
    /// compressed (the reference's `compress` option).
    public func sendText(compress: Bool = true, _ write: (inout [UInt8]) -> Void) {
        let route = sendRoute
        guard route != .drop else { return }
        server.scratch.removeAll(keepingCapacity: true)
        server.scratch.append(EngineIOPacketType.message.digit)
        write(&server.scratch)
        if route == .webSocket {
            guard let ws = webSocket else { return server.scratch.withUnsafeBytes { remoteSocket?.send(text: $0, compress: compress) } }
            server.scratch.withUnsafeBytes { _ = ws.send(text: $0, compress: compress) }
            reportBacklog(ws)
        } else {
            countQueued(compress: compress)
            perform(machine.pointee.enqueue(.text(server.scratch, compress: compress)))
        }
    }

    /// Sends a binary message, compressed or not (see `sendText(compress:_:)`).
    public func send(binary: UnsafeRawBufferPointer, compress: Bool = true) {
        switch sendRoute {
        case .webSocket:
            guard let ws = webSocket else { return remoteSocket?.send(binary: binary, compress: compress) ?? () }
            ws.send(binary: binary, compress: compress)
            reportBacklog(ws)
        case .queue:
            countQueued(compress: compress)
            perform(machine.pointee.enqueue(.binary(Array(binary), compress: compress)))
        case .drop:
            return
        }
    }

    public func send(binary: [UInt8], compress: Bool = true) { binary.withUnsafeBytes { send(binary: $0, compress: compress) } }

    private func countQueued(compress: Bool) {
        if compress { queuedCompressible += 1 } else { queuedPlain += 1 }
    }

    /// Whether the next poll answer may be compressed, as what was queued for it asks; the
    /// count starts again.
    private func takeAnswerCompression() -> Bool {
        defer { (queuedCompressible, queuedPlain) = (0, 0) }
        return queuedCompressible > 0 || queuedPlain == 0
    }

    /// Sends a message encoded once for many sessions (a broadcast).
    public func send(_ message: EngineIOMessage) {
        switch sendRoute {
        case .webSocket:
            guard let ws = webSocket else { return remoteSocket?.send(frame: message.webSocketFrame) ?? () }
            ws.send(frame: message.webSocketFrame)
            reportBacklog(ws)
        case .queue:
            countQueued(compress: message.compress)
            perform(machine.pointee.enqueue(.shared(message)))
        case .drop:
            return
        }
    }

    /// Closes the session from the server side: packets already sent are delivered first, then
    /// a close packet.
    public func close() {
        close(.forcedClose)
    }

    /// The slow-consumer rule on the WebSocket transport: the connection's queue is the session's.
    private func reportBacklog(_ ws: WebSocket) {
        let actions = machine.pointee.webSocketBacklog(ws.bufferedAmount)  // O(1): read on every send of a broadcast burst
        if !actions.isEmpty { perform(actions) }
    }

    /// Closes a session whose client cannot keep up with `queued` bytes, as its own bounds would:
    /// the delivery gate of a Socket.IO broadcast (`SocketIOBroadcastDelivery`) calls it.
    func closeAsSlowConsumer(queued: Int) {
        let actions = machine.pointee.slowConsumer(queued: queued)
        if !actions.isEmpty { perform(actions) }
    }

    static let contentType: HTTPContentType = "text/plain; charset=UTF-8"

    // MARK: Polling

    /// A long poll arrived; `coding` is what its answer may be compressed with.
    func poll(_ res: EngineIOPollResponder, coding: HTTPContentCoding?) {
        let heldPollGone = heldPoll.map { !$0.isPending } ?? false
        if heldPollGone { heldPoll = nil }
        perform(machine.pointee.pollArrived(heldPollGone: heldPollGone), request: res, coding: coding)
    }

    /// Answers a long poll with `body`, compressed when the request accepts a coding, the
    /// configuration's `httpCompression` is on and the body reaches its threshold (the reference
    /// server's rule). The compressor is the loop's, shared; a body that does not shrink goes
    /// out plain.
    private func answerPoll(_ res: EngineIOPollResponder, _ body: [UInt8], coding: HTTPContentCoding?, compress: Bool = true) {
        if compress, let coding, let threshold = configuration.httpCompression?.threshold, body.count >= threshold,
           let compressor = loop.local(HTTPBodyCompressors.self, orMake: { HTTPBodyCompressors() }).compressor(for: coding),
           let compressed = body.withUnsafeBytes({ compressor.compress($0) }) {
            res.respond(contentType: Self.contentType, headers: [("Content-Encoding", coding.rawValue)], body: compressed)
        } else {
            res.respond(contentType: Self.contentType, body: body)
        }
    }

    /// Packets posted by the client: each is fed to the machine as it decodes, and what it asks
    /// (deliver to the application, answer a ping) is done before the next one. `byteCount` is
    /// the body's length, which a body forwarded from another loop carries alone when too large.
    func post(_ body: UnsafeRawBufferPointer, byteCount: Int, _ res: EngineIOPollResponder) {
        if let refused = machine.pointee.postArrived(byteCount: byteCount) {
            return perform(refused, request: res)
        }
        do throws(EngineIOProtocolError) {
            try EngineIOPayload.decode(body) { element in
                switch element {
                case .text(let type, let data): receive(type, data)
                case .binary(let data): receiveBinary(data)
                }
            }
        } catch {
            return perform(machine.pointee.postFailed(error), request: res)
        }
        perform(machine.pointee.postEnded(), request: res)
    }

    // MARK: Receiving

    func receive(_ type: EngineIOPacketType, _ data: UnsafeRawBufferPointer) {
        switch machine.pointee.receive(type, data, now: loop.now) {
        case .none: break
        case .deliver: delegate?.engineIOSession(self, didReceiveText: data)
        case .perform(let actions): perform(actions)
        }
    }

    func receiveBinary(_ data: UnsafeRawBufferPointer) {
        guard machine.pointee.receiveBinary() else { return }
        delegate?.engineIOSession(self, didReceiveBinary: data)
    }

    /// A packet on the WebSocket transport did not decode.
    func receiveFailed(_ error: EngineIOProtocolError) {
        perform(machine.pointee.receiveFailed(error))
    }

    // MARK: Lifecycle

    /// The open packet went out: the heartbeat starts.
    func start() {
        perform(machine.pointee.open(now: loop.now))
    }

    /// The session was opened on a WebSocket: it is the transport from the start.
    func attach(webSocket ws: WebSocket) {
        webSocket = ws
    }

    /// A WebSocket with this session's id opened: it may now probe.
    func probeOpened(_ handler: EngineIOWebSocketTransport) {
        guard let actions = machine.pointee.probeOpened() else {
            handler.abandon(code: .policyViolation, reason: EngineIOSessionMachine<Outgoing>.refusedProbeReason)
            return
        }
        perform(actions)  // lets go of the previous probe, if any
        probe = handler
    }

    /// A text packet on the probing WebSocket.
    func probeReceived(_ handler: EngineIOWebSocketTransport, _ type: EngineIOPacketType, _ data: UnsafeRawBufferPointer) {
        guard probe === handler else { return handler.abandon(code: .normal, reason: "") }
        perform(machine.pointee.probeReceived(type, data))
    }

    /// Binary data on the probing WebSocket.
    func probeReceivedBinary(_ handler: EngineIOWebSocketTransport) {
        guard probe === handler else { return handler.abandon(code: .normal, reason: "") }
        perform(machine.pointee.probeReceivedBinary())
    }

    /// The probing WebSocket failed or closed before the upgrade completed: stay on polling.
    func probeFailed(_ handler: EngineIOWebSocketTransport) {
        guard probe === handler else { return }
        probe = nil
        perform(machine.pointee.probeClosed())
    }

    /// Whether a new WebSocket may probe this session.
    var acceptsUpgrade: Bool { machine.pointee.acceptsUpgrade }

    /// The transport WebSocket closed.
    func webSocketClosed(_ ws: WebSocket) {
        guard webSocket === ws else { return }
        perform(machine.pointee.webSocketClosed())
    }

    /// The upgrade on another loop completed: that socket is the transport.
    func attach(remote: EngineIORemoteSocket) {
        remoteSocket = remote
    }

    /// The transport WebSocket on another loop closed.
    func remoteSocketClosed(_ remote: EngineIORemoteSocket) {
        guard remoteSocket === remote else { return }
        perform(machine.pointee.webSocketClosed())
    }

    /// Closes for `reason`. A server-initiated close first delivers what is queued and a close
    /// packet; any other reason ends the session at once.
    func close(_ reason: EngineIOCloseReason) {
        perform(machine.pointee.close(reason))
    }

    // MARK: Performing the machine's actions

    /// Does what the machine asked, in order. `request` is the request being handled, if any.
    /// Runs on the loop's thread; an action may feed the machine again (a responder's shutdown
    /// hook runs at once while the loop drains): each input returns its actions before any is
    /// performed, so the machine is never entered twice at once.
    private func perform(_ actions: [EngineIOSessionMachine<Outgoing>.Action], request: EngineIOPollResponder? = nil,
                         coding: HTTPContentCoding? = nil) {
        // The transport socket as it was: `finished` lets go of it before a slow consumer's abort.
        let transportSocket = webSocket
        let remoteTransport = remoteSocket
        for action in actions {
            switch action {
            case .holdPoll:
                guard let res = request else { continue }
                hold(res, coding: coding)
            case .answerHeldPoll(let body):
                guard let res = heldPoll else { continue }
                heldPoll = nil
                guard res.isPending else {
                    // The poll's connection is gone (its abandonment normally ends the session first).
                    perform(machine.pointee.heldPollLost())
                    continue
                }
                answerPoll(res, body, coding: heldPollCoding, compress: takeAnswerCompression())
            case .respond(let response):
                guard let res = request else { continue }
                switch response {
                case .packets(let body): answerPoll(res, body, coding: coding)
                case .ok: res.respond(contentType: "text/html", body: "ok" as StaticString)
                case .payloadTooLarge:
                    res.respond(.contentTooLarge, contentType: "text/plain; charset=utf-8", body: "Payload Too Large\n" as StaticString)
                case .error(let error): res.respondError(error)
                }
            case .sendOnWebSocket(let packet):
                guard let ws = webSocket else {
                    switch packet {
                    case .text(let bytes, let compress): bytes.withUnsafeBytes { remoteSocket?.send(text: $0, compress: compress) }
                    case .binary(let bytes, let compress): bytes.withUnsafeBytes { remoteSocket?.send(binary: $0, compress: compress) }
                    case .shared(let message): remoteSocket?.send(frame: message.webSocketFrame)
                    }
                    continue
                }
                switch packet {
                case .text(let bytes, let compress): bytes.withUnsafeBytes { _ = ws.send(text: $0, compress: compress) }
                case .binary(let bytes, let compress): bytes.withUnsafeBytes { _ = ws.send(binary: $0, compress: compress) }
                case .shared(let message): ws.send(frame: message.webSocketFrame)
                }
            case .sendOnProbe(let bytes):
                probe?.send(text: bytes)
            case .adoptProbe:
                guard let p = probe else { continue }
                probe = nil
                p.becomeTransport(of: self)
            case .closeProbe(let code, let reason):
                let p = probe
                probe = nil
                p?.abandon(code: code, reason: reason)
            case .closeWebSocket(let code, let reason):
                transportSocket?.close(code: code, reason: reason)
                remoteTransport?.close(code: code, reason: reason)
            case .abortWebSocket:
                // The backlog is not flushed to a client that does not read: it is dropped now.
                transportSocket?.connection.close(reason: .slowConsumer, flush: false)
                remoteTransport?.abort()
            case .armTimer(let timer, let delay):
                arm(timer, delay)
            case .cancelTimer(let timer):
                if let id = timerID(timer) { loop.cancel(id) }
                setTimerID(timer, nil)
            case .log(let line):
                server.log("session \(id): \(line)")
            case .finished(let reason):
                finished(reason)
            }
        }
    }

    private func hold(_ res: EngineIOPollResponder, coding: HTTPContentCoding?) {
        heldPoll = res
        heldPollCoding = coding
        heldPollNumber += 1
        let number = heldPollNumber
        res.onAbandoned { [weak self] in
            guard let self, self.heldPollNumber == number, self.heldPoll != nil else { return }
            self.heldPoll = nil
            self.perform(self.machine.pointee.heldPollAbandoned())
        }
        // A graceful shutdown ends the session at once: the held poll carries what is queued and
        // a close packet, as the reference server answers it when it closes.
        res.onShutdown { [weak self] in
            guard let self, self.heldPollNumber == number, self.heldPoll != nil else { return }
            self.close(.serverShutdown)
        }
    }

    private func arm(_ timer: EngineIOSessionMachine<Outgoing>.Timer, _ delay: Duration) {
        if let id = timerID(timer) { loop.cancel(id) }
        setTimerID(timer, loop.schedule(after: delay) { [weak self] in
            guard let self else { return }
            self.setTimerID(timer, nil)
            self.perform(self.machine.pointee.timerFired(timer, now: self.loop.now))
        })
    }

    private func timerID(_ timer: EngineIOSessionMachine<Outgoing>.Timer) -> TimerID? {
        switch timer {
        case .heartbeat: heartbeatTimer
        case .closing: closingTimer
        case .upgrade: upgradeTimer
        }
    }

    private func setTimerID(_ timer: EngineIOSessionMachine<Outgoing>.Timer, _ id: TimerID?) {
        switch timer {
        case .heartbeat: heartbeatTimer = id
        case .closing: closingTimer = id
        case .upgrade: upgradeTimer = id
        }
    }

    /// The machine ended the session: let go of its sockets, leave the server's table, tell the
    /// delegate. The machine says so once.
    private func finished(_ reason: EngineIOCloseReason) {
        heldPoll = nil
        webSocket = nil
        remoteSocket = nil
        probe = nil
        server.sessionDidClose(self)
        let d = delegate
        delegate = nil
        d?.engineIOSessionDidClose(self, reason: reason)
    }
}
