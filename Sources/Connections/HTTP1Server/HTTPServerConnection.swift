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
/// While a response is outstanding (`responding`, `streaming`) further input is left unconsumed
/// in the reactor's per-connection tail: pipelined requests wait their turn and are handed back
/// (`redeliverBufferedInput`) when the response completes.
final class HTTPServerConnection: ConnectionHandler {
    enum Phase { case awaitingHead, readingBody, responding, streaming, upgraded, closed }

    // Strong: the loop may release the listener (and with it the server) before this connection.
    let server: HTTPServer
    let connection: Connection
    private var parser: HTTPRequestParser
    private var phase = Phase.awaitingHead
    /// Numbers requests; a responder answers only the request it was made for.
    private var sequence: UInt64 = 0

    // The request being read: its head and body, and the generation that says whether an
    // `HTTPRequest` handed out for it may still read them (HTTPRequestStore.swift).
    let request: HTTPRequestStore
    private var keepAlive = true
    private var requestVersion = HTTPVersion.http1_1
    private var isHeadRequest = false
    private var streamFraming = HTTPStreamFraming.chunked

    private var inRead = false
    /// Pipelined requests are waiting in the tail for the outbound queue to drain.
    private var heldForBackpressure = false
    private var headerTimerArmed = false
    /// What to run if the client leaves before the response ends, and when a graceful shutdown
    /// starts while the response is held: one closure each, chained when there are several
    /// (rare), rather than arrays allocated for every held response.
    private var abandonHandler: (() -> Void)?
    private var shutdownHandler: (() -> Void)?
    private var writabilityHandler: ((Bool) -> Void)?
    /// Headers a layer added for whatever answer the current request gets (`HTTPResponder.addHeader`):
    /// empty, and so allocation-free, on the plain path.
    private var addedHeaders: [(String, String)] = []

    init(server: HTTPServer, connection: Connection) {
        self.server = server
        self.connection = connection
        self.parser = HTTPRequestParser(limits: server.configuration.limits, headerTable: server.headerTable)
        self.request = HTTPRequestStore(server: server)
    }

    deinit { request.release() }

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
        case .responding, .streaming, .upgraded: return 0  // pipelined input waits for the current response
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
                if phase == .readingBody {
                    request.retainHead()  // the head's bytes are consumed; the body goes on
                } else if !parser.isIdle && !headerTimerArmed {
                    // Armed once, when a head starts: a client trickling bytes cannot push it back.
                    c.setTimeout(server.configuration.headerReadTimeout)
                    headerTimerArmed = true
                }
                return offset
            case .head(let h):
                headerTimerArmed = false
                startRequest(h)
                if phase == .closed { return bytes.count }
            case .body(let range):
                // The parser rejects a body over the limit before handing out its bytes (413 on
                // the Content-Length, or on the chunk size that would cross it); this check keeps
                // the buffer bounded even if that ever changed.
                guard request.bodyCount + range.count <= server.configuration.limits.maxBodyLength else {
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
        case .awaitingHead where parser.isIdle:
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
        switch phase {
        case .awaitingHead where parser.isIdle:
            close(reason: .timeout)  // idle keep-alive: closes quietly
        case .awaitingHead, .readingBody:
            fail(.requestTimeout, reason: "request not received in time")
        case .responding, .streaming, .upgraded, .closed:
            break
        }
    }

