import Protocols
import Reactor

/// `allowRequestLater`: a handshake (a request without `sid`) held until the application decides.
///
/// What is held is what the answer needs, never the request's bytes (gone once the handler
/// returns): the `EngineIOHandshakeRequest` the decision sees, the responder, and for a WebSocket
/// the handshake already checked (its accept headers, subprotocol and deflate terms). Each held
/// handshake counts against `maxPendingHandshakes` until it is decided or `allowRequestTimeout`
/// passes, whichever comes first; the other one is then ignored. A client that went away
/// meanwhile is not answered.
extension EngineIOServer {
    /// Asks `allowRequestLater` about `request`; runs `allowed` if it lets the handshake through,
    /// answers 403 if it refuses it, 503 when too many wait already or no answer comes in time.
    func decideLater(_ request: EngineIOHandshakeRequest, _ res: HTTPResponder, allowed: @escaping () -> Void) {
        guard let allowRequestLater else { return allowed() }
        guard pendingHandshakes < configuration.maxPendingHandshakes else {
            log("handshake from \(request.address?.description ?? "?") refused: \(pendingHandshakes) already wait for allowRequest (maxPendingHandshakes)")
            return respondUnavailable("too many handshakes pending", res)
        }
        pendingHandshakes += 1
        final class Decision {
            var timer: TimerID?
            var done = false
        }
        let decision = Decision()
        let finish: (String?, _ timedOut: Bool) -> Void = { [weak self] refusal, timedOut in
            guard let self, !decision.done else { return }
            decision.done = true
            self.pendingHandshakes -= 1
            if let timer = decision.timer, !timedOut { self.loop.cancel(timer) }
            decision.timer = nil
            guard res.isPending else { return }  // the client went away meanwhile
            if timedOut {
                self.log("handshake from \(request.address?.description ?? "?") refused: allowRequest did not answer within \(self.configuration.allowRequestTimeout)")
                return self.respondUnavailable("allowRequest timed out", res)
            }
            if let refusal { return self.refuse(request, refusal, res) }
            allowed()
        }
        decision.timer = loop.schedule(after: configuration.allowRequestTimeout) { finish(nil, true) }
        let loop = self.loop
        allowRequestLater(request) { refusal in
            loop.handle.checkIsolated()  // `decide` is called on the loop
            finish(refusal, false)
        }
    }

    /// A WebSocket handshake for a new session: checked now, answered (101 or a refusal) once
    /// `allowRequestLater` decides.
    func openWebSocketLater(_ req: HTTPRequest, _ request: EngineIOHandshakeRequest, _ res: HTTPResponder) {
        let webSocket = configuration.effectiveWebSocket
        let originAllowed = webSocket.origins.verdict(req.head).isAllowed
        switch WebSocketHandshake.evaluate(req.head, checkOrigin: originAllowed ? nil : { _ in false },
                                           allowDeflate: webSocket.permessageDeflate,
                                           contextTakeover: webSocket.deflateContextTakeover) {
        case .reject(let status, let headers, let reason):
            res.respond(status, contentType: "text/plain; charset=utf-8", headers: headers, body: reason + "\n")
        case .accept(let headers, let subprotocol, let deflate):
            decideLater(request, res) { [self] in
                let sid = newSessionID()
                var headers = headers
                if let cookie = configuration.cookie { headers.append(("Set-Cookie", cookie.headerValue(sid: sid))) }
                let ws = WebSocket(connection: res.connection, role: .server, configuration: webSocket,
                                   handler: EngineIOWebSocketTransport(server: self, role: .open(request: request, sid: sid)),
                                   subprotocol: subprotocol, deflate: deflate)
                res.upgrade(headers: headers, to: ws)
            }
        }
    }

    private func respondUnavailable(_ message: String, _ res: HTTPResponder) {
        let body: JSONValue = ["code": .int(Int64(EngineIORequestError.forbidden.rawValue)), "message": .string(message)]
        res.respond(HTTPStatus(code: 503), contentType: "application/json", body: body.serialized())
    }
}
