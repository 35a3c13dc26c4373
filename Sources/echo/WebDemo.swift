import Connections
import Protocols
import Reactor

/// The web demo's routes on one HTTP server.
func makeWebDemo(loop: EventLoop, log: Log, options: Options, webSocketLimits: WebSocketLimits, pubsub: PubSub,
                 socketIOShared: (SocketIODemoShared, index: Int)? = nil) -> HTTPServer {
    let router = HTTPRouter()

    // Counts by transport for /metrics, and the rate-limited log of connection errors.
    let metrics = DemoMetrics(loop: loop, log: log)
    // One echo handler serves every WebSocket: it keeps no per-connection state.
    let echo = WebSocketEcho(metrics: metrics)
    var wsConfiguration = WebSocketConfiguration()
    wsConfiguration.limits = webSocketLimits
    options.configureWebSocket(&wsConfiguration)

    // The page for plain GETs; a WebSocket upgrade on "/" echoes, as the notes' snippet expects.
    router.get("/") { req, res in
        if WebSocketHandshake.isUpgradeRequest(req.head) {
            WebSocket.upgrade(req, res, configuration: wsConfiguration, handler: echo)
        } else {
            res.respond(contentType: "text/html; charset=utf-8", body: indexPage)
        }
    }

    installPageAssets(on: router)

    router.get("/echo") { req, res in
        WebSocket.upgrade(req, res, configuration: wsConfiguration, handler: echo)
    }

    // The same echo written with async/await: a task on this loop per socket.
    router.get("/echo-async") { req, res in
        WebSocket.upgrade(req, res, configuration: wsConfiguration,
                          inboundHighWatermark: options.asyncInboundBytes, inboundLowWatermark: options.asyncInboundBytes / 4) { ws in
            for try await message in ws.messages { try await ws.send(message) }
        }
    }

    // The TechEmpower-style plaintext answer: the benchmark's request path.
    router.get("/plaintext") { _, res in
        res.respond(contentType: "text/plain", body: "Hello, World!" as StaticString)
    }

    // The same answer from an async route: a task on this loop per request.
    router.get("/plaintext-async") { _ in
        HTTPResponse(contentType: "text/plain", body: "Hello, World!")
    }

    router.post("/echo-body") { req, res in
        res.respond(contentType: "application/octet-stream", body: req.body)
    }

    // A deferred answer, written the recommended way (HTTPRequest's notes): keep the request and
    // the responder, read the request when answering. It reads its own bytes until the answer is
    // sent, however many other clients' requests pass through the loop meanwhile.
    router.get("/later") { req, res in
        guard let ms = req.queryValue("ms").flatMap({ Int($0) }), (0...1000).contains(ms) else {
            res.respond(.badRequest, contentType: "text/plain; charset=utf-8",
                        body: "ms must be an integer from 0 to 1000 (GET /later?ms=250)\n" as StaticString)
            return
        }
        loop.schedule(after: .milliseconds(ms)) {
            let agent = req.header("user-agent").map { String($0) } ?? ""
            res.respond(contentType: "text/plain; charset=utf-8", body: "path=\(req.path) ua=\(agent)")
        }
    }

    // The loop's hub, from the service: with several loops its relay gives each room one
    // sequence across them.
    Chat(pubsub: pubsub, webSocket: wsConfiguration, metrics: metrics,
         sseSlowConsumer: .dropOldest(maxPending: options.ssePending, maxPendingBytes: options.ssePendingBytes)).install(on: router)
    metrics.install(on: router, pubsub: pubsub)
    installSocketIODemo(on: router, loop: loop, options: options, log: log, hub: pubsub, groups: socketIOShared)

    var http = HTTPServerConfiguration()
    http.headerReadTimeout = .milliseconds(options.headerTimeoutMilliseconds)
    http.idleTimeout = .milliseconds(options.idleTimeoutMilliseconds)
    http.retainedBodyCapacity = options.retainedBodyCapacity
    // Engine.IO answers an oversized POST itself (413, and the session closes).
    http.limits.maxBodyLength = max(http.limits.maxBodyLength, options.maxPayload)
    let server = HTTPServer(loop: loop, router: router, configuration: http)
    server.log = metrics.errors   // one budget for the HTTP server's lines and the WebSocket closes
    return server
}

/// Sends every message back as it came: text as text, binary as binary.
final class WebSocketEcho: WebSocketHandler {
    let metrics: DemoMetrics
    init(metrics: DemoMetrics) { self.metrics = metrics }

    func webSocketDidOpen(_ ws: WebSocket) { metrics.webSocketOpened(ws, .webSocketEcho) }

    func webSocketWillFail(_ ws: WebSocket, code: WebSocketCloseCode, reason: String) {
        metrics.webSocketFailing(ws, .webSocketEcho, code: code, reason: reason)
    }

    func webSocket(_ ws: WebSocket, didReceiveText text: UnsafeRawBufferPointer) {
        metrics.received(.webSocketEcho)
        if ws.send(text: text) { metrics.sent(.webSocketEcho) }
    }

    func webSocket(_ ws: WebSocket, didReceiveBinary data: UnsafeRawBufferPointer) {
        metrics.received(.webSocketEcho)
        if ws.send(binary: data) { metrics.sent(.webSocketEcho) }
    }

    func webSocketDidClose(_ ws: WebSocket, code: WebSocketCloseCode, reason: String) {
        metrics.webSocketClosed(ws, .webSocketEcho, code: code, reason: reason)
    }
}
