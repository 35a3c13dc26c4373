import Connections
import Reactor

/// README.md, "Embedding a loop": the async forms beside the callback ones, on `router`. The body
/// is the README's snippet verbatim (`ExamplesTests` compares the two).
func asyncRoutes(on router: HTTPRouter) {
    router.get("/plaintext-async") { req in
        HTTPResponse(contentType: "text/plain", body: "Hello, World!")   // a task on the loop
    }
    router.get("/ws-async") { req, res in
        WebSocket.upgrade(req, res) { ws in
            for try await message in ws.messages { try await ws.send(message) }
        }
    }
}
