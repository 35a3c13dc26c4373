import Protocols
import Reactor

/// The glue between one reactor connection and an `HTTPRequestParser`: drives the parser over the
/// borrowed input, dispatches each request to its route, writes responses in order, and owns the
/// connection's timeouts.
///
/// States, per connection:
///
///     awaitingHead --head--> readingBody --end--> responding --respond()--> awaitingHead
///          |                                          |  \--beginStream()--> streaming --end()--^
///          +--timeout, error, EOF, not keep-alive-----+------------------------------------> closed
///
/// What goes on the wire for each response (a body or not, Content-Length or chunked or until
/// close, Connection: close or keep-alive, 100 Continue) is decided by the sans-I/O
/// `HTTPResponseRules` made from the request's head; this glue asks it and writes. The route of a
/// request with a body is looked up when its head arrives, so the route's body limit and timeout
/// apply before the body is read; a request without one is routed when it is dispatched.
///
/// While a response is outstanding (`responding`, `streaming`) further input is left unconsumed
/// in the reactor's per-connection tail: pipelined requests wait their turn and are handed back
/// (`redeliverBufferedInput`) when the response completes.
final class HTTPServerConnection: ConnectionHandler {
    enum Phase { case awaitingHead, readingBody, responding, streaming, upgraded, closed }

    // Strong: the loop may release the listener (and with it the server) before this connection.
    let server: HTTPServer
    let connection: Connection
    // The request being read: its head and body, and the generation that says whether an
    // `HTTPRequest` handed out for it may still read them (HTTPRequestStore.swift).
    let request: HTTPRequestStore

    /// The connection's mutable state, reached through a pointer allocated with it: a class's
    /// `var` costs a run-time exclusivity check at every access (DESIGN.md; measured: about 470
    /// instructions per pipelined request, a tenth of them). Only the loop touches it, and no
    /// access to it stays open across a call out (a handler, a send), which is all the checks
    /// would catch. The properties below read and write it in place.
    private struct State {
        var parser: HTTPRequestParser
        var phase = Phase.awaitingHead
        /// Numbers requests; a responder answers only the request it was made for.
        var sequence: UInt64 = 0
        /// The outbound rules for the current request (HEAD, 1xx/204/304, framing, keep-alive,
        /// 100-continue): the sans-I/O machine decides, this glue writes.
        var rules = HTTPResponseRules(method: .get, version: .http1_1, keepAlive: true, expectsContinue: false, bodyFraming: .none)
        /// The route of a request with a body, looked up when its head arrives (its body limit and
        /// timeout apply before the body is read) and kept for `dispatch`. A request without a body
        /// is looked up in `dispatch` alone, as the plain path always was: no state kept.
        var route = HTTPRouter.Match.notFound
        var routeCaptures = HTTPRouteCaptures()
        /// The current request's body limit: its route's, else the server's.
        var bodyLimit = 0
        /// The body still arriving for a route that streams its body: its handler runs from the
        /// head, and the body's bytes go to this stream as they are parsed, while the response may
        /// already be under way (`HTTPBodyStream`).
        var streamingBody: HTTPBodyStream?
        /// How the streamed response in progress writes its pieces.
        var streamChunked = false
        var streamSendsBody = false
        var inRead = false
        /// Pipelined requests are waiting in the tail for the outbound queue to drain.
        var heldForBackpressure = false
        var headerTimerArmed = false
        /// What to run if the client leaves before the response ends, and when a graceful shutdown
        /// starts while the response is held: one closure each, chained when there are several
        /// (rare), rather than arrays allocated for every held response.
        var abandonHandler: (() -> Void)?
        var shutdownHandler: (() -> Void)?
        var writabilityHandler: ((Bool) -> Void)?
        /// The task that serves this connection's async routes, once one was used (`AsyncRoute`).
        var asyncRoutes = AsyncRouteSlot()
        /// Headers a layer added for whatever answer the current request gets
        /// (`HTTPResponder.addHeader`): empty, and so allocation-free, on the plain path.
        var addedHeaders: [(String, String)] = []
    }

    private let state: UnsafeMutablePointer<State>

