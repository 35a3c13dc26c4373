import Protocols
import Reactor

/// The web demo's routes on one HTTP server.
func makeWebDemo(loop: EventLoop, log: Log) -> HTTPServer {
    let router = HTTPRouter()

    router.get("/") { _, res in
        res.respond(contentType: "text/html; charset=utf-8", body: indexPage)
    }

    // The TechEmpower-style plaintext answer: the benchmark's request path.
    router.get("/plaintext") { _, res in
        res.respond(contentType: "text/plain", body: "Hello, World!" as StaticString)
    }

    router.post("/echo-body") { req, res in
        res.respond(contentType: "application/octet-stream", body: req.body)
    }

    let server = HTTPServer(loop: loop, router: router)
    server.errorLog = { line in log(.warn, line) }
    return server
}
