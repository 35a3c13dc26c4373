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
public typealias HTTPAsyncHandler = nonisolated(nonsending) (HTTPRequest) async throws -> HTTPResponse

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

/// One request for an async route: what the connection's route task needs to answer it.
/// Unchecked Sendable because it passes from the connection to the task only through the
/// task's continuation, and both run on the connection's loop (see `LoopOwnedConnection`).
///
/// The request and the responder are kept as their two numbers: the task has their connection
/// already, and each reference kept here was a retain and a release per request.
struct AsyncRouteCall: @unchecked Sendable {
    let handler: HTTPAsyncHandler
    private let generation: UInt64
    private let sequence: UInt64

    init(handler: @escaping HTTPAsyncHandler, request: HTTPRequest, responder: HTTPResponder) {
        self.handler = handler
        self.generation = request.generation
        self.sequence = responder.sequence
    }

    func request(_ exchange: HTTPServerConnection) -> HTTPRequest {
        HTTPRequest(exchange: exchange, generation: generation)
    }

    func responder(_ exchange: HTTPServerConnection) -> HTTPResponder {
        HTTPResponder(exchange: exchange, sequence: sequence)
    }
}

/// A connection's async-route task and what passes between it and the connection, kept by the
/// connection (`HTTPServerConnection.asyncRoutes`).
///
/// One task per connection serves its async requests one after another, as a connection serves
/// requests one at a time (pipelined ones wait): between requests it is suspended on `waiter`,
/// and a request resumes it. A task per request would cost its creation, a slab and a box for
/// its closure (three allocations and about 9,000 instructions per request); a suspended task
/// costs one resumption. Hummingbird keeps a task per connection the same way.
struct AsyncRouteSlot {
    var task: Task<Void, Never>?
    /// A request the task has not taken yet (it was busy finishing the previous one).
    var pending: AsyncRouteCall?
    /// The task, suspended between requests.
    var waiter: UnsafeContinuation<AsyncRouteCall?, Never>?
    /// The task is inside a handler (or its streamed body). A request that arrives meanwhile
    /// can only follow a response the server completed on its own (a streamed request body
    /// that broke its route's limit, say, answered while the handler still runs): that task is
    /// cancelled and left to finish alone, and a new one serves the request, so a handler that
    /// lost its response does not hold up the requests behind it.
    var isRunningHandler = false
    /// The task is completing its response: requests pipelined behind it are handed over at once.
    var isAnswering = false
}

/// Runs async handlers on the request's loop, through the connection's route task.
///
/// A task that is cancelled (its client left, the drain deadline passed, or it was replaced)
/// takes no further request and touches the slot no more: the slot then belongs to its successor.
enum AsyncRoute {
    static func start(_ handler: @escaping HTTPAsyncHandler, _ req: HTTPRequest, _ res: HTTPResponder) {
        let exchange = res.exchange
        let call = AsyncRouteCall(handler: handler, request: req, responder: res)
        if let waiter = exchange.asyncRoutes.waiter {
            exchange.asyncRoutes.waiter = nil
            waiter.resume(returning: call)
            return
        }
        exchange.asyncRoutes.pending = call
        if let task = exchange.asyncRoutes.task {
            // Busy: between a response and its next wait (it takes `pending` there), or still
            // inside a handler whose response came from elsewhere (replaced, see the slot).
            guard exchange.asyncRoutes.isRunningHandler else { return }
            task.cancel()
        }
        // The connection belongs to the loop and is not Sendable. The task runs with the loop as
        // its executor preference, so its code runs on the loop's thread (`serve` checks it).
        // The preference costs a lookup under the task's status lock at every task switch (one
        // per request: the return from the handler). Running the task isolated to an actor on
        // the loop instead, with no preference, was measured and is worse: 4,352 -> 5,264
        // instructions per request (callgrind, 16-deep), as actor-isolated jobs carry status
        // records of their own; and a streamed body's closure would then run off the loop.
        let owned = LoopOwnedConnection(exchange: exchange)
        exchange.asyncRoutes.isRunningHandler = false
        exchange.asyncRoutes.task = Task(executorPreference: exchange.connection.loop.handle) {
            await serve(owned.exchange)
        }
    }

