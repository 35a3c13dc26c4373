import Protocols
import Reactor

/// The WebSocket upgrade of a polling session that lives on another loop of the group, on the
/// loop the WebSocket landed on: the socket stays here, and each message crosses to the session's
/// loop (one copy, one queued hop), where an `EngineIOWebSocketTransport` over an
/// `EngineIORemoteSocket` plays the probe, then the transport, exactly as for a local socket.
/// What the session sends comes back the same way (`send`, `close`, `abort`, called through a
/// `LoopBound` of this object). Kept alive by its WebSocket and by that `LoopBound`.
final class EngineIOForwardedWebSocket: WebSocketHandler {
    private let group: EngineIOLoopGroup
    private let owner: Int
    private let sid: String
    private let token: UInt64
    private weak var socket: WebSocket?

    init(forwarding: EngineIOForwarding, owner: Int, sid: String) {
        self.group = forwarding.group
        self.owner = owner
        self.sid = sid
        self.token = forwarding.makeToken()
    }

    func webSocketDidOpen(_ ws: WebSocket) {
        socket = ws
        let me = LoopBound(self, on: ws.connection.loop)
        let (sid, token) = (sid, token)
        let handedOver = group.onMember(owner) { server in
            guard let forwarding = server?.forwarding, forwarding.probe(sid: sid, token: token, from: me) else {
                me.execute { $0.refused() }
                return
            }
        }
        if !handedOver { refused() }
    }

    /// The session is unknown there, or refuses a probe, as a local session refuses it.
    private func refused() {
        socket?.close(code: .policyViolation, reason: EngineIOSessionMachine<EngineIOSession.Outgoing>.refusedProbeReason)
    }

    func webSocket(_ ws: WebSocket, didReceiveText text: UnsafeRawBufferPointer) {
        let (bytes, token) = (Array(text), token)
        group.onMember(owner) { server in
            bytes.withUnsafeBytes { server?.forwarding?.remoteTransports[token]?.receiveText($0) }
        }
    }

    func webSocket(_ ws: WebSocket, didReceiveBinary data: UnsafeRawBufferPointer) {
        let (bytes, token) = (Array(data), token)
        group.onMember(owner) { server in
            bytes.withUnsafeBytes { server?.forwarding?.remoteTransports[token]?.receiveBinary($0) }
        }
    }

    func webSocketDidClose(_ ws: WebSocket, code: WebSocketCloseCode, reason: String) {
        let token = token
        group.onMember(owner) { server in server?.forwarding?.remoteTransports[token]?.closed() }
    }

    // MARK: What the session's loop asks (through a LoopBound)

    func send(text: [UInt8], compress: Bool) { text.withUnsafeBytes { _ = socket?.send(text: $0, compress: compress) } }
    func send(binary: [UInt8], compress: Bool) { binary.withUnsafeBytes { _ = socket?.send(binary: $0, compress: compress) } }
    func send(frame: SharedBytes) { _ = socket?.send(frame: frame) }
    func close(code: WebSocketCloseCode, reason: String) { socket?.close(code: code, reason: reason) }
    /// A slow consumer's end there: the backlog is dropped, not flushed.
    func abort() { socket?.connection.close(reason: .slowConsumer, flush: false) }
}

/// On a session's loop, the stand-in for a WebSocket on another loop (`EngineIOForwardedWebSocket`):
/// every call is copied there. Its backlog is that socket's connection's, bounded by that
/// connection's own limits; here it counts as none.
final class EngineIORemoteSocket {
    private let socket: LoopBound<EngineIOForwardedWebSocket>

    init(_ socket: LoopBound<EngineIOForwardedWebSocket>) { self.socket = socket }

    func send(text: UnsafeRawBufferPointer, compress: Bool = true) {
        let bytes = Array(text)
        socket.execute { $0.send(text: bytes, compress: compress) }
    }

    func send(binary: UnsafeRawBufferPointer, compress: Bool = true) {
        let bytes = Array(binary)
        socket.execute { $0.send(binary: bytes, compress: compress) }
    }

