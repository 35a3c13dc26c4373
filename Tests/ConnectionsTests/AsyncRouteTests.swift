import Connections
import Glibc
import Protocols
import Reactor
import ReactorTestSupport
import XCTest

/// Route handlers written with async/await, over real sockets on 127.0.0.1.
final class AsyncRouteTests: XCTestCase {
    private static func get(_ port: UInt16, _ target: String, agent: String = "t") throws -> String {
        let c = try BlockingClient(port: port)
        defer { c.close() }
        c.send("GET \(target) HTTP/1.1\r\nHost: t\r\nUser-Agent: \(agent)\r\nConnection: close\r\n\r\n")
        return String(decoding: c.receiveAll(), as: UTF8.self)
    }

    /// The handler returns a response; between its awaits it runs on the loop's thread, and the
    /// request it was given reads its own bytes after an await, while other requests pass.
    func testAnAsyncHandlerAnswersFromTheLoopAfterAwaiting() throws {
        let (server, port) = try startHTTPServer { router, _ in
            router.get("/plaintext-async") { _ in HTTPResponse(contentType: "text/plain", body: "Hello, World!") }
            router.get("/slow/:n") { req async throws -> HTTPResponse in
                let before = req.connection.loop.handle.isOnLoopThread
                try await Task.sleep(for: .milliseconds(Int(req.parameter("n") ?? "0") ?? 0))
                let after = req.connection.loop.handle.isOnLoopThread
                let agent = req.header("user-agent").map { String($0) } ?? "-"
                return HTTPResponse(contentType: "text/plain", body: "path=\(req.path) ua=\(agent) loop=\(before && after)")
            }
        }
        defer { server.stopAndJoin() }
        XCTAssertTrue(try Self.get(port, "/plaintext-async").hasSuffix("\r\n\r\nHello, World!"))
        let answers = Shared<[String: String]>([:])
        let threads = (0..<8).map { i in
            Thread {
                let text = (try? Self.get(port, "/slow/\(80 - 10 * i)", agent: "client-\(i)")) ?? ""
                answers.with { $0["client-\(i)"] = String(text.split(separator: "\r\n").last ?? "") }
            }
        }
        threads.forEach { $0.start() }
        XCTAssertTrue(eventually { answers.get.count == 8 })
        for i in 0..<8 {
            XCTAssertEqual(answers.get["client-\(i)"], "path=/slow/\(80 - 10 * i) ua=client-\(i) loop=true")
        }
    }

    /// A thrown error answers 500 and logs one line.
    func testAThrowingHandlerAnswers500() throws {
        struct Broken: Error {}
        let lines = Shared<[String]>([])
        let (server, port) = try startHTTPServer(made: { server in
            server.log.sink = LogSink(level: .debug) { _, line in lines.with { $0.append(line) } }
        }) { router, _ in
            router.get("/broken") { _ async throws -> HTTPResponse in throw Broken() }
        }
        defer { server.stopAndJoin() }
        XCTAssertTrue(try Self.get(port, "/broken").hasPrefix("HTTP/1.1 500 "))
        XCTAssertTrue(eventually { lines.get.contains { $0.contains("GET /broken: the async handler threw Broken()") } }, "\(lines.get)")
    }

