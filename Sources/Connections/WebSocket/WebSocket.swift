import Protocols
import Reactor

/// One WebSocket connection, server or client side: the glue between a reactor connection and two
/// sans-I/O machines, the `WebSocketEndpoint` (frames to messages) and the `WebSocketConnection`
/// (the close and ping handshakes, keepalive, the message deadline). It feeds them, performs the
/// actions the connection machine returns on the `Connection` (send, setTimeout, close), tells the
/// handler, and compresses large messages when permessage-deflate was agreed.
///
/// Sending writes a frame header and its payload in one write (gathered in the cork inside a read
/// callback), so an echo costs no allocation. A broadcast encodes its frame once with
/// `WebSocketFrameEncoder.serverFrame` and passes the same `SharedBytes` to every `send(frame:)`.
///
/// Bytes per socket, idle (they count at 10,000 connections; issue 18): the object header 16,
/// `connection` 16, `context` 8, `handler` 16, `extras` 8, `machine` 30, `role` 1, `processing`
/// 1, `endpoint` 62 (+2), `topicTokenPacked` 8: 168, one 176-byte malloc chunk (malloc adds 8 and
/// rounds to 16: one more byte here costs 16); the loop's slot for the descriptor 56 and its
/// timer node 32. The timings and limits are the configuration's, shared (`WebSocketSettings`).
/// (Before: 232 here and the machine in a 64-byte chunk.)
public final class WebSocket: ConnectionHandler {
    // Stored fields in the order of their layout (Swift keeps a class's order), so the role
    // takes a byte of the padding after the machine (issue 18: see the count above).
    public let connection: Connection
    /// The options this socket runs with (its timings and limits are the shared settings').
    /// Read through the machine, never the endpoint: a message callback may ask, and it runs
    /// while the endpoint is inside `process`.
    public var configuration: WebSocketConfiguration {
        let settings = machine.settings
        let timings = settings.timings
        var c = WebSocketConfiguration()
        c.limits = settings.limits
        c.pingInterval = timings.pingInterval
        c.pongTimeout = timings.pongTimeout
        c.closeTimeout = timings.closeTimeout
        c.messageTimeout = timings.messageTimeout
        c.permessageDeflate = extras?.deflate != nil
        c.deflateContextTakeover = extras?.deflate.map { !$0.serverNoContextTakeover || !$0.clientNoContextTakeover } ?? false
        c.compressionThreshold = Int(timings.compressionThreshold)
        return c
    }
    /// The subprotocol agreed in the handshake, if any.
    public var subprotocol: String? { extras?.subprotocol }
    /// Room for the application's per-connection state (a chat's user, say).
    public var context: AnyObject?
    private var handler: (any WebSocketHandler)?
    /// What few sockets have (a subprotocol, permessage-deflate, a client's masking writer), out
    /// of line: a server socket without the first two holds one nil reference (issue 18).
    private let extras: WebSocketExtras?

    // Two values, not one: the handler runs while the endpoint is inside `process` and may send
    // or close, which touches the machine (see `WebSocketConnection`).
    /// The connection machine. Unchecked: a class's `var` otherwise costs a run-time exclusivity
    /// check at each of the three inputs of every read (measured: +400 instructions per 32-byte
    /// echo). No input of the machine calls out, so no two accesses to it ever overlap; that is
    /// what the checks would have verified. (Inline rather than behind a pointer of its own: one
    /// malloc chunk per socket, not two.)
    @exclusivity(unchecked) private var machine: WebSocketConnection
    /// Server or client (one byte, in the padding after the machine's 30).
    public let role: WebSocketFrameDecoder.Role
    /// The endpoint is inside `process` (its callbacks run the application's code): a close from
    /// there leaves the endpoint alone until `process` returns. A byte of the same padding.
    private var processing = false
    /// The message layer. Unchecked too (the checks cost about 117 instructions per 32-byte echo:
    /// callgrind, `swift_beginAccess` and its thread-local lookups), but for a different reason
    /// than the machine's: `process` does call out, to the application. What the application can
    /// reach from there never touches the endpoint: `configuration` reads the machine's settings;
    /// a close leaves the endpoint to `connection(_:didRead:)` while `processing`; the discard a
    /// timer's actions ask for never comes from `receive` (asserted). WebSocketReentrancyTests
    /// drives each from a callback; the checks caught the first two before they were turned off
    /// here. A new access to the endpoint must keep to this: nothing at run time will catch it.
    @exclusivity(unchecked) private var endpoint: WebSocketEndpoint
    /// The subscription `subscribe(to:)` made (WebSocket+Topic.swift): kept here, 8 bytes in
    /// the socket (0: none), rather than in an object of its own beside every chat socket.
    private var topicTokenPacked: UInt64 = 0
    var topicToken: SubscriberToken? {
        get { SubscriberToken(packed: topicTokenPacked) }
        set { topicTokenPacked = newValue?.packed ?? 0 }
    }