    func send(frame: SharedBytes) { socket.execute { $0.send(frame: frame) } }

    func close(code: WebSocketCloseCode, reason: String) { socket.execute { $0.close(code: code, reason: reason) } }

    func abort() { socket.execute { $0.abort() } }
}

extension EngineIOForwarding {
    /// The WebSocket upgrade of a session of loop `owner`, landed here. The handshake is checked
    /// here and now (the request's bytes are gone once this returns); whether the session takes
    /// an upgrade is asked of its loop, and the answer is the local one's: the 101, or 400 with
    /// "Session ID unknown" or "Bad request". The session may still refuse the probe when the
    /// socket opens (it changed meanwhile): the socket then closes, as a refused local probe does.
    func forwardUpgrade(_ req: HTTPRequest, _ res: HTTPResponder, sid: String, to owner: Int) {
        let configuration = server.configuration.effectiveWebSocket
        let originAllowed = configuration.origins.verdict(req.head).isAllowed
        switch WebSocketHandshake.evaluate(req.head, checkOrigin: originAllowed ? nil : { _ in false },
                                           allowDeflate: configuration.permessageDeflate,
                                           contextTakeover: configuration.deflateContextTakeover) {
        case .reject(let status, let headers, let reason):
            res.respond(status, contentType: "text/plain; charset=utf-8", headers: headers, body: reason + "\n")
        case .accept(let headers, let subprotocol, let deflate):
            let pending = LoopBound(PendingUpgrade(forwarding: self, owner: owner, sid: sid, res: res, configuration: configuration,
                                                   headers: headers, subprotocol: subprotocol, deflate: deflate), on: server.loop)
            let asked = group.onMember(owner) { server in
                let verdict: EngineIORequestError? = switch server?.session(id: sid) {
                case nil: .unknownSessionID
                case let session?: session.acceptsUpgrade ? nil : .badRequest
                }
                pending.execute { $0.answer(verdict) }
            }
            if !asked { server.respondError(.unknownSessionID, res) }
        }
    }
}

/// An upgrade request waiting, on the loop it landed on, for the session's loop to say whether
/// the session takes an upgrade.
private final class PendingUpgrade {
    let forwarding: EngineIOForwarding
    let owner: Int
    let sid: String
    let res: HTTPResponder
    let configuration: WebSocketConfiguration
    let headers: [(String, String)]
    let subprotocol: String?
    let deflate: WebSocketHandshake.DeflateParameters?

    init(forwarding: EngineIOForwarding, owner: Int, sid: String, res: HTTPResponder, configuration: WebSocketConfiguration,
         headers: [(String, String)], subprotocol: String?, deflate: WebSocketHandshake.DeflateParameters?) {
        self.forwarding = forwarding
        self.owner = owner
        self.sid = sid
        self.res = res
        self.configuration = configuration
        self.headers = headers
        self.subprotocol = subprotocol
        self.deflate = deflate
    }

    func answer(_ refusal: EngineIORequestError?) {
        guard res.isPending else { return }  // the client went away meanwhile
        if let refusal { return forwarding.server.respondError(refusal, res) }
        let handler = EngineIOForwardedWebSocket(forwarding: forwarding, owner: owner, sid: sid)
        let ws = WebSocket(connection: res.connection, role: .server, configuration: configuration,
                           handler: handler, subprotocol: subprotocol, deflate: deflate)
        res.upgrade(headers: headers, to: ws)
    }
}

extension EngineIOForwarding {
    /// A WebSocket on another loop opened to probe session `sid` of this one: refused (false) when
    /// the session is unknown or takes no probe now, as a local upgrade request would be.
    func probe(sid: String, token: UInt64, from socket: LoopBound<EngineIOForwardedWebSocket>) -> Bool {
        guard let session = server.session(id: sid), session.acceptsUpgrade else { return false }
        let transport = EngineIOWebSocketTransport(server: server, role: .probe(session), remote: EngineIORemoteSocket(socket))
        remoteTransports[token] = transport
        transport.onDone = { [unowned self] in remoteTransports[token] = nil }
        transport.remoteOpened()
        return true
    }
}