    /// A client that goes away cancels the handler's task.
    func testAClientThatLeavesCancelsTheTask() throws {
        let cancelled = Shared(false)
        let started = Shared(false)
        let (server, port) = try startHTTPServer { router, _ in
            router.get("/wait") { _ async throws -> HTTPResponse in
                started.with { $0 = true }
                do {
                    try await Task.sleep(for: .seconds(30))
                } catch {
                    cancelled.with { $0 = error is CancellationError }
                    throw error
                }
                return HTTPResponse(body: "late")
            }
        }
        defer { server.stopAndJoin() }
        let c = try BlockingClient(port: port)
        c.send("GET /wait HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertTrue(eventually { started.get })
        c.close()
        XCTAssertTrue(eventually { cancelled.get }, "the task saw its cancellation")
    }

    /// One task serves a connection's async requests, one after another, pipelined ones included
    /// and answered in order (a task per request cost three allocations and about 9,000
    /// instructions); another connection has a task of its own.
    func testOneTaskServesTheRequestsOfAConnectionInOrder() throws {
        let (server, port) = try startHTTPServer { router, _ in
            router.get("/task/:n") { req async throws -> HTTPResponse in
                let task = withUnsafeCurrentTask { $0?.hashValue ?? 0 }
                await Task.yield()
                return HTTPResponse(contentType: "text/plain", body: "\(req.parameter("n") ?? "?") \(task)")
            }
        }
        defer { server.stopAndJoin() }
        func answers(pipelined count: Int) throws -> [(n: String, task: String)] {
            let client = try BlockingClient(port: port)
            defer { client.close() }
            client.send((0..<count).map { "GET /task/\($0) HTTP/1.1\r\nHost: t\r\n\r\n" }.joined())
            let reader = HTTPServerTests.Reader(client)
            return (0..<count).compactMap { _ in
                let words = reader.response()?.text.split(separator: " ") ?? []
                return words.count == 2 ? (String(words[0]), String(words[1])) : nil
            }
        }
        let first = try answers(pipelined: 16)
        XCTAssertEqual(first.map(\.n), (0..<16).map { "\($0)" }, "answered in request order")
        XCTAssertEqual(Set(first.map(\.task)).count, 1, "one task served them all")
        let second = try answers(pipelined: 2)
        XCTAssertEqual(second.count, 2)
        XCTAssertNotEqual(second.first?.task, first.first?.task, "another connection, another task")
    }

    /// Async and callback routes pipelined on one connection, each behind the other: answered in
    /// order (an async answer hands the requests behind it over at once, a callback's in turn).
    func testAsyncAndCallbackRoutesPipelinedTogetherAnswerInOrder() throws {
        let (server, port) = try startHTTPServer { router, _ in
            router.get("/a/:n") { req async throws -> HTTPResponse in
                try await Task.sleep(for: .milliseconds(2))
                return HTTPResponse(body: "async \(req.parameter("n") ?? "?")")
            }
            router.get("/c/:n") { req, res in res.respond(body: "callback \(req.parameter("n") ?? "?")") }
        }
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        defer { client.close() }
        let targets = ["/a/0", "/c/1", "/c/2", "/a/3", "/a/4", "/c/5", "/a/6"]
        client.send(targets.map { "GET \($0) HTTP/1.1\r\nHost: t\r\n\r\n" }.joined())
        let reader = HTTPServerTests.Reader(client)
        let bodies = targets.compactMap { _ in reader.response()?.text }
        XCTAssertEqual(bodies, ["async 0", "callback 1", "callback 2", "async 3", "async 4", "callback 5", "async 6"])
    }

    /// 16 requests pipelined to an async route leave as one write: the route task answers them
    /// one after another in one turn of the loop's jobs, and their responses gather in the cork
    /// (before, each answer was written on its own when the next request was handed over).
    func testPipelinedAsyncAnswersLeaveInOneWrite() throws {
        let (server, port) = try startHTTPServer { router, _ in
            router.get("/a") { _ in HTTPResponse(contentType: "text/plain", body: "a") }
            router.get("/writes") { req, res in
                res.respond(body: "\(req.connection.loop.statistics.writes)")
            }
        }
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        defer { client.close() }
        let reader = HTTPServerTests.Reader(client)
        func writes() -> Int? {
            client.send("GET /writes HTTP/1.1\r\nHost: t\r\n\r\n")
            return reader.response().flatMap { Int($0.text) }
        }
        guard let before = writes() else { return XCTFail("no answer") }
        client.send(String(repeating: "GET /a HTTP/1.1\r\nHost: t\r\n\r\n", count: 16))
        XCTAssertEqual((0..<16).compactMap { _ in reader.response()?.text }, Array(repeating: "a", count: 16))
        guard let after = writes() else { return XCTFail("no answer") }
        // One write for /writes' own answer before, one for the 16 (the count is read before
        // the second /writes is answered).
        XCTAssertEqual(after - before, 2, "the 16 answers in one write")
    }
}
