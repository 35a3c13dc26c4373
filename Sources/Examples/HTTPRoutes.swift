import Connections
import Protocols
import Reactor

/// README.md, "Routes": parameters, a trailing `*`, a group and a route with its own body limit
/// and timeout, on `router`. The body is the README's snippet verbatim (`ExamplesTests` compares
/// the two); `swift run Examples routes` serves it on 127.0.0.1:8080.
func routesWithPatterns(on router: HTTPRouter) {
    router.get("/users/:id") { req, res in
        res.respond(contentType: "text/plain", body: "user \(req.parameter("id") ?? "")\n")
    }
    router.get("/files/*") { req, res in
        // As sent: "%2F" stays inside its segment; `decoded("*")` for the decoded String.
        res.respond(contentType: .string(mimeType(of: req.parameters.rest!)), body: "...")
    }
    router.group("/api") { api in
        api.post("/upload", maxBodyBytes: 16 << 20, timeout: .seconds(30)) { req, res in
            res.respond(.created, body: "\(req.body.count) bytes\n")
        }
    }
}

/// A content type computed at run time, for the README's `/files/*` route.
func mimeType(of path: HTTPByteView) -> String {
    path.string.hasSuffix(".css") ? "text/css" : "application/octet-stream"
}