    /// The connection's route task: answers requests until it is cancelled or the connection
    /// has no more use for it (closed, or upgraded).
    private static func serve(_ exchange: HTTPServerConnection) async {
        exchange.connection.loop.handle.checkIsolated()
        // Cancellation is checked once per request (each check reads the task's status through a
        // thread-local, about 40 instructions): here before the first, then by `answer` after the
        // handler's last `await`. What runs after that check is synchronous, on the loop: if it
        // closes the connection (a failed write), the slot is emptied and the task cancelled, and
        // `nextCall` finds no request and checks again before it waits.
        if Task.isCancelled { return }
        while let call = await nextCall(exchange) {
            exchange.asyncRoutes.isRunningHandler = true
            guard await answer(call, exchange) else { return }
            exchange.asyncRoutes.isRunningHandler = false
        }
    }

    /// The next request, nil once the connection has no more use for this task. The caller has
    /// checked cancellation; a wait checks it again when it begins.
    @inline(__always)
    private static func nextCall(_ exchange: HTTPServerConnection) async -> AsyncRouteCall? {
        if let call = exchange.asyncRoutes.pending {
            exchange.asyncRoutes.pending = nil
            return call
        }
        return await withUnsafeContinuation { waiter in
            // Decided here, not before the `await`: the body may run as a job of its own, after
            // a request arrived or the connection closed (AsyncInbox says more).
            if Task.isCancelled {
                waiter.resume(returning: nil)
            } else if let call = exchange.asyncRoutes.pending {
                exchange.asyncRoutes.pending = nil
                waiter.resume(returning: call)
            } else {
                exchange.asyncRoutes.waiter = waiter
            }
        }
    }

    /// Answers one request; false when the task was cancelled and must take no other.
    @inline(__always)
    private static func answer(_ call: AsyncRouteCall, _ exchange: HTTPServerConnection) async -> Bool {
        let (req, res) = (call.request(exchange), call.responder(exchange))
        let response: HTTPResponse
        do {
            response = try await call.handler(req)
        } catch {
            // Cancelled: the client left, the drain deadline passed, or the server answered on
            // its own and the task was replaced. Nobody to answer, and the slot is no longer this task's.
            if Task.isCancelled { return false }
            exchange.server.log("\(req.method) \(req.path): the async handler threw \(error): 500")
            exchange.asyncRoutes.isRunningHandler = false
            res.respond(.internalServerError, contentType: "text/plain; charset=utf-8", body: "Internal Server Error\n" as StaticString)
            return true
        }
        if Task.isCancelled { return false }
        exchange.connection.loop.handle.checkIsolated()
        switch response.body {
        case .bytes(let body):
            // Not running a handler any more: the response may start the next pipelined
            // request at once, which this task then takes.
            exchange.asyncRoutes.isRunningHandler = false
            exchange.asyncRoutes.isAnswering = true
            res.respond(response.status, contentType: response.contentType, headers: response.headers, body: body)
            exchange.asyncRoutes.isAnswering = false
        case .text(let body):
            exchange.asyncRoutes.isRunningHandler = false
            exchange.asyncRoutes.isAnswering = true
            res.respond(response.status, contentType: response.contentType, headers: response.headers, body: body)
            exchange.asyncRoutes.isAnswering = false
        case .stream(let framing, let write):
            guard res.beginStream(response.status, contentType: response.contentType, headers: response.headers, framing: framing) else { return true }
            do {
                try await write(HTTPBodyWriter(res))
                if Task.isCancelled { return false }
                exchange.asyncRoutes.isRunningHandler = false
                exchange.asyncRoutes.isAnswering = true
                res.end()
                exchange.asyncRoutes.isAnswering = false
            } catch {
                // The head is gone: no status can say it now. A body cut short is told by
                // closing the connection (an unfinished chunked body, or a short one).
                res.connection.close(reason: .local, flush: true)
            }
        }
        return true
    }
}

/// The connection, carried into its route task: one reference, so the task's closure needs no
/// box. Sound to send because the task runs on the connection's loop (its executor preference),
/// which `AsyncRoute.serve` checks before touching it.
private struct LoopOwnedConnection: @unchecked Sendable {
    let exchange: HTTPServerConnection
}

