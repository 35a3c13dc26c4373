import Connections
import Reactor

/// README.md, after "Embedding a loop": an HTTP server on 127.0.0.1:8080 with a WebSocket route,
/// on `loop` (the caller runs it). The body is the README's snippet verbatim (`ExamplesTests`
/// compares the two).
func httpServerWithAWebSocketRoute(on loop: EventLoop) throws {
    let router = HTTPRouter()
    router.get("/plaintext") { _, res in res.respond(contentType: "text/plain", body: "Hello, World!" as StaticString) }
    router.get("/ws") { req, res in WebSocket.upgrade(req, res, handler: MyWebSocketHandler()) }
    try HTTPServer(loop: loop, router: router).listen(on: SocketAddress(ip: "127.0.0.1", port: 8080))
}

/// The handler the README's WebSocket route names: sends every message back as it came.
final class MyWebSocketHandler: WebSocketHandler {
    func webSocket(_ ws: WebSocket, didReceiveText text: UnsafeRawBufferPointer) {
        _ = ws.send(text: text)
    }

    func webSocket(_ ws: WebSocket, didReceiveBinary data: UnsafeRawBufferPointer) {
        _ = ws.send(binary: data)
    }
}