    // The state's fields, read and written in place.
    private var parser: HTTPRequestParser { _read { yield state.pointee.parser } _modify { yield &state.pointee.parser } }
    private var phase: Phase { _read { yield state.pointee.phase } _modify { yield &state.pointee.phase } }
    private var sequence: UInt64 { _read { yield state.pointee.sequence } _modify { yield &state.pointee.sequence } }
    private var rules: HTTPResponseRules { _read { yield state.pointee.rules } _modify { yield &state.pointee.rules } }
    private var route: HTTPRouter.Match { _read { yield state.pointee.route } _modify { yield &state.pointee.route } }
    private var routeCaptures: HTTPRouteCaptures { _read { yield state.pointee.routeCaptures } _modify { yield &state.pointee.routeCaptures } }
    private var bodyLimit: Int { _read { yield state.pointee.bodyLimit } _modify { yield &state.pointee.bodyLimit } }
    private var streamingBody: HTTPBodyStream? { _read { yield state.pointee.streamingBody } _modify { yield &state.pointee.streamingBody } }
    private var streamChunked: Bool { _read { yield state.pointee.streamChunked } _modify { yield &state.pointee.streamChunked } }
    private var streamSendsBody: Bool { _read { yield state.pointee.streamSendsBody } _modify { yield &state.pointee.streamSendsBody } }
    private var inRead: Bool { _read { yield state.pointee.inRead } _modify { yield &state.pointee.inRead } }
    private var heldForBackpressure: Bool { _read { yield state.pointee.heldForBackpressure } _modify { yield &state.pointee.heldForBackpressure } }
    private var headerTimerArmed: Bool { _read { yield state.pointee.headerTimerArmed } _modify { yield &state.pointee.headerTimerArmed } }
    private var abandonHandler: (() -> Void)? { _read { yield state.pointee.abandonHandler } _modify { yield &state.pointee.abandonHandler } }
    private var shutdownHandler: (() -> Void)? { _read { yield state.pointee.shutdownHandler } _modify { yield &state.pointee.shutdownHandler } }
    private var writabilityHandler: ((Bool) -> Void)? { _read { yield state.pointee.writabilityHandler } _modify { yield &state.pointee.writabilityHandler } }
    var asyncRoutes: AsyncRouteSlot { _read { yield state.pointee.asyncRoutes } _modify { yield &state.pointee.asyncRoutes } }
    private var addedHeaders: [(String, String)] { _read { yield state.pointee.addedHeaders } _modify { yield &state.pointee.addedHeaders } }
    /// Whether the parser is between requests, read in place (`HTTPRequestParser.isIdle(at:)`):
    /// through `parser` it cost a copy of the whole parser, on every request.
    private var parserIsIdle: Bool {
        withUnsafePointer(to: &state.pointee.parser, HTTPRequestParser.isIdle(at:))
    }

    init(server: HTTPServer, connection: Connection) {
        self.server = server
        self.connection = connection
        // The parser's own bound lets the largest route's body through; the route's (or the
        // server's) limit is then applied when the head arrives.
        var limits = server.configuration.limits
        limits.maxBodyLength = max(limits.maxBodyLength, server.router.largestRouteBodyLimit)
        self.state = .allocate(capacity: 1)
        state.initialize(to: State(parser: HTTPRequestParser(limits: limits, headerTable: server.headerTable)))
        self.request = HTTPRequestStore(server: server)
    }

    deinit {
        request.release()
        state.deinitialize(count: 1)
        state.deallocate()
    }

    func isCurrent(_ sequence: UInt64) -> Bool {
        sequence == self.sequence && (phase == .responding || phase == .streaming)
    }

    // MARK: ConnectionHandler

    func connectionDidOpen(_ c: Connection) {
        // The first request must start arriving within the header timeout: a silent connection
        // is closed quietly, a partial head gets 408.
        c.setTimeout(server.configuration.headerReadTimeout)
    }

