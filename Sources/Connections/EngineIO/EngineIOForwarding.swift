import Protocols
import Reactor

/// One loop's part in an `EngineIOLoopGroup`: what its server hands to other loops (requests for
/// sessions that live there) and what it holds for them (the answers it owes to requests that
/// landed elsewhere, the WebSockets that probe its sessions from elsewhere). Loop-bound: made by
/// `EngineIOServer.join` and touched only on its server's loop.
///
/// Ownership across the hop: the loop a request landed on keeps its `HTTPResponder` (or its
/// WebSocket) and hands the session's loop a `LoopBound` of it; the session's loop keeps, by
/// token, the stand-in it made for that request (`EngineIORemoteResponder`,
/// `EngineIOWebSocketTransport` over an `EngineIORemoteSocket`), so the landing loop can tell it
/// the request was abandoned or the socket closed. Both loops' queues are FIFO, so the news of an
/// abandonment never overtakes the request it is about.
final class EngineIOForwarding {
    let group: EngineIOLoopGroup
    /// This loop's index in the group (what its session ids carry).
    let index: Int
    unowned let server: EngineIOServer
    /// Tokens for what this loop hands over, unique per origin loop: the index in the high bits.
    private var nextToken: UInt64 = 0
    /// Held polls that landed on other loops, by their token.
    var remoteResponders: [UInt64: EngineIORemoteResponder] = [:]
    /// WebSockets on other loops probing (then carrying) this loop's sessions, by their token.
    var remoteTransports: [UInt64: EngineIOWebSocketTransport] = [:]

    init(group: EngineIOLoopGroup, index: Int, server: EngineIOServer) {
        self.group = group
        self.index = index
        self.server = server
    }

    func makeToken() -> UInt64 {
        nextToken += 1
        return UInt64(index) << 48 | nextToken
    }

    /// The loop a request for `sid` must go to, when that is not this one. An id without a
    /// loop index (not made by this group) is looked up here, and so is unknown here.
    func owner(of sid: String) -> Int? {
        guard let owner = EngineIOHandshake.loopIndex(ofSessionID: sid), owner != index else { return nil }
        return owner
    }

    // MARK: The loop a request landed on

    /// Hands a long poll or a POST for a session of loop `owner` to that loop; the answer comes
    /// back to `res` on this one. A body larger than the session's `maxPayload` travels as its
    /// length alone (the session answers it 413 without reading it), so a forwarded request
    /// holds at most `maxPayload` bytes, as a local one does.
    func forward(_ request: EngineIOForwardedRequest.Kind, sid: String, to owner: Int, _ res: HTTPResponder) {
        let token = makeToken()
        let forwarded = EngineIOForwardedRequest(kind: request, sid: sid, token: token, replyTo: LoopBound(res, on: server.loop))
        let handedOver = group.onMember(owner) { server in
            guard let server, let forwarding = server.forwarding else {
                forwarded.replyTo.execute { EngineIOServer.respondError(.unknownSessionID, $0) }
                return
            }
            forwarding.receive(forwarded)
        }
        guard handedOver else { return server.respondError(.unknownSessionID, res) }
        guard case .poll = request else { return }
        // The poll may be held there: tell the holder when it is abandoned here, or when this loop
        // shuts down (the session then closes, answering it with a close packet, as a local one).
        let group = self.group
        res.onAbandoned { group.onMember(owner) { $0?.forwarding?.remoteResponders[token]?.abandon() } }
        res.onShutdown { group.onMember(owner) { $0?.forwarding?.remoteResponders[token]?.shutDown() } }
    }

    // MARK: The session's loop

    /// A request that landed on another loop, for a session of this one.
    private func receive(_ request: EngineIOForwardedRequest) {
        let reply = EngineIORemoteResponder(forwarding: self, token: request.token, replyTo: request.replyTo)
        guard let session = server.session(id: request.sid) else { return reply.respondError(.unknownSessionID) }
        guard session.transport == .polling else { return reply.respondError(.badRequest) }
        switch request.kind {
        case .poll(let coding):
            remoteResponders[request.token] = reply
            session.poll(.remote(reply), coding: coding)
        case .post(let body, let byteCount):
            body.withUnsafeBytes { session.post($0, byteCount: byteCount, .remote(reply)) }
        }
    }
}

