import Protocols
import Reactor

/// A route handler written with async/await: it gets the request and returns the response. It
/// runs as a task on the request's loop (the loop is its executor preference), so between its
/// `await`s it runs on the loop's thread like any callback, and the request stays readable until
/// the response is sent (`HTTPRequest`); what it awaits elsewhere (an actor, a database client)
/// runs where that code runs, and the task comes back to the loop.
///
/// A thrown error answers 500 (and one line in the server's log); a client that goes away, or a
/// shutdown whose drain deadline passes, cancels the task (`Task.isCancelled`, or the
/// `CancellationError` its next cancellable `await` throws).
public typealias HTTPAsyncHandler = (HTTPRequest) async throws -> HTTPResponse

extension HTTPRouteRegistering {
    /// Routes `method` on `path` to an async handler (see `HTTPAsyncHandler`).
    public func on(_ method: HTTPMethod, _ path: String, maxBodyBytes: Int? = nil, timeout: Duration? = nil,
                   streamsBody: Bool = false, async handler: @escaping HTTPAsyncHandler) {
        on(method, path, maxBodyBytes: maxBodyBytes, timeout: timeout, streamsBody: streamsBody) { req, res in
            AsyncRoute.start(handler, req, res)
        }
    }

    public func get(_ path: String, maxBodyBytes: Int? = nil, timeout: Duration? = nil, async handler: @escaping HTTPAsyncHandler) {
        on(.get, path, maxBodyBytes: maxBodyBytes, timeout: timeout, async: handler)
    }
    public func post(_ path: String, maxBodyBytes: Int? = nil, timeout: Duration? = nil, streamsBody: Bool = false,
                     async handler: @escaping HTTPAsyncHandler) {
        on(.post, path, maxBodyBytes: maxBodyBytes, timeout: timeout, streamsBody: streamsBody, async: handler)
    }
    public func put(_ path: String, maxBodyBytes: Int? = nil, timeout: Duration? = nil, streamsBody: Bool = false,
                    async handler: @escaping HTTPAsyncHandler) {
        on(.put, path, maxBodyBytes: maxBodyBytes, timeout: timeout, streamsBody: streamsBody, async: handler)
    }
    public func delete(_ path: String, maxBodyBytes: Int? = nil, timeout: Duration? = nil, async handler: @escaping HTTPAsyncHandler) {
        on(.delete, path, maxBodyBytes: maxBodyBytes, timeout: timeout, async: handler)
    }
}

/// Runs one async handler as a task on the request's loop.
enum AsyncRoute {
    static func start(_ handler: @escaping HTTPAsyncHandler, _ req: HTTPRequest, _ res: HTTPResponder) {
        let loop = res.connection.loop
        let handle = loop.handle
        // The handler, the request and the responder belong to the loop and are not Sendable.
        // The task runs with the loop as its executor preference, so its code runs on the loop's
        // thread: `LoopBound` carries them there, and checks it when they are taken out.
        let parts = (handler, req, res)
        let work = LoopBound(parts, on: loop)
        let task = Task(executorPreference: handle) {
            let (handler, req, res) = work.value
            let response: HTTPResponse
            do {
                response = try await handler(req)
            } catch is CancellationError {
                return  // the client left, or the drain deadline passed: nobody to answer
            } catch {
                handle.assumeIsolated { _ in
                    res.exchange.server.log("\(req.method) \(req.path): the async handler threw \(error): 500")
                }
                res.respond(.internalServerError, contentType: "text/plain; charset=utf-8", body: "Internal Server Error\n" as StaticString)
                return
            }
            handle.checkIsolated()
            switch response.body {
            case .bytes(let body):
                res.respond(response.status, contentType: response.contentType, headers: response.headers, body: body)
            case .stream(let framing, let write):
                guard res.beginStream(response.status, contentType: response.contentType, headers: response.headers, framing: framing) else { return }
                do {
                    try await write(HTTPBodyWriter(res))
                    res.end()
                } catch {
                    // The head is gone: no status can say it now. A body cut short is told by
                    // closing the connection (an unfinished chunked body, or a short one).
                    res.connection.close(reason: .local, flush: true)
                }
            }
        }
        res.onAbandoned { task.cancel() }
    }
}