    func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int {
        switch phase {
        case .closed: return bytes.count
        case .responding, .streaming:
            // Pipelined input waits for the current response; a streamed request body does not.
            if streamingBody == nil { return 0 }
        case .upgraded: return 0
        case .awaitingHead, .readingBody: break
        }
        inRead = true
        defer { inRead = false }
        var offset = 0
        while true {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            let (event, consumed) = parser.next(rest)
            offset += consumed
            switch event {
            case .needMoreData:
                if streamingBody != nil { return offset }
                if phase == .readingBody {
                    request.retainHead()  // the head's bytes are consumed; the body goes on
                } else if !parserIsIdle && !headerTimerArmed {
                    // Armed once, when a head starts: a client trickling bytes cannot push it back.
                    c.setTimeout(server.configuration.headerReadTimeout)
                    headerTimerArmed = true
                }
                return offset
            case .head(let h):
                headerTimerArmed = false
                startRequest(h)
                if phase == .closed { return bytes.count }
            case .body(let range) where streamingBody != nil:
                let stream = streamingBody!  // checked by the pattern
                guard stream.receivedBytes + range.count <= bodyLimit else {
                    stream.finish(.tooLarge)
                    fail(.contentTooLarge, reason: "streamed request body over the limit of \(bodyLimit)")
                    return bytes.count
                }
                stream.deliver(UnsafeRawBufferPointer(rebasing: rest[range]))
                if phase == .closed { return bytes.count }  // the handler answered and the connection closed
            case .end where streamingBody != nil:
                let stream = streamingBody!
                streamingBody = nil
                var newRules = rules
                newRules.bodyStreamingEnded()
                rules = newRules
                connection.setTimeout(nil)  // the body is in; the application owns the answer's timing
                stream.finish(nil)
                if phase == .closed { return bytes.count }
                if phase != .awaitingHead { return offset }  // pipelined input waits for the response
            case .body(let range):
                // The parser rejects a body over the limit before handing out its bytes (413 on
                // the Content-Length, or on the chunk size that would cross it); this check keeps
                // the buffer bounded even if that ever changed.
                guard request.bodyCount + range.count <= bodyLimit else {
                    fail(.contentTooLarge, reason: "request body over the limit")
                    return bytes.count
                }
                request.appendBody(UnsafeRawBufferPointer(rebasing: rest[range]))
            case .end:
                dispatch()
                if phase != .awaitingHead { return offset }
                // A client that pipelines without reading must not make us build every answer:
                // past the high watermark the rest waits, unparsed, until the queue drains.
                if !c.isWritable {
                    heldForBackpressure = true
                    return offset
                }
            case .error(let error):
                fail(error.status, reason: "\(error)")
                return bytes.count
            }
        }
    }

    func connectionDidReadEOF(_ c: Connection) {
        switch phase {
        case .awaitingHead where parserIsIdle:
            close(reason: .peerClosed)
        case .responding, .streaming:
            // Browsers and proxies never half-close an HTTP request: the client has gone, and a
            // held long poll or event stream must not wait for its timer to find out.
            close(reason: .peerClosed)
        default:
            close(reason: .peerClosed)  // a truncated request: nothing to answer it with
        }
    }

    func connectionDidTimeout(_ c: Connection) {
        if streamingBody != nil {
            fail(.requestTimeout, reason: "streamed request body not received in time")
            return
        }
        switch phase {
        case .awaitingHead where parserIsIdle:
            close(reason: .timeout)  // idle keep-alive: closes quietly
        case .awaitingHead, .readingBody:
            fail(.requestTimeout, reason: "request not received in time")
        case .responding, .streaming, .upgraded, .closed:
            break
        }
    }

    func connectionShouldShutdown(_ c: Connection) {
        switch phase {
        case .awaitingHead where parserIsIdle: close(reason: .shutdown)
        case .streaming: close(reason: .shutdown)
        case .responding:
            // The response in progress is answered, then the connection closes. One the application
            // holds (a long poll) is answered now, not at its own timeout or the drain deadline.
            closeAfterResponse()
            let handler = shutdownHandler
            shutdownHandler = nil
            handler?()
        default: closeAfterResponse()  // the request in progress is answered, then the connection closes
        }
    }

    func connectionWritabilityDidChange(_ c: Connection, isWritable: Bool) {
        if phase == .streaming || phase == .responding { writabilityHandler?(isWritable) }
        if isWritable && heldForBackpressure {
            heldForBackpressure = false
            c.redeliverBufferedInput()
        }
    }