    init(connection: Connection, role: WebSocketFrameDecoder.Role, configuration: WebSocketConfiguration,
         handler: any WebSocketHandler, subprotocol: String?, deflate: WebSocketHandshake.DeflateParameters?) {
        self.connection = connection
        self.role = role
        // The loop's one budget for incomplete messages, shared by all its sockets (server and
        // client side, Engine.IO's transport too: they all come through here), and the settings
        // every socket of this configuration on the loop shares.
        let loop = connection.loop
        let budget = loop.local(WebSocketMessageBudget.self) { WebSocketMessageBudget() }
        let settings = loop.local(WebSocketSettingsCache.self) { WebSocketSettingsCache() }.settings(for: configuration, budget: budget)
        self.machine = WebSocketConnection(settings: settings)
        self.handler = handler
        self.extras = role == .server && subprotocol == nil && deflate == nil
            ? nil : WebSocketExtras(role: role, subprotocol: subprotocol, deflate: deflate)
        self.endpoint = WebSocketEndpoint(role: role, settings: settings)
        if let deflate, let inflater = WebSocketInflater(noContextTakeover: role == .server ? deflate.clientNoContextTakeover : deflate.serverNoContextTakeover) {
            endpoint.enableDeflate(inflater)
        }
    }

    /// Whether the connection is open for messages (not connecting, closing or closed).
    public var isOpen: Bool { machine.isOpen }

    /// Bytes queued and not yet taken by the kernel.
    public var bufferedAmount: Int { connection.bufferedAmount }

    /// False while the queue is above the high watermark.
    public var isWritable: Bool { connection.isWritable }

    // MARK: Sending

    /// Sends a text message (`text` must be valid UTF-8). When permessage-deflate was agreed it is
    /// compressed from `compressionThreshold` bytes; `compress: false` sends it plain whatever its
    /// size (the reference's `compress(false)`).
    @discardableResult
    public func send(text: UnsafeRawBufferPointer, compress: Bool = true) -> Bool { sendMessage(.text, text, compress: compress) }

    @discardableResult
    public func send(text: String) -> Bool {
        var t = text
        return t.withUTF8 { sendMessage(.text, UnsafeRawBufferPointer($0)) }
    }

    /// Sends a binary message (`compress` as for text).
    @discardableResult
    public func send(binary: UnsafeRawBufferPointer, compress: Bool = true) -> Bool { sendMessage(.binary, binary, compress: compress) }

    @discardableResult
    public func send(binary: [UInt8]) -> Bool { binary.withUnsafeBytes { sendMessage(.binary, $0) } }

    /// Sends a frame encoded once for many recipients (server side only; never compressed).
    @discardableResult
    public func send(frame: SharedBytes) -> Bool {
        precondition(role == .server, "pre-encoded frames are unmasked: server side only")
        guard machine.isOpen else { return false }
        return connection.send(frame)
    }

    @discardableResult
    public func ping(_ payload: [UInt8] = []) -> Bool {
        guard machine.isOpen, payload.count <= 125 else { return false }
        return payload.withUnsafeBytes { sendFrame(.ping, $0) }
    }

