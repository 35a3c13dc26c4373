import Foundation
import Glibc
@testable import Connections
import Protocols
import Reactor
import ReactorTestSupport
import XCTest

/// The router: registration (what it refuses), lookup order, and over 127.0.0.1 parameters,
/// groups, per-route body limits and timeouts, and the outbound rules as the glue applies them.
final class HTTPRouterTests: XCTestCase {
    typealias Reader = HTTPServerTests.Reader
    private let noop: HTTPHandler = { _, _ in }

    // MARK: Registration

    /// What `body` threw (the router's typed error, seen through a plain throwing closure).
    private func refusal(_ body: () throws -> Void) -> HTTPRoutePatternError? {
        do {
            try body()
            return nil
        } catch {
            guard let refused = error as? HTTPRoutePatternError else { XCTFail("\(error)"); return nil }
            return refused
        }
    }

    func testRegisterRefusesPatternsItCannotParse() {
        let router = HTTPRouter()
        XCTAssertEqual(refusal { try router.register(.get, "/users/:", noop) }, .emptyParameterName(pattern: "/users/:"))
        XCTAssertEqual(refusal { try router.register(.get, "/f/*/x", noop) }, .wildcardNotLast(pattern: "/f/*/x"))
        XCTAssertEqual(refusal { try router.register(.get, "/a/:id/:id", noop) }, .duplicateParameter(name: "id", pattern: "/a/:id/:id"))
        XCTAssertEqual(refusal { try router.register(.get, "nope", noop) }, .notAbsolute(pattern: "nope"))
    }

    func testRegisterRefusesConflictingDuplicates() {
        let router = HTTPRouter()
        XCTAssertNil(refusal { try router.register(.get, "/users/:id", noop) })
        XCTAssertNil(refusal { try router.register(.delete, "/users/:id", noop) }, "another method on the same pattern")
        XCTAssertEqual(refusal { try router.register(.get, "/users/:id", noop) }, .duplicateRoute(method: "GET", pattern: "/users/:id"))
        XCTAssertEqual(refusal { try router.register(.put, "/users/:name", noop) },
                       .conflictingNames(pattern: "/users/:name", existing: "/users/:id"))
        XCTAssertNil(refusal { try router.register(.get, "/plain", noop) })
        XCTAssertEqual(refusal { try router.register(.get, "/plain", noop) }, .duplicateRoute(method: "GET", pattern: "/plain"))
        XCTAssertNil(refusal { try router.register(.get, "/users/me", noop) }, "a static path beside a pattern is no conflict")
        let group = HTTPRouteGroup(router: router, prefix: "/api")
        XCTAssertNil(refusal { try group.register(.get, "/users/:id", noop) })
        XCTAssertEqual(refusal { try group.register(.get, "/users/:id", noop) }, .duplicateRoute(method: "GET", pattern: "/api/users/:id"))
    }

    // MARK: Lookup order

    private func resolve(_ router: HTTPRouter, _ method: HTTPMethod, _ path: String) -> String {
        let bytes = Array(path.utf8)
        return bytes.withUnsafeBytes { raw in
            var captures = HTTPRouteCaptures()
            switch router.match(method: method, path: HTTPByteView(start: raw.baseAddress!, count: raw.count), captures: &captures) {
            case .route(_, let extras) where extras?.takeUnretainedValue().pattern == nil: return "route:static"
            case .route(_, let extras):
                let values = (0..<captures.count).map { String(decoding: raw[captures[$0]], as: UTF8.self) }
                return "\(extras!.takeUnretainedValue().pattern!.text)=\(values.joined(separator: ","))"
            case .methodNotAllowed(let allow): return "405:\(allow)"
            case .options(let allow): return "options:\(allow)"
            case .notFound: return "404"
            }
        }
    }