    func connectionDidClose(_ c: Connection, reason: CloseReason) {
        let pending = phase == .responding || phase == .streaming
        phase = .closed
        if let stream = streamingBody {
            streamingBody = nil
            stream.finish(.connectionClosed)
        }
        if pending { runAbandonHandlers() }
        // After the abandon handlers, which may still read the request (to log what was left).
        request.abandon()
        server.connectionDidClose(reason)
    }

    // MARK: Requests

    // Inlined into the read loop, as it was before the rules had a type of their own: the
    // stores below then share their exclusivity checks with the loop's.
    @inline(__always)
    private func startRequest(_ h: HTTPRequestHead) {
        var newRules = HTTPResponseRules(head: h)
        if connection.loop.isShuttingDown { newRules.closeAfterResponse() }
        sequence &+= 1
        request.begin(h)
        rules = newRules
        phase = .readingBody
        if newRules.hasBody { startBody(h) }
    }

    /// A request with a body: its route is looked up now, so the route's body limit and timeout
    /// apply before any body byte is read (and 100-continue is answered knowing the route).
    private func startBody(_ h: HTTPRequestHead) {
        var captures = HTTPRouteCaptures()
        route = server.router.match(method: h.method, path: h.path, captures: &captures)
        routeCaptures = captures
        var routed = false
        var extras: HTTPRouter.RouteExtras?
        if case .route(_, let e) = route { routed = true; extras = e?.takeUnretainedValue() }
        if let extras, extras.maxBodyBytes >= 0 {
            bodyLimit = extras.maxBodyBytes
        } else {
            bodyLimit = server.configuration.limits.maxBodyLength
        }
        if let length = h.contentLength, length > bodyLimit {
            // Before any body byte is read, whether or not the client waits for 100-continue.
            fail(.contentTooLarge, reason: "request body of \(length) bytes over the limit of \(bodyLimit)")
            return
        }
        connection.setTimeout(extras?.timeout ?? server.configuration.idleTimeout)
        var newRules = rules
        let decision = newRules.continueDecision(routeAccepts: routed)
        rules = newRules
        switch decision {
        case .sendContinue: connection.send("HTTP/1.1 100 Continue\r\n\r\n")
        case .answerNowAndClose:
            dispatch()  // the final status now, rather than read a body nobody will use
            return
        case .none: break
        }
        if let extras, extras.streamsBody {
            // The handler runs now, and reads the body as it is parsed.
            let stream = HTTPBodyStream(connection: connection)
            request.setBodyStream(stream)
            streamingBody = stream
            var newRules = rules
            newRules.bodyStreamingStarted()
            rules = newRules
            dispatch()
            // The body's arrival stays bounded in time as a buffered body's is.
            if streamingBody != nil && phase != .closed { connection.setTimeout(extras.timeout ?? server.configuration.idleTimeout) }
        }
    }

    private func dispatch() {
        guard phase == .readingBody else { return }  // dispatched already (an early final status)
        let h = request.head
        phase = .responding
        // The application owns the timing of its answer. The timer armed now (idle or header
        // read) is left as it is rather than cancelled: one that fires while responding is
        // ignored (`connectionDidTimeout`), and the common answer, given at once, only pushes
        // it back (`finishResponse`), which costs a store instead of a cancel and an arm.
        let responder = HTTPResponder(exchange: self, sequence: sequence)
        var captures = HTTPRouteCaptures()
        let match: HTTPRouter.Match
        if !rules.hasBody {
            match = server.router.match(method: h.method, path: h.path, captures: &captures)
        } else {
            match = route
            captures = routeCaptures
            route = .notFound
        }
        // Consumed: the cases take the match's handler and extras over rather than copy them
        // (a copy retained the handler's context, and two destroys released it, every request).
        switch consume match {
        case .route(let handler, let extras):
            // A route with parameters: its pattern and what it captured go with the request (a
            // static route leaves them as `begin` set them, empty: nothing to copy).
            if let extras = extras?.takeUnretainedValue() {
                if let pattern = extras.pattern { request.setRoute(pattern, captures) }
                if extras.streamsBody && !rules.hasBody {
                    // No body to stream: the handler reads one that has ended, empty.
                    let empty = HTTPBodyStream(connection: connection)
                    empty.finish(nil)
                    request.setBodyStream(empty)
                }
            }
            handler(HTTPRequest(exchange: self, generation: request.generation), responder)
            // Returned without completing its response (deferred, or streaming): the request stays
            // readable until it is, but its head points at bytes the loop reuses once this read
            // callback returns. Copy it now, into this connection's own storage.
            if phase == .responding || phase == .streaming { request.retainHead() }
        case .notFound where h.method == .other, .methodNotAllowed where h.method == .other:
            closeAfterResponse()
            responder.respond(.notImplemented, contentType: "text/plain; charset=utf-8", body: "Not Implemented\n" as StaticString)
        case .notFound:
            responder.respond(.notFound, contentType: "text/plain; charset=utf-8", body: "Not Found\n" as StaticString)
        case .methodNotAllowed(let allow):
            responder.respond(.methodNotAllowed, contentType: "text/plain; charset=utf-8", headers: [("Allow", allow)],
                              body: "Method Not Allowed\n" as StaticString)
        case .options(let allow):
            responder.respond(.noContent, headers: [("Allow", allow)])
        }
    }