    func connectionShouldShutdown(_ c: Connection) {
        switch phase {
        case .awaitingHead where parser.isIdle: close(reason: .shutdown)
        case .streaming: close(reason: .shutdown)
        case .responding:
            // The response in progress is answered, then the connection closes. One the application
            // holds (a long poll) is answered now, not at its own timeout or the drain deadline.
            keepAlive = false
            let handler = shutdownHandler
            shutdownHandler = nil
            handler?()
        default: keepAlive = false  // the request in progress is answered, then the connection closes
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
        if pending { runAbandonHandlers() }
        // After the abandon handlers, which may still read the request (to log what was left).
        request.abandon()
        server.connectionDidClose(reason)
    }

    // MARK: Requests

    private func startRequest(_ h: HTTPRequestHead) {
        sequence &+= 1
        request.begin(h)
        keepAlive = h.keepAlive && !connection.loop.isShuttingDown
        requestVersion = h.version
        isHeadRequest = h.method == .head
        phase = .readingBody
        if h.bodyFraming != .none {
            connection.setTimeout(server.configuration.idleTimeout)
            if h.expectsContinue {
                // Answer the final status now rather than read a body nobody will use.
                if case .handler = server.router.match(method: h.method, path: h.path) {
                    connection.send("HTTP/1.1 100 Continue\r\n\r\n")
                } else {
                    keepAlive = false
                    dispatch()
                }
            }
        }
    }

    private func dispatch() {
        guard phase == .readingBody else { return }  // dispatched already (an early final status)
        let h = request.head
        phase = .responding
        connection.setTimeout(nil)  // the application owns the timing of its answer
        let responder = HTTPResponder(exchange: self, sequence: sequence)
        let match = server.router.match(method: h.method, path: h.path)
        switch match {
        case .handler(let handler):
            handler(HTTPRequest(exchange: self, generation: request.generation), responder)
            // Returned without completing its response (deferred, or streaming): the request stays
            // readable until it is, but its head points at bytes the loop reuses once this read
            // callback returns. Copy it now, into this connection's own storage.
            if phase == .responding || phase == .streaming { request.retainHead() }
        case .notFound where h.method == .other, .methodNotAllowed where h.method == .other:
            keepAlive = false
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
    func respond(_ seq: UInt64, status: HTTPStatus, contentType: StaticString?, headers: [(String, String)], body: ResponseBody) -> Bool {
        guard seq == sequence, phase == .responding else { return false }
        let sendsBody = !isHeadRequest && status.code >= 200 && status.code != 204 && status.code != 304
        let scratch = server.scratch
        guard let headLength = encodeHead(status: status, framing: .contentLength(body.count), contentType: contentType, headers: headers, into: scratch) else {
            return false
        }
        switch body {
        case .bytes(let b) where sendsBody && b.count > 0:
            if headLength + b.count <= scratch.count {
                UnsafeMutableRawBufferPointer(rebasing: scratch[headLength...]).copyMemory(from: b)
                connection.send(UnsafeRawBufferPointer(rebasing: scratch[0..<headLength + b.count]))
            } else {
                connection.send(UnsafeRawBufferPointer(rebasing: scratch[0..<headLength]))
                connection.send(b)
            }
        case .shared(let s) where sendsBody && s.count > 0:
            connection.send(UnsafeRawBufferPointer(rebasing: scratch[0..<headLength]))
            connection.send(s)
        default:
            connection.send(UnsafeRawBufferPointer(rebasing: scratch[0..<headLength]))
        }
        finishResponse()
        return true
    }

    func beginStream(_ seq: UInt64, status: HTTPStatus, contentType: StaticString?, headers: [(String, String)], framing: HTTPStreamFraming) -> Bool {
        guard seq == sequence, phase == .responding else { return false }
        streamFraming = requestVersion < .http1_1 ? .untilClose : framing
        if streamFraming == .untilClose { keepAlive = false }
        let wireFraming: HTTPResponseFraming = streamFraming == .chunked ? .chunked : .none
        guard let n = encodeHead(status: status, framing: wireFraming, contentType: contentType, headers: headers, into: server.scratch) else {
            return false
        }
        connection.send(UnsafeRawBufferPointer(rebasing: server.scratch[0..<n]))
        phase = .streaming
        return true
    }

    func writeStream(_ seq: UInt64, _ piece: ResponseBody) -> Bool {
        guard seq == sequence, phase == .streaming else { return false }
        guard !isHeadRequest, piece.count > 0 else { return true }
        if streamFraming == .chunked {
            let n = HTTPChunkedEncoder.writeChunkHeader(size: piece.count, into: server.scratch)!
            connection.send(UnsafeRawBufferPointer(rebasing: server.scratch[0..<n]))
        }
        switch piece {
        case .bytes(let b): connection.send(b)
        case .shared(let s): connection.send(s)
        }
        if streamFraming == .chunked {
            let end = HTTPChunkedEncoder.chunkEnd
            connection.send(UnsafeRawBufferPointer(start: end.utf8Start, count: end.utf8CodeUnitCount))
        }
        return true
    }

    func endStream(_ seq: UInt64) -> Bool {
        guard seq == sequence, phase == .streaming else { return false }
        if streamFraming == .chunked && !isHeadRequest {
            let last = HTTPChunkedEncoder.lastChunk
            connection.send(UnsafeRawBufferPointer(start: last.utf8Start, count: last.utf8CodeUnitCount))
        }
        finishResponse()
        return true
    }

    func upgrade(_ seq: UInt64, headers: [(String, String)], to handler: any ConnectionHandler) -> Bool {
        guard seq == sequence, phase == .responding else { return false }
        keepAlive = true  // no Connection: close on a 101
        guard let n = encodeHead(status: .switchingProtocols, framing: .none, contentType: nil, headers: headers, into: server.scratch) else {
            return false
        }
        connection.send(UnsafeRawBufferPointer(rebasing: server.scratch[0..<n]))
        phase = .upgraded
        request.end()
        if !addedHeaders.isEmpty { addedHeaders = [] }
        abandonHandler = nil
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

    private func encodeHead(status: HTTPStatus, framing: HTTPResponseFraming, contentType: StaticString?, headers: [(String, String)], into scratch: UnsafeMutableRawBufferPointer) -> Int? {
        let server = self.server
        let length = server.withDate { date in
            HTTPResponseHeadEncoder.encode(status: status, framing: framing, keepAlive: keepAlive,
                                           requestVersion: requestVersion, date: date, into: scratch) { w in
                w.header("Server", "Reactor" as StaticString)
                if let contentType { w.header("Content-Type", contentType) }
                for (name, value) in headers { w.header(name, value) }
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

    private func finishResponse() {
        request.end()  // from here on the request's bytes may be reused: it is stale
        if !addedHeaders.isEmpty { addedHeaders = [] }
        abandonHandler = nil
        shutdownHandler = nil
        writabilityHandler = nil
        if !keepAlive {
            close(reason: .local)
            return
        }
        phase = .awaitingHead
        connection.setTimeout(server.configuration.idleTimeout)
        // A response completed later: requests that arrived behind it are still in the tail.
        if !inRead { connection.redeliverBufferedInput() }
    }

    private func fail(_ status: HTTPStatus, reason: String) {
        server.log("\(connection.peerAddress?.description ?? "?"): \(status.code): \(reason)")
        keepAlive = false
        if phase != .streaming {
            let text = "\(status)\n"
            let scratch = server.scratch
            let n = server.withDate { date in
                HTTPResponseHeadEncoder.encode(status: status, framing: .contentLength(text.utf8.count), keepAlive: false,
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

    private func close(reason: CloseReason) {
        let pending = phase == .responding || phase == .streaming
        phase = .closed
        if pending { runAbandonHandlers() }
        // After the abandon handlers, which may still read the request (to log what was left).
        request.abandon()
        connection.close(reason: reason)
    }

    private func runAbandonHandlers() {
        let handler = abandonHandler
        abandonHandler = nil
        shutdownHandler = nil
        writabilityHandler = nil
        handler?()
    }
}
