import Protocols
import Reactor

/// The web demo's routes on one HTTP server.
func makeWebDemo(loop: EventLoop, log: Log, options: Options, webSocketLimits: WebSocketLimits, relay: LoopGroupRelay?, loopIndex: Int) -> HTTPServer {
    let router = HTTPRouter()

    // One echo handler serves every WebSocket: it keeps no per-connection state.
    let echo = WebSocketEcho()
    var wsConfiguration = WebSocketConfiguration()
    wsConfiguration.limits = webSocketLimits

    // The page for plain GETs; a WebSocket upgrade on "/" echoes, as the notes' snippet expects.
    router.get("/") { req, res in
        if WebSocketHandshake.isUpgradeRequest(req.head) {
            WebSocket.upgrade(req, res, configuration: wsConfiguration, handler: echo)
        } else {
            res.respond(contentType: "text/html; charset=utf-8", body: indexPage)
        }
    }

    router.get("/echo") { req, res in
        WebSocket.upgrade(req, res, configuration: wsConfiguration, handler: echo)
    }

    // The TechEmpower-style plaintext answer: the benchmark's request path.
    router.get("/plaintext") { _, res in
        res.respond(contentType: "text/plain", body: "Hello, World!" as StaticString)
    }

    router.post("/echo-body") { req, res in
        res.respond(contentType: "application/octet-stream", body: req.body)
    }

    // One hub per loop; with several loops the relay gives each room one sequence across them.
    let pubsub = PubSub(loop: loop)
    relay?.register(pubsub, index: loopIndex)
    Chat(pubsub: pubsub, webSocket: wsConfiguration).install(on: router)

    var http = HTTPServerConfiguration()
    http.headerReadTimeout = .milliseconds(options.headerTimeoutMilliseconds)
    http.idleTimeout = .milliseconds(options.idleTimeoutMilliseconds)
    let server = HTTPServer(loop: loop, router: router, configuration: http)
    server.errorLog = { line in log(.warn, line) }
    return server
}

/// Sends every message back as it came: text as text, binary as binary.
final class WebSocketEcho: WebSocketHandler {
    func webSocket(_ ws: WebSocket, didReceiveText text: UnsafeRawBufferPointer) { ws.send(text: text) }
    func webSocket(_ ws: WebSocket, didReceiveBinary data: UnsafeRawBufferPointer) { ws.send(binary: data) }
}