    /// The body buffer's capacity (for tests: it must not keep a large body's memory).
    var bodyCapacity: Int { request.bodyCapacity }

    // MARK: Responses

    /// Writes a head (and a body that fits) into the server's scratch buffer and sends it in one go.
    func respond(_ seq: UInt64, status: HTTPStatus, contentType: HTTPContentType?, headers: [(String, String)], body: ResponseBody) -> Bool {
        guard seq == sequence, phase == .responding else { return false }
        if !headers.isEmpty && Self.asksToClose(headers) { closeAfterResponse() }
        let rules = self.rules  // read once: each read of a class property is an exclusivity check
        let plan = rules.response(status: status, bodyLength: body.count)
        let scratch = server.scratch
        let headLength: Int
        if headers.isEmpty, addedHeaders.isEmpty, case .contentLength(let length) = plan.framing,
           let n = server.withDate({
               server.headCache.write(status: status, contentType: contentType, keepAlive: plan.keepAlive, requestVersion: rules.requestVersion,
                                      contentLength: length, date: $0, into: scratch)
           }) {
            headLength = n  // the common head, from its template
        } else {
            guard let n = encodeHead(status: status, plan: plan, requestVersion: rules.requestVersion, contentType: contentType,
                                     headers: headers, into: scratch) else {
                return false
            }
            headLength = n
        }
        switch body {
        case .bytes(let b) where plan.sendsBody:
            if headLength + b.count <= scratch.count {
                UnsafeMutableRawBufferPointer(rebasing: scratch[headLength...]).copyMemory(from: b)
                connection.send(UnsafeRawBufferPointer(rebasing: scratch[0..<headLength + b.count]))
            } else {
                connection.send(UnsafeRawBufferPointer(rebasing: scratch[0..<headLength]))
                connection.send(b)
            }
        case .shared(let s) where plan.sendsBody:
            connection.send(UnsafeRawBufferPointer(rebasing: scratch[0..<headLength]))
            connection.send(s)
        default:
            connection.send(UnsafeRawBufferPointer(rebasing: scratch[0..<headLength]))
        }
        finishResponse(keepAlive: plan.keepAlive)
        return true
    }

    func beginStream(_ seq: UInt64, status: HTTPStatus, contentType: HTTPContentType?, headers: [(String, String)], framing: HTTPStreamFraming) -> Bool {
        guard seq == sequence, phase == .responding else { return false }
        if !headers.isEmpty && Self.asksToClose(headers) { closeAfterResponse() }
        var newRules = rules
        let plan = newRules.stream(status: status, untilClose: framing == .untilClose)
        rules = newRules
        streamSendsBody = plan.sendsBody
        streamChunked = plan.sendsBody && plan.framing == .chunked
        guard let n = encodeHead(status: status, plan: plan, requestVersion: rules.requestVersion, contentType: contentType,
                                 headers: headers, into: server.scratch) else {
            return false
        }
        connection.send(UnsafeRawBufferPointer(rebasing: server.scratch[0..<n]))
        phase = .streaming
        return true
    }