    func testStaticBeforeLiteralSegmentsBeforeParametersBeforeWildcardsBeforePrefixes() {
        let router = HTTPRouter()
        router.get("/users/me", noop)
        router.get("/users/:id", noop)
        router.get("/users/:id/:tab", noop)
        router.get("/users/me/:tab", noop)
        router.get("/users/*", noop)
        router.onPrefix("/u", noop)
        XCTAssertEqual(resolve(router, .get, "/users/me"), "route:static")
        XCTAssertEqual(resolve(router, .get, "/users/42"), "/users/:id=42")
        XCTAssertEqual(resolve(router, .head, "/users/42"), "/users/:id=42", "HEAD falls back to GET")
        XCTAssertEqual(resolve(router, .get, "/users/me/posts"), "/users/me/:tab=posts")
        XCTAssertEqual(resolve(router, .get, "/users/7/posts"), "/users/:id/:tab=7,posts")
        XCTAssertEqual(resolve(router, .get, "/users/7/posts/1"), "/users/*=7/posts/1")
        XCTAssertEqual(resolve(router, .get, "/users/"), "/users/*=")
        XCTAssertEqual(resolve(router, .get, "/users"), "route:static")  // the "/u" prefix
        XCTAssertEqual(resolve(router, .post, "/users/42"), "405:GET, HEAD, OPTIONS")
        XCTAssertEqual(resolve(router, .options, "/users/42"), "options:GET, HEAD, OPTIONS")
        XCTAssertEqual(resolve(router, .get, "/other"), "404")
    }

    func testManyExactRoutesEachFindTheirOwn() {
        // Past the exact table's first capacity (it doubles at half full) and with colliding
        // probe chains: every path still finds its own route, and a near miss finds none.
        let router = HTTPRouter()
        for i in 0..<300 { router.get("/r\(i)", noop) }
        router.post("/r7", noop)
        for i in 0..<300 { XCTAssertEqual(resolve(router, .get, "/r\(i)"), "route:static", "/r\(i)") }
        XCTAssertEqual(resolve(router, .put, "/r7"), "405:GET, POST, HEAD, OPTIONS")
        XCTAssertEqual(resolve(router, .get, "/r300"), "404")
        XCTAssertEqual(resolve(router, .get, "/r"), "404")
        XCTAssertEqual(resolve(router, .get, ""), "404")
    }

    func testExactPathsOfEveryLengthDifferingInAnyOneByte() {
        // The table hashes a path a word at a time, its tail in overlapping loads: paths of every
        // length to 40, and for each one byte changed at every position, are all told apart.
        let router = HTTPRouter()
        var paths: [String] = []
        for length in 1...40 {
            let base = "/" + String(repeating: "p", count: length - 1)
            paths.append(base)
            for position in 1..<length {
                var bytes = Array(base.utf8)
                bytes[position] = UInt8(ascii: "q")
                paths.append(String(decoding: bytes, as: UTF8.self))
            }
        }
        for path in paths { router.get(path, noop) }
        for path in paths { XCTAssertEqual(resolve(router, .get, path), "route:static", path) }
        XCTAssertEqual(resolve(router, .get, "/" + String(repeating: "p", count: 40)), "404")
        XCTAssertEqual(resolve(router, .get, "/pr"), "404")
        XCTAssertEqual(resolve(router, .get, ""), "404")
    }

    func testGroupsPrefixAndNest() {
        let router = HTTPRouter()
        router.group("/api/") { api in
            api.get("/users/:id", noop)
            api.get("/", noop)
            api.group("/v2") { v2 in v2.post("/items/*", noop) }
        }
        XCTAssertEqual(resolve(router, .get, "/api/users/5"), "/api/users/:id=5")
        XCTAssertEqual(resolve(router, .get, "/api"), "route:static")
        XCTAssertEqual(resolve(router, .post, "/api/v2/items/a/b"), "/api/v2/items/*=a/b")
        XCTAssertEqual(resolve(router, .get, "/users/5"), "404")
    }

    // MARK: Over sockets

    /// Starts a server with `routes` on its own loop thread.
    private func start(
        configure: @escaping @Sendable (inout HTTPServerConfiguration) -> Void = { _ in },
        routes: @escaping @Sendable (HTTPRouter) -> Void
    ) throws -> (EventLoopThread, UInt16) {
        try startHTTPServer(configure: configure) { router, _ in routes(router) }
    }

