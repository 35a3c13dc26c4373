import Protocols
import Reactor

/// An Engine.IO v4 server on one loop: sessions by id, the polling and WebSocket transports, the
/// upgrade between them, heartbeats and the protocol's errors.
///
///     let engine = EngineIOServer(loop: loop)
///     engine.onConnection = { session in session.delegate = MyHandler() }
///     engine.install(on: router, path: "/engine.io/")
///
/// Everything runs on the loop's thread; the session table and every session's timers belong
/// to it.
public final class EngineIOServer {
    public let loop: EventLoop
    public let configuration: EngineIOConfiguration
    /// Called for every new session, before its first packet is read: set its delegate here.
    public var onConnection: ((EngineIOSession) -> Void)?
    /// Vets each handshake (a request without `sid`, long poll or WebSocket) before a session
    /// exists, as the reference's `allowRequest`: return nil to let it through, or a message to
    /// refuse it with 403 and `{"code":4,"message":<it>}` (the reference's answer). It sees the
    /// headers, query, URL and address; nil (the default) lets every handshake through.
    public var allowRequest: ((EngineIOHandshakeRequest) -> String?)?
    /// Like `allowRequest`, for a decision made later (a lookup, a rate limiter on another
    /// service): the reference's `allowRequest(req, callback)`. It gets the request and `decide`,
    /// to call once, on the loop, with nil to let the handshake through or the refusal's message.
    /// Runs after `allowRequest`, when both are set. At most `maxPendingHandshakes` wait at once,
    /// each at most `allowRequestTimeout` (then 503); a second call of `decide` is ignored
    /// (EngineIOServer+AllowRequest.swift).
    public var allowRequestLater: ((EngineIOHandshakeRequest, _ decide: @escaping (String?) -> Void) -> Void)?
    /// Handshakes waiting for `allowRequestLater`.
    public internal(set) var pendingHandshakes = 0
    /// One line per rejected request or failed session, at `.info` (a client that goes away or
    /// misbehaves is routine for a public endpoint), rate-limited per loop. Set `log.sink` to
    /// route them elsewhere (default: standard error), or share one `RateLimitedLog`.
    public var log: RateLimitedLog
    /// Wire encodings made by shared messages (`EngineIOMessage`) created with these counters.
    public let counters = EngineIOCounters()

    private var sessions: [String: EngineIOSession] = [:]
    /// This server's part in a group of loops (`join`), if any.
    private(set) var forwarding: EngineIOForwarding?
    /// One buffer every session encodes its outgoing text packets into (the loop is single-threaded).
    var scratch: [UInt8] = []

    public init(loop: EventLoop, configuration: EngineIOConfiguration = EngineIOConfiguration()) {
        self.loop = loop
        self.configuration = configuration
        self.log = RateLimitedLog(sink: .standardError(), level: .info, label: "engine.io: ", loop: loop)
        scratch.reserveCapacity(4096)
    }

    /// Open sessions.
    public var sessionCount: Int { sessions.count }

    /// The open session with this id.
    public func session(id: String) -> EngineIOSession? { sessions[id] }

    /// Makes this server loop `index`'s member of `group`: its session ids name this loop, and
    /// requests for sessions of the group's other loops are handed to them instead of being
    /// refused as unknown (EngineIOLoopGroup.swift). Call once, on the loop, before serving.
    public func join(_ group: EngineIOLoopGroup, index: Int) {
        precondition(forwarding == nil, "join is called once")
        precondition((0..<group.count).contains(index), "loop index \(index) out of the group's 0 ..< \(group.count)")
        forwarding = EngineIOForwarding(group: group, index: index, server: self)
        group.register(self, index: index)
    }

    /// Serves every request whose path starts with `path`, any method.
    public func install(on router: HTTPRouter, path: String = "/engine.io/") {
        router.onPrefix(path) { [self] req, res in handle(req, res) }
    }