    func writeStream(_ seq: UInt64, _ piece: ResponseBody) -> Bool {
        guard seq == sequence, phase == .streaming else { return false }
        guard streamSendsBody, piece.count > 0 else { return true }
        if streamChunked {
            let n = HTTPChunkedEncoder.writeChunkHeader(size: piece.count, into: server.scratch)!
            connection.send(UnsafeRawBufferPointer(rebasing: server.scratch[0..<n]))
        }
        switch piece {
        case .bytes(let b): connection.send(b)
        case .shared(let s): connection.send(s)
        }
        if streamChunked {
            let end = HTTPChunkedEncoder.chunkEnd
            connection.send(UnsafeRawBufferPointer(start: end.utf8Start, count: end.utf8CodeUnitCount))
        }
        return true
    }

    func endStream(_ seq: UInt64) -> Bool {
        guard seq == sequence, phase == .streaming else { return false }
        if streamChunked {
            let last = HTTPChunkedEncoder.lastChunk
            connection.send(UnsafeRawBufferPointer(start: last.utf8Start, count: last.utf8CodeUnitCount))
        }
        finishResponse(keepAlive: rules.keepAlive)
        return true
    }

    func upgrade(_ seq: UInt64, headers: [(String, String)], to handler: any ConnectionHandler) -> Bool {
        guard seq == sequence, phase == .responding else { return false }
        guard let n = encodeHead(status: .switchingProtocols, plan: rules.upgrade(), requestVersion: rules.requestVersion, contentType: nil,
                                 headers: headers, into: server.scratch) else {
            return false
        }
        connection.send(UnsafeRawBufferPointer(rebasing: server.scratch[0..<n]))
        phase = .upgraded
        request.end()
        if !addedHeaders.isEmpty { addedHeaders = [] }
        abandonHandler = nil
        if asyncRoutes.task != nil { endAsyncRoutes() }
        shutdownHandler = nil
        connection.setTimeout(nil)
        connection.setHandler(handler)
        handler.connectionDidOpen(connection)
        // Bytes after the request (a client may send its first frame at once) belong to the
        // new protocol; the reactor keeps them when this read callback returns.
        connection.redeliverBufferedInput()
        return true
    }

    func onWritabilityChange(_ seq: UInt64, _ body: @escaping (Bool) -> Void) {
        guard isCurrent(seq) else { return }
        writabilityHandler = body
    }

    func onAbandoned(_ seq: UInt64, _ body: @escaping () -> Void) {
        guard isCurrent(seq) else { return }
        if let previous = abandonHandler {
            abandonHandler = { previous(); body() }
        } else {
            abandonHandler = body
        }
    }

    func onShutdown(_ seq: UInt64, _ body: @escaping () -> Void) {
        guard isCurrent(seq) else { return }
        // A request that arrived while the loop drains: its answer is due at once.
        if connection.loop.isShuttingDown && phase == .responding {
            body()
            return
        }
        if let previous = shutdownHandler {
            shutdownHandler = { previous(); body() }
        } else {
            shutdownHandler = body
        }
    }

    private func encodeHead(status: HTTPStatus, plan: HTTPResponseRules.Plan, requestVersion: HTTPVersion, contentType: HTTPContentType?,
                            headers: [(String, String)], into scratch: UnsafeMutableRawBufferPointer) -> Int? {
        let server = self.server
        let length = server.withDate { date in
            HTTPResponseHeadEncoder.encode(status: status, framing: plan.framing, keepAlive: plan.keepAlive,
                                           requestVersion: requestVersion, date: date, into: scratch) { w in
                HTTPResponseHeadCache.writeFixedHeaders(contentType: contentType, into: &w)
                // When the connection closes, the encoder writes `Connection: close` itself.
                for (name, value) in headers where plan.keepAlive || !Self.isConnectionField(name) { w.header(name, value) }
                for (name, value) in addedHeaders { w.header(name, value) }
            }
        }
        if length == nil { server.log("response head for status \(status.code) did not fit or had an invalid header") }
        return length
    }

    func addHeader(_ seq: UInt64, _ name: String, _ value: String) {
        guard isCurrent(seq) && phase == .responding else { return }
        addedHeaders.append((name, value))
    }