    func testParametersReachTheHandlerByName() throws {
        let (server, port) = try start { router in
            router.get("/users/:id/posts/:post") { req, res in
                res.respond(body: "id=\(req.parameters["id"]!.string) post=\(req.parameter("post")!) static=\(req.parameters.isEmpty)")
            }
            router.get("/files/:name") { req, res in
                res.respond(body: "raw=\(req.parameters["name"]!) decoded=\(req.parameters.decoded("name")!)")
            }
            router.get("/static/*") { req, res in res.respond(body: "rest=\(req.parameters.rest!)") }
            router.get("/plain") { req, res in res.respond(body: "empty=\(req.parameters.isEmpty) none=\(req.parameter("id") == nil)") }
        }
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        defer { client.close() }
        let reader = Reader(client)
        client.send("GET /users/42/posts/hello?x=1 HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(reader.response()?.text, "id=42 post=hello static=false")
        client.send("GET /files/a%2Fb%20c HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(reader.response()?.text, "raw=a%2Fb%20c decoded=a/b c")
        client.send("GET /files/a/b HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(reader.response()?.status, 404, "a real slash is a segment boundary")
        client.send("GET /static/css/site.css HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(reader.response()?.text, "rest=css/site.css")
        client.send("GET /plain HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(reader.response()?.text, "empty=true none=true")
    }

    func testGroupRoutesOverTheWire() throws {
        let (server, port) = try start { router in
            router.group("/api") { api in
                api.get("/users/:id") { req, res in res.respond(body: "user \(req.parameter("id")!)") }
            }
        }
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        defer { client.close() }
        let reader = Reader(client)
        client.send("GET /api/users/9 HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(reader.response()?.text, "user 9")
        client.send("DELETE /api/users/9 HTTP/1.1\r\nHost: t\r\n\r\n")
        let r = reader.response()
        XCTAssertEqual(r?.status, 405)
        XCTAssertEqual(r?.headers["allow"], "GET, HEAD, OPTIONS")
    }

    /// POSTs `bytes` to `path`; the status, and (when `waitForClose`) whether the server closed.
    private func post(_ port: UInt16, _ path: String, bytes: Int, chunked: Bool = false, waitForClose: Bool = false) throws -> (Int?, closed: Bool) {
        let client = try BlockingClient(port: port)
        defer { client.close() }
        let body = String(repeating: "x", count: bytes)
        if chunked {
            client.send("POST \(path) HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\(String(bytes, radix: 16))\r\n\(body)\r\n0\r\n\r\n")
        } else {
            client.send("POST \(path) HTTP/1.1\r\nHost: t\r\nContent-Length: \(bytes)\r\n\r\n\(body)")
        }
        let reader = Reader(client)
        let status = reader.response()?.status
        return (status, waitForClose && reader.isClosed)
    }

    func testPerRouteBodyLimitsOverrideTheServersBothWays() throws {
        let (server, port) = try start(configure: { $0.limits.maxBodyLength = 1000 }) { router in
            router.post("/small", maxBodyBytes: 100) { req, res in res.respond(body: "\(req.body.count)") }
            router.post("/large", maxBodyBytes: 5000) { req, res in res.respond(body: "\(req.body.count)") }
            router.post("/default") { req, res in res.respond(body: "\(req.body.count)") }
        }
        defer { server.stopAndJoin() }
        // Over the route's limit, under the server's: 413 and close; the same body elsewhere: 200.
        XCTAssertEqual(try post(port, "/small", bytes: 101).0, 413)
        XCTAssertEqual(try post(port, "/small", bytes: 101, waitForClose: true).closed, true)
        XCTAssertEqual(try post(port, "/small", bytes: 100).0, 200)
        XCTAssertEqual(try post(port, "/default", bytes: 101).0, 200)
        XCTAssertEqual(try post(port, "/small", bytes: 101, chunked: true).0, 413, "chunks add up to the route's limit too")
        // Over the server's limit, under the route's: accepted there only.
        XCTAssertEqual(try post(port, "/large", bytes: 4000).0, 200)
        XCTAssertEqual(try post(port, "/large", bytes: 4000, chunked: true).0, 200)
        XCTAssertEqual(try post(port, "/default", bytes: 4000).0, 413)
        XCTAssertEqual(try post(port, "/default", bytes: 4000, chunked: true).0, 413)
        XCTAssertEqual(try post(port, "/nowhere", bytes: 4000).0, 413, "an unrouted body gets the server's limit")
        XCTAssertEqual(try post(port, "/large", bytes: 5001).0, 413)
    }

    func testRouteLimitIsAppliedAtTheHeadBeforeTheBodyIsRead() throws {
        let (server, port) = try start { router in
            router.post("/upload", maxBodyBytes: 10) { _, res in res.respond(body: "read") }
        }
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        defer { client.close() }
        // Expect: 100-continue and no body sent at all: the answer must not wait for it.
        client.send("POST /upload HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n")
        let reader = Reader(client)
        XCTAssertEqual(reader.response()?.status, 413)
        XCTAssertTrue(reader.isClosed)
    }

    func testPerRouteTimeoutReplacesTheBodyIdleTimeout() throws {
        let (server, port) = try start(configure: { $0.idleTimeout = .seconds(30) }) { router in
            router.post("/slow", timeout: .milliseconds(200)) { _, res in res.respond(body: "ok") }
        }
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        defer { client.close() }
        let started = Date()
        client.send("POST /slow HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
        let reader = Reader(client)
        XCTAssertEqual(reader.response()?.status, 408)
        XCTAssertLessThan(Date().timeIntervalSince(started), 3, "the route's timeout, not the server's 30 s")
    }

    // MARK: Outbound rules as the glue applies them

    func testStringContentTypeAndApplicationConnectionClose() throws {
        let (server, port) = try start { router in
            router.get("/typed") { req, res in
                let type = "text/" + (req.queryValue("t") ?? "plain")
                res.respond(contentType: .string(type), body: "x")
            }
            router.get("/bye") { _, res in res.respond(headers: [("Connection", "close")], body: "bye") }
        }
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        defer { client.close() }
        let reader = Reader(client)
        client.send("GET /typed?t=csv HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(reader.response()?.headers["content-type"], "text/csv")
        client.send("GET /bye HTTP/1.1\r\nHost: t\r\n\r\n")
        let text = String(decoding: client.receiveAll(), as: UTF8.self)
        XCTAssertEqual(text.components(separatedBy: "Connection: close").count - 1, 1, "one Connection field: \(text)")
        XCTAssertTrue(text.hasSuffix("\r\n\r\nbye"), text)
    }

    func testNoBodyFor204And304AndAStreamed204StaysOpen() throws {
        let (server, port) = try start { router in
            router.get("/204") { _, res in res.respond(.noContent, body: "ignored") }
            router.get("/304") { _, res in res.respond(.notModified) }
            router.get("/stream204") { _, res in
                res.beginStream(.noContent)
                res.write("ignored")
                res.end()
            }
            router.get("/after") { _, res in res.respond(body: "after") }
        }
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        defer { client.close() }
        client.send("GET /204 HTTP/1.1\r\nHost: t\r\n\r\nGET /304 HTTP/1.1\r\nHost: t\r\n\r\nGET /stream204 HTTP/1.1\r\nHost: t\r\n\r\nGET /after HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        let text = String(decoding: client.receiveAll(), as: UTF8.self)
        let responses = text.components(separatedBy: "HTTP/1.1 ").dropFirst()
        XCTAssertEqual(responses.count, 4, text)
        for r in responses.prefix(3) {
            XCTAssertFalse(r.contains("Content-Length"), r)
            XCTAssertFalse(r.contains("Transfer-Encoding"), r)
            XCTAssertTrue(r.hasSuffix("\r\n\r\n"), "no body: \(r.debugDescription)")
        }
        XCTAssertTrue(text.hasSuffix("\r\n\r\nafter"), text)
    }
}