    /// Starts the close handshake; the connection closes when the peer answers (or after
    /// `closeTimeout`).
    public func close(code: WebSocketCloseCode = .normal, reason: String = "") {
        perform(machine.close(code, reason: reason))
    }

    private func sendMessage(_ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer, compress: Bool = true) -> Bool {
        guard machine.isOpen else { return false }
        if compress, let extras, let deflate = extras.deflate, payload.count >= Int(machine.timings.compressionThreshold) {
            let noContextTakeover = role == .server ? deflate.serverNoContextTakeover : deflate.clientNoContextTakeover
            let windowBits = role == .server ? deflate.serverMaxWindowBits : 15
            // Reset after each message, a compressor belongs to no socket: use the loop's.
            let deflater = noContextTakeover
                ? connection.loop.local(WebSocketSharedDeflaters.self) { WebSocketSharedDeflaters() }.deflater(windowBits: windowBits)
                : extras.ownDeflater(windowBits: windowBits)
            if let deflater {
                let compressed = deflater.deflate(payload)
                return compressed.withUnsafeBytes { sendFrame(opcode, $0, rsv1: true) }
            }
        }
        return sendFrame(opcode, payload)
    }

    private func sendFrame(_ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer, rsv1: Bool = false) -> Bool {
        let connection = self.connection
        // A server's frame needs no writer state; a client's masks with its own (in `extras`).
        guard role == .client, let extras else {
            return WebSocketFrameWriter.unmasked(opcode, payload, rsv1: rsv1) { connection.send($0, $1) }
        }
        return extras.writer!.write(opcode, payload, rsv1: rsv1) { connection.send($0, $1) }
    }

    private func sendClose(_ code: WebSocketCloseCode, _ reason: String) {
        _ = WebSocketFrameWriter.closePayload(code, reason: reason).withUnsafeBytes { sendFrame(.close, $0) }
    }

    // MARK: Performing the machine's actions

    /// Performs `actions` in their documented order; `event` is the one they answer, if any.
    private func perform(_ actions: WebSocketConnection.Actions, event: WebSocketEvent? = nil) {
        if actions.contains(.discardIncompleteMessage) {
            assertNotProcessing()
            endpoint.discardIncompleteMessage()
        }
        if actions.contains(.willFail) { handler?.webSocketWillFail(self, code: actions.code, reason: machine.closeReason) }
        if actions.contains(.deliver), let event { deliver(event) }
        if actions.contains(.sendPong), case .ping(let payload) = event { _ = sendFrame(.pong, payload) }
        if actions.contains(.sendPing) { _ = sendFrame(.ping, UnsafeRawBufferPointer(start: nil, count: 0)) }
        if actions.contains(.sendClose) { sendClose(actions.code, machine.closeReason) }
        if actions.contains(.echoClose) { sendClose(actions.code, "") }
        if let timer = actions.timer { connection.setTimeout(timer) }
        switch actions.closeTransport {
        case nil: break
        case .afterFlush: connection.close(reason: .local)
        case .protocolError(let code): connection.close(reason: .protocolError("WebSocket \(code.rawValue): \(machine.closeReason)"))
        case .timedOut: connection.close(reason: .timeout, flush: false)
        case .peerClosed: connection.close(reason: .peerClosed)
        }
    }

    private func deliver(_ event: WebSocketEvent) {
        switch event {
        case .text(let t): handler?.webSocket(self, didReceiveText: t)
        case .binary(let b): handler?.webSocket(self, didReceiveBinary: b)
        case .pong(let p): handler?.webSocket(self, didReceivePong: p)
        case .ping, .close, .failure: break
        }
    }

    // MARK: ConnectionHandler

    public func connectionDidOpen(_ c: Connection) {
        perform(machine.open(now: c.loop.now))
        handler?.webSocketDidOpen(self)
    }

    /// Stops a debug build where the endpoint would be touched from inside its own `process`
    /// (see `endpoint`): for the accesses that could only overlap by mistake.
    private func assertNotProcessing(file: StaticString = #file, line: UInt = #line) {
        assert(!processing, "the WebSocket endpoint touched from inside its own process call", file: file, line: line)
    }