    /// `keepAlive`: what the rules decided for this response, passed in by the caller that
    /// already holds them (one exclusivity check fewer per request than reading them again).
    private func finishResponse(keepAlive: Bool) {
        var keepAlive = keepAlive
        if let stream = streamingBody {
            // Answered before its body ended: the rest is not read, so the connection cannot
            // find the next request's start. It closes after this response.
            streamingBody = nil
            keepAlive = false
            stream.finish(.responseCompleted)
        }
        request.end()  // from here on the request's bytes may be reused: it is stale
        if !addedHeaders.isEmpty { addedHeaders = [] }
        abandonHandler = nil
        if asyncRoutes.pending != nil { asyncRoutes.pending = nil }  // completed before its task took it
        shutdownHandler = nil
        writabilityHandler = nil
        if !keepAlive {
            close(reason: .local)
            return
        }
        phase = .awaitingHead
        connection.setTimeout(server.configuration.idleTimeout)
        // A response completed later: requests that arrived behind it are still in the tail.
        // From the async route task, at once: the next request then reaches the task before it
        // waits (no suspension and resumption per pipelined request); from elsewhere (a timer,
        // a publish fanning out), later in this iteration.
        if !inRead {
            if asyncRoutes.isAnswering { connection.deliverBufferedInputNow() } else { connection.redeliverBufferedInput() }
        }
    }

    private func fail(_ status: HTTPStatus, reason: String) {
        server.log("\(connection.peerAddress?.description ?? "?"): \(status.code): \(reason)")
        closeAfterResponse()
        if phase != .streaming {
            let text = "\(status)\n"
            let plan = HTTPResponseRules.rejection(status: status, bodyLength: text.utf8.count)
            let scratch = server.scratch
            let n = server.withDate { date in
                HTTPResponseHeadEncoder.encode(status: status, framing: plan.framing, keepAlive: plan.keepAlive,
                                               date: date, into: scratch) { w in
                    w.header("Server", "Reactor" as StaticString)
                    w.header("Content-Type", "text/plain; charset=utf-8" as StaticString)
                }
            }
            if let n {
                connection.send(UnsafeRawBufferPointer(rebasing: server.scratch[0..<n]))
                connection.send(text)
            }
        }
        close(reason: .protocolError("HTTP \(status.code): \(reason)"))
    }

    /// The connection closes after the current response. The rules are copied, changed and stored
    /// rather than changed in place, here and wherever they change: with no access to `rules`
    /// spanning a call, the optimizer can drop the exclusivity checks on every one (a mutating
    /// call on the property, if not inlined, would keep a runtime check on each read per request).
    private func closeAfterResponse() {
        var newRules = rules
        newRules.closeAfterResponse()
        rules = newRules
    }

    /// Whether the application's headers carry `Connection: close` (only asked when it gave any).
    private static func asksToClose(_ headers: [(String, String)]) -> Bool {
        for (name, value) in headers where isConnectionField(name) {
            var v = value
            let close = v.withUTF8 { utf8 in
                return utf8.baseAddress.map { HTTPByteView(start: $0, count: utf8.count).containsToken("close") } ?? false
            }
            if close { return true }
        }
        return false
    }

    private static func isConnectionField(_ name: String) -> Bool {
        name.utf8.count == 10 && name.lowercased() == "connection"
    }

    private func close(reason: CloseReason) {
        let pending = phase == .responding || phase == .streaming
        phase = .closed
        if pending { runAbandonHandlers() }
        // After the abandon handlers, which may still read the request (to log what was left).
        request.abandon()
        connection.close(reason: reason)
    }

    /// The connection has no more use for its async-route task (it closed, or was upgraded): a
    /// waiting task ends, a running one is cancelled (its client left).
    private func endAsyncRoutes() {
        let slot = asyncRoutes
        asyncRoutes = AsyncRouteSlot()
        if let waiter = slot.waiter { waiter.resume(returning: nil) } else { slot.task?.cancel() }
    }

    private func runAbandonHandlers() {
        let handler = abandonHandler
        abandonHandler = nil
        if asyncRoutes.task != nil { endAsyncRoutes() }
        shutdownHandler = nil
        writabilityHandler = nil
        handler?()
    }
}