    /// Handles one Engine.IO request (for applications that route by themselves).
    public func handle(_ req: HTTPRequest, _ res: HTTPResponder) {
        let verdict = configuration.origins.verdict(req.head)
        // Every answer to a browser's request depends on its Origin (CORS headers or none, 403 or
        // not): say so to caches, whatever the verdict.
        if verdict != .noOrigin { res.addHeader("Vary", "Origin") }
        switch verdict {
        case .noOrigin, .sameOrigin:
            break
        case .refused:
            log("refused a request from origin \(req.header("origin")?.string ?? "") (see EngineIOConfiguration.origins)")
            return respondError(.forbidden, res)
        case .allowedCrossOrigin:
            if req.method == .options { return answerPreflight(req, res) }
            addCORSHeaders(req, res)
        }
        let route = EngineIORoute.classify(
            method: req.method, eio: req.queryValue("EIO"), transport: req.queryValue("transport"),
            sid: req.queryValue("sid"), isWebSocketUpgrade: WebSocketHandshake.isUpgradeRequest(req.head),
            enabled: configuration.transports)
        switch route {
        case .reject(let error):
            respondError(error, res)
        case .openPolling:
            let request = EngineIOHandshakeRequest(req)
            if refused(request, res) { return }
            if allowRequestLater != nil { return decideLater(request, res) { [self] in openPolling(request, res) } }
            openPolling(request, res)
        case .openWebSocket:
            let request = EngineIOHandshakeRequest(req)
            if refused(request, res) { return }
            if allowRequestLater != nil { return openWebSocketLater(req, request, res) }
            // The session opens once the socket does, after the 101 is written: its id is drawn
            // now, so the cookie, if any, can ride on the 101.
            let sid = newSessionID()
            if let cookie = configuration.cookie { res.addHeader("Set-Cookie", cookie.headerValue(sid: sid)) }
            WebSocket.upgrade(req, res, configuration: configuration.effectiveWebSocket,
                              handler: EngineIOWebSocketTransport(server: self, role: .open(request: request, sid: sid)))
        case .poll(let sid):
            let coding = configuration.httpCompression == nil
                ? nil : HTTPContentCoding.preferred(acceptEncoding: req.header("accept-encoding"))
            if let forwarding, let owner = forwarding.owner(of: sid) {
                return forwarding.forward(.poll(coding: coding), sid: sid, to: owner, res)
            }
            guard let session = lookUp(sid, res) else { return }
            guard session.transport == .polling else { return respondError(.badRequest, res) }
            session.poll(.local(res), coding: coding)
        case .post(let sid):
            if let forwarding, let owner = forwarding.owner(of: sid) {
                let body = req.body.count <= configuration.maxPayload ? Array(req.body) : []
                return forwarding.forward(.post(body: body, byteCount: req.body.count), sid: sid, to: owner, res)
            }
            guard let session = lookUp(sid, res) else { return }
            guard session.transport == .polling else { return respondError(.badRequest, res) }
            session.post(req.body, byteCount: req.body.count, .local(res))
        case .upgrade(let sid):
            if let forwarding, let owner = forwarding.owner(of: sid) {
                return forwarding.forwardUpgrade(req, res, sid: sid, to: owner)
            }
            guard let session = lookUp(sid, res) else { return }
            guard session.acceptsUpgrade else { return respondError(.badRequest, res) }
            WebSocket.upgrade(req, res, configuration: configuration.effectiveWebSocket,
                              handler: EngineIOWebSocketTransport(server: self, role: .probe(session)))
        }
    }

    /// Opens a polling session and answers its handshake.
    func openPolling(_ request: EngineIOHandshakeRequest, _ res: HTTPResponder) {
        let session = makeSession(transport: .polling, request: request)
        let open = EngineIOHandshake.openPacketData(sid: session.id, upgrades: upgrades, configuration: configuration)
        var body: [UInt8] = [EngineIOPacketType.open.digit]
        body += open
        addCookie(session, res)
        res.respond(contentType: EngineIOSession.contentType, body: body)
        start(session)
    }

    /// What a polling session may upgrade to: the WebSocket, when upgrades and it are enabled.
    private var upgrades: [String] {
        configuration.allowUpgrades && configuration.transports.contains(.websocket) ? ["websocket"] : []
    }

    /// The session cookie on the handshake's answer, when `configuration.cookie` asks for one.
    func addCookie(_ session: EngineIOSession, _ res: HTTPResponder) {
        guard let cookie = configuration.cookie else { return }
        res.addHeader("Set-Cookie", cookie.headerValue(sid: session.id))
    }