/// A long poll or a POST handed from the loop it landed on to its session's loop.
struct EngineIOForwardedRequest: Sendable {
    enum Kind: Sendable {
        /// A long poll; its answer may be compressed with `coding`.
        case poll(coding: HTTPContentCoding?)
        /// A POST: its body when at most `maxPayload` bytes, else nothing and its length.
        case post(body: [UInt8], byteCount: Int)
    }

    let kind: Kind
    let sid: String
    let token: UInt64
    let replyTo: LoopBound<HTTPResponder>
}

/// On a session's loop, the stand-in for a request's `HTTPResponder` on another loop: its answer
/// is copied there, and it learns from there that the request was abandoned or its loop is
/// shutting down.
final class EngineIORemoteResponder {
    private unowned let forwarding: EngineIOForwarding
    private let token: UInt64
    private let replyTo: LoopBound<HTTPResponder>
    /// Not answered yet, and not abandoned as far as this loop has heard.
    private(set) var isPending = true
    private var abandoned: (() -> Void)?
    private var shutdown: (() -> Void)?

    init(forwarding: EngineIOForwarding, token: UInt64, replyTo: LoopBound<HTTPResponder>) {
        self.forwarding = forwarding
        self.token = token
        self.replyTo = replyTo
    }

    func respond(_ status: HTTPStatus, contentType: HTTPContentType, headers: [(String, String)], body: UnsafeRawBufferPointer) {
        guard isPending else { return }
        finish()
        let body = Array(body)
        replyTo.execute { res in res.respond(status, contentType: contentType, headers: headers, body: body) }
    }

    func respondError(_ error: EngineIORequestError) {
        guard isPending else { return }
        finish()
        replyTo.execute { EngineIOServer.respondError(error, $0) }
    }

    func onAbandoned(_ body: @escaping () -> Void) { abandoned = body }
    func onShutdown(_ body: @escaping () -> Void) { shutdown = body }

    func abandon() {
        guard isPending else { return }
        let hook = abandoned
        finish()
        hook?()
    }

    func shutDown() {
        guard isPending else { return }
        shutdown?()
    }

    private func finish() {
        isPending = false
        abandoned = nil
        shutdown = nil
        forwarding.remoteResponders[token] = nil
    }
}

/// Where the answer to a long poll or a POST goes: the request's own responder, or the loop that
/// holds the request (`EngineIORemoteResponder`).
enum EngineIOPollResponder {
    case local(HTTPResponder)
    case remote(EngineIORemoteResponder)

    var isPending: Bool {
        switch self {
        case .local(let res): res.isPending
        case .remote(let res): res.isPending
        }
    }

    func respond(_ status: HTTPStatus = .ok, contentType: HTTPContentType, headers: [(String, String)] = [], body: UnsafeRawBufferPointer) {
        switch self {
        case .local(let res): res.respond(status, contentType: contentType, headers: headers, body: body)
        case .remote(let res): res.respond(status, contentType: contentType, headers: headers, body: body)
        }
    }

    func respond(_ status: HTTPStatus = .ok, contentType: HTTPContentType, headers: [(String, String)] = [], body: [UInt8]) {
        body.withUnsafeBytes { respond(status, contentType: contentType, headers: headers, body: $0) }
    }

    func respond(_ status: HTTPStatus = .ok, contentType: HTTPContentType, body: StaticString) {
        respond(status, contentType: contentType, body: UnsafeRawBufferPointer(start: body.utf8Start, count: body.utf8CodeUnitCount))
    }

    func respondError(_ error: EngineIORequestError) {
        switch self {
        case .local(let res): EngineIOServer.respondError(error, res)
        case .remote(let res): res.respondError(error)
        }
    }

    func onAbandoned(_ body: @escaping () -> Void) {
        switch self {
        case .local(let res): res.onAbandoned(body)
        case .remote(let res): res.onAbandoned(body)
        }
    }

    func onShutdown(_ body: @escaping () -> Void) {
        switch self {
        case .local(let res): res.onShutdown(body)
        case .remote(let res): res.onShutdown(body)
        }
    }
}