    public func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int {
        let now = c.loop.now
        assertNotProcessing()  // a read inside a read's callback: the loop never does that
        guard machine.bytesArrived(now: now) else { return bytes.count }
        // The receive buffer is the loop's own, writable memory: frames are unmasked in place.
        let input = UnsafeMutableRawBufferPointer(mutating: bytes)
        processing = true
        let consumed = endpoint.process(input) { event in
            let actions = self.machine.receive(event)
            // The common case, a message to hand over, without going through every action.
            if actions.kinds == .deliver && actions.timer == nil && actions.closeTransport == nil {
                self.deliver(event)
            } else if !actions.isEmpty {
                self.perform(actions, event: event)
            }
        }
        processing = false
        if machine.state == .closed {
            // Closed from a callback (the application dropped the connection): what the
            // endpoint holds goes now (`connectionDidClose` could not touch it).
            endpoint.discardIncompleteMessage()
            return consumed
        }
        let actions = machine.readEnded(messageIncomplete: endpoint.isMessageIncomplete, now: now)
        if !actions.isEmpty { perform(actions) }
        return consumed
    }

    public func connectionDidTimeout(_ c: Connection) {
        perform(machine.timerFired(now: c.loop.now))
    }

    public func connectionWritabilityDidChange(_ c: Connection, isWritable: Bool) {
        handler?.webSocketWritabilityDidChange(self, isWritable: isWritable)
    }

    public func connectionShouldShutdown(_ c: Connection) {
        close(code: .goingAway, reason: "server shutting down")
    }

    public func connectionDidReadEOF(_ c: Connection) {
        perform(machine.transportEnded())
    }

    public func connectionDidClose(_ c: Connection, reason: CloseReason) {
        machine.transportClosed()
        // Refunds the loop's budget; from inside `process`, `connection(_:didRead:)` does it
        // when `process` returns (the endpoint is not ours to touch until then).
        if !processing { endpoint.discardIncompleteMessage() }
        let h = handler
        handler = nil  // breaks a handler <-> socket cycle
        let closeReason = machine.closeReason
        h?.webSocketDidClose(self, code: machine.closeCode, reason: closeReason.isEmpty ? "\(reason)" : closeReason)
    }
}

extension WebSocket {
    /// Completes a WebSocket handshake on an HTTP request: answers 101 and hands the connection to
    /// a new `WebSocket` driven by `handler`. A request that is not a valid handshake is answered
    /// (400, 403 or 426 with `Sec-WebSocket-Version: 13`) and nil is returned; so is one from a
    /// browser origin `configuration.origins` refuses (403), or that `checkOrigin` refuses.
    @discardableResult
    public static func upgrade(
        _ request: HTTPRequest, _ responder: HTTPResponder,
        configuration: WebSocketConfiguration = WebSocketConfiguration(),
        selectSubprotocol: (([String]) -> String?)? = nil,
        checkOrigin: ((String?) -> Bool)? = nil,
        context: AnyObject? = nil,
        handler: any WebSocketHandler
    ) -> WebSocket? {
        // The configuration's origin policy first, then the caller's own check, if any.
        let originAllowed = configuration.origins.verdict(request.head).isAllowed
        let check: ((String?) -> Bool)? = originAllowed ? checkOrigin : { _ in false }
        switch WebSocketHandshake.evaluate(request.head, selectSubprotocol: selectSubprotocol, checkOrigin: check,
                                           allowDeflate: configuration.permessageDeflate,
                                           contextTakeover: configuration.deflateContextTakeover) {
        case .reject(let status, let headers, let reason):
            responder.respond(status, contentType: "text/plain; charset=utf-8", headers: headers, body: reason + "\n")
            return nil
        case .accept(let headers, let subprotocol, let deflate):
            let ws = WebSocket(connection: request.connection, role: .server, configuration: configuration,
                               handler: handler, subprotocol: subprotocol, deflate: deflate)
            ws.context = context  // before the handler hears of the socket: it opens synchronously
            responder.upgrade(headers: headers, to: ws)
            return ws
        }
    }
}