    /// A CORS preflight from an allowed origin: which methods and headers its page may use (the
    /// two Engine.IO uses, and whatever headers it asked for, as the `cors` module reflects them).
    private func answerPreflight(_ req: HTTPRequest, _ res: HTTPResponder) {
        addCORSHeaders(req, res)
        res.addHeader("Access-Control-Allow-Methods", "GET, POST")
        if let asked = req.header("access-control-request-headers") {
            res.addHeader("Access-Control-Allow-Headers", asked.string)
        }
        res.addHeader("Access-Control-Max-Age", "600")
        res.respond(.noContent)
    }

    /// Names the page's origin (never `*`, which browsers refuse beside credentials), with
    /// credentials unless `corsCredentials` is off, as socket.io's `cors: {origin, credentials}`.
    private func addCORSHeaders(_ req: HTTPRequest, _ res: HTTPResponder) {
        guard let origin = req.header("origin") else { return }
        res.addHeader("Access-Control-Allow-Origin", origin.string)
        if configuration.corsCredentials { res.addHeader("Access-Control-Allow-Credentials", "true") }
    }

    private func lookUp(_ sid: String, _ res: HTTPResponder) -> EngineIOSession? {
        guard let session = sessions[sid] else {
            respondError(.unknownSessionID, res)
            return nil
        }
        return session
    }

    /// A fresh id, naming this loop when the server is in a group.
    func newSessionID() -> String {
        func draw() -> String { forwarding.map { EngineIOHandshake.makeSessionID(loop: $0.index) } ?? EngineIOHandshake.makeSessionID() }
        var id = draw()
        while sessions[id] != nil { id = draw() }
        return id
    }

    private func makeSession(transport: EngineIOTransport, request: EngineIOHandshakeRequest, id wanted: String? = nil) -> EngineIOSession {
        // A wanted id (drawn before a WebSocket opened) is taken unless a session took it since.
        let id = wanted.flatMap { sessions[$0] == nil ? $0 : nil } ?? newSessionID()
        let session = EngineIOSession(
            id: id, server: self, transport: transport, request: request)
        sessions[id] = session
        return session
    }

    /// A WebSocket opened without a session: the session starts on it. `request` is what was kept
    /// of the handshake request, whose bytes are gone by now.
    func openSession(on ws: WebSocket, request: EngineIOHandshakeRequest, sid: String) -> EngineIOSession {
        let session = makeSession(transport: .websocket, request: request, id: sid)
        session.attach(webSocket: ws)
        var packet: [UInt8] = [EngineIOPacketType.open.digit]
        packet += EngineIOHandshake.openPacketData(sid: session.id, upgrades: [], configuration: configuration)
        packet.withUnsafeBytes { _ = ws.send(text: $0) }
        start(session)
        return session
    }

    private func start(_ session: EngineIOSession) {
        session.start()
        onConnection?(session)
    }

    func sessionDidClose(_ session: EngineIOSession) {
        if sessions[session.id] === session { sessions[session.id] = nil }
    }

    /// Closes every session (the server is going away).
    public func closeAll() {
        for session in Array(sessions.values) { session.close(.serverShutdown) }
    }

    /// Whether `allowRequest` refused the handshake `request` (then answered).
    private func refused(_ request: EngineIOHandshakeRequest, _ res: HTTPResponder) -> Bool {
        guard let allowRequest, let message = allowRequest(request) else { return false }
        refuse(request, message, res)
        return true
    }

    /// Answers a handshake refused by `allowRequest` or `allowRequestLater`: 403 and
    /// `{"code":4,"message":<message>}`, as the reference does.
    func refuse(_ request: EngineIOHandshakeRequest, _ message: String, _ res: HTTPResponder) {
        log("handshake from \(request.address?.description ?? "?") refused by allowRequest: \(message)")
        let body: JSONValue = ["code": .int(Int64(EngineIORequestError.forbidden.rawValue)), "message": .string(message)]
        res.respond(HTTPStatus(code: EngineIORequestError.forbidden.statusCode), contentType: "application/json", body: body.serialized())
    }

    func respondError(_ error: EngineIORequestError, _ res: HTTPResponder) {
        Self.respondError(error, res)
    }

    static func respondError(_ error: EngineIORequestError, _ res: HTTPResponder) {
        res.respond(HTTPStatus(code: error.statusCode), contentType: "application/json", body: error.body)
    }
}
