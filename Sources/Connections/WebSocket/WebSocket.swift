import Protocols
import Reactor

/// One WebSocket connection, server or client side: the glue between a reactor connection and a
/// `WebSocketEndpoint`. It answers pings, runs the close handshake, keeps the connection alive
/// with pings when it goes quiet, and compresses large messages when permessage-deflate was agreed.
///
/// Sending writes a frame header and its payload in one write (gathered in the cork inside a read
/// callback), so an echo costs no allocation. A broadcast encodes its frame once with
/// `WebSocketFrameEncoder.serverFrame` and passes the same `SharedBytes` to every `send(frame:)`.
public final class WebSocket: ConnectionHandler {
    enum State { case connecting, open, closing, closed }

    public let connection: Connection
    public let role: WebSocketFrameDecoder.Role
    /// The options this socket runs with (the limits live in the endpoint, the timings here).
    public var configuration: WebSocketConfiguration {
        var c = WebSocketConfiguration()
        c.limits = endpoint.limits
        c.pingInterval = timings.pingInterval
        c.pongTimeout = timings.pongTimeout
        c.closeTimeout = timings.closeTimeout
        c.messageTimeout = timings.messageTimeout
        c.permessageDeflate = deflate != nil
        c.deflateContextTakeover = deflate.map { !$0.serverNoContextTakeover || !$0.clientNoContextTakeover } ?? false
        c.compressionThreshold = Int(timings.compressionThreshold)
        return c
    }
    /// What the socket needs of its configuration at run time, in 24 bytes rather than the
    /// configuration's 100: one of these lives in every idle connection.
    private let timings: CompactTimings
    /// The subprotocol agreed in the handshake, if any.
    public let subprotocol: String?
    /// Room for the application's per-connection state (a chat's user, say).
    public var context: AnyObject?

    private var endpoint: WebSocketEndpoint
    private var handler: (any WebSocketHandler)?
    private let deflate: WebSocketHandshake.DeflateParameters?
    private var deflater: WebSocketDeflater?
    private var state = State.connecting
    private var closeCode = WebSocketCloseCode.abnormal
    private var closeReason = ""
    private var lastHeard: UInt64 = 0
    /// When the incomplete message began (loop clock), 0 when none is: `messageTimeout` runs from it.
    private var messageStarted: UInt64 = 0
    private var awaitingPong = false
    // Client side: masking keys from a per-connection xorshift generator (seeded from the system
    // generator once), and a buffer to mask into, since a caller's bytes must not be modified.
    private var random: UInt64 = 0
    private var maskBuffer: [UInt8] = []

    init(connection: Connection, role: WebSocketFrameDecoder.Role, configuration: WebSocketConfiguration,
         handler: any WebSocketHandler, subprotocol: String?, deflate: WebSocketHandshake.DeflateParameters?) {
        self.connection = connection
        self.role = role
        self.timings = CompactTimings(configuration)
        self.handler = handler
        self.subprotocol = subprotocol
        self.deflate = deflate
        // The loop's one budget for incomplete messages, shared by all its sockets (server and
        // client side, Engine.IO's transport too: they all come through here).
        let budget = connection.loop.local(WebSocketMessageBudget.self) { WebSocketMessageBudget() }
        self.endpoint = WebSocketEndpoint(role: role, limits: configuration.limits, budget: budget)
        if let deflate, let inflater = WebSocketInflater(noContextTakeover: role == .server ? deflate.clientNoContextTakeover : deflate.serverNoContextTakeover) {
            endpoint.enableDeflate(inflater)
        }
        if role == .client { random = UInt64.random(in: 1...UInt64.max) }
    }

    /// Whether the connection is open for messages (not connecting, closing or closed).
    public var isOpen: Bool { state == .open }

    /// Bytes queued and not yet taken by the kernel.
    public var bufferedAmount: Int { connection.bufferedAmount }

    /// False while the queue is above the high watermark.
    public var isWritable: Bool { connection.isWritable }

    // MARK: Sending

    /// Sends a text message (`text` must be valid UTF-8).
    @discardableResult
    public func send(text: UnsafeRawBufferPointer) -> Bool { sendMessage(.text, text) }

    @discardableResult
    public func send(text: String) -> Bool {
        var t = text
        return t.withUTF8 { sendMessage(.text, UnsafeRawBufferPointer($0)) }
    }

    @discardableResult
    public func send(binary: UnsafeRawBufferPointer) -> Bool { sendMessage(.binary, binary) }

    @discardableResult
    public func send(binary: [UInt8]) -> Bool { binary.withUnsafeBytes { sendMessage(.binary, $0) } }

    /// Sends a frame encoded once for many recipients (server side only; never compressed).
    @discardableResult
    public func send(frame: SharedBytes) -> Bool {
        precondition(role == .server, "pre-encoded frames are unmasked: server side only")
        guard state == .open else { return false }
        return connection.send(frame)
    }

    @discardableResult
    public func ping(_ payload: [UInt8] = []) -> Bool {
        guard state == .open, payload.count <= 125 else { return false }
        return payload.withUnsafeBytes { sendFrame(.ping, $0) }
    }

    /// Starts the close handshake; the connection closes when the peer answers (or after
    /// `closeTimeout`).
    public func close(code: WebSocketCloseCode = .normal, reason: String = "") {
        guard state == .open || state == .connecting else { return }
        if state == .connecting {
            connection.close(reason: .local)
            return
        }
        if code != .normal && code != .goingAway && code.rawValue < 3000 {
            handler?.webSocketWillFail(self, code: code, reason: reason)
        }
        sendClose(code, reason)
        closeCode = code
        closeReason = reason
        state = .closing
        connection.setTimeout(timings.closeTimeout)
    }

    private func sendMessage(_ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer) -> Bool {
        guard state == .open else { return false }
        if deflate != nil && payload.count >= Int(timings.compressionThreshold) {
            let noContextTakeover = role == .server ? deflate!.serverNoContextTakeover : deflate!.clientNoContextTakeover
            let windowBits = role == .server ? deflate!.serverMaxWindowBits : 15
            // Reset after each message, a compressor belongs to no socket: use the loop's.
            let deflater = noContextTakeover
                ? connection.loop.local(WebSocketSharedDeflaters.self) { WebSocketSharedDeflaters() }.deflater(windowBits: windowBits)
                : ownDeflater(windowBits: windowBits)
            if let deflater {
                let compressed = deflater.deflate(payload)
                return compressed.withUnsafeBytes { sendFrame(opcode, $0, rsv1: true) }
            }
        }
        return sendFrame(opcode, payload)
    }

    private func ownDeflater(windowBits: Int) -> WebSocketDeflater? {
        if deflater == nil { deflater = WebSocketDeflater(windowBits: windowBits, noContextTakeover: false) }
        return deflater
    }

    private func sendFrame(_ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer, rsv1: Bool = false) -> Bool {
        var header: (UInt64, UInt64) = (0, 0)
        return withUnsafeMutableBytes(of: &header) { h in
            if role == .server {
                let n = WebSocketFrameEncoder.writeHeader(opcode: opcode, rsv1: rsv1, payloadLength: payload.count, into: h.baseAddress!)
                return connection.send(UnsafeRawBufferPointer(rebasing: h[0..<n]), payload)
            }
            let key = nextMaskKey()
            let n = WebSocketFrameEncoder.writeHeader(opcode: opcode, rsv1: rsv1, payloadLength: payload.count, maskKey: key, into: h.baseAddress!)
            maskBuffer.removeAll(keepingCapacity: true)
            maskBuffer.append(contentsOf: payload)
            return maskBuffer.withUnsafeMutableBytes { masked in
                webSocketApplyMask(masked, key: key, offset: 0)
                return connection.send(UnsafeRawBufferPointer(rebasing: h[0..<n]), UnsafeRawBufferPointer(masked))
            }
        }
    }

    private func sendClose(_ code: WebSocketCloseCode, _ reason: String) {
        var payload: [UInt8] = []
        if code != .noStatus && code != .abnormal {
            payload = [UInt8(code.rawValue >> 8), UInt8(code.rawValue & 0xFF)] + Array(reason.utf8.prefix(123))
        }
        _ = payload.withUnsafeBytes { sendFrame(.close, $0) }
    }

    private func nextMaskKey() -> UInt32 {
        random ^= random << 13
        random ^= random >> 7
        random ^= random << 17
        return UInt32(truncatingIfNeeded: random >> 16)
    }

    // MARK: ConnectionHandler

    public func connectionDidOpen(_ c: Connection) {
        state = .open
        lastHeard = c.loop.now
        if let interval = timings.pingInterval { c.setTimeout(interval) }
        handler?.webSocketDidOpen(self)
    }

    public func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int {
        guard state == .open || state == .closing else { return bytes.count }
        lastHeard = c.loop.now
        awaitingPong = false
        // The receive buffer is the loop's own, writable memory: frames are unmasked in place.
        let input = UnsafeMutableRawBufferPointer(mutating: bytes)
        let consumed = endpoint.process(input) { event in self.handle(event) }
        if endpoint.isMessageIncomplete != (messageStarted != 0) { messageDidStartOrEnd(c) }
        return consumed
    }

    /// A message began without ending in this read (start its deadline), or the one that had
    /// ended. Only messages that span reads come here: the one-read path is untouched.
    private func messageDidStartOrEnd(_ c: Connection) {
        guard endpoint.isMessageIncomplete, state == .open else {
            messageStarted = 0
            return
        }
        messageStarted = max(1, c.loop.now)
        // The one timeout of the connection now serves both: the keepalive ping is due no sooner
        // than `pingInterval` from now (we just heard from the peer).
        let deadline = timings.messageTimeout
        c.setTimeout(timings.pingInterval.map { min($0, deadline) } ?? deadline)
    }

    private func handle(_ event: WebSocketEvent) {
        switch event {
        case .text(let t):
            if state == .open { handler?.webSocket(self, didReceiveText: t) }
        case .binary(let b):
            if state == .open { handler?.webSocket(self, didReceiveBinary: b) }
        case .ping(let p):
            if state == .open { _ = sendFrame(.pong, p) }
        case .pong(let p):
            handler?.webSocket(self, didReceivePong: p)
        case .close(let code, let reason):
            if state == .open {
                // Answer with the same code, as RFC 6455 5.5.1 suggests; then the server closes
                // the TCP connection first (RFC 6455 7.1.1).
                sendClose(code, "")
                closeCode = code
                closeReason = String(decoding: reason, as: UTF8.self)
            }
            state = .closing
            connection.close(reason: .local)
        case .failure(let code, let reason):
            handler?.webSocketWillFail(self, code: code, reason: reason)
            if state == .open { sendClose(code, reason) }
            closeCode = code
            closeReason = reason
            state = .closing
            connection.close(reason: .protocolError("WebSocket \(code.rawValue): \(reason)"))
        }
    }

    public func connectionDidTimeout(_ c: Connection) {
        switch state {
        case .closing, .connecting:
            c.close(reason: .timeout, flush: false)
        case .open:
            var messageLeft: Duration?
            if messageStarted != 0 {
                let left = timings.messageTimeout - .nanoseconds(Int64(c.loop.now &- messageStarted))
                if left <= .zero {
                    // The peer began a message and did not finish it in time: what it holds is
                    // released now, whatever the keepalive says.
                    messageStarted = 0
                    endpoint.discardIncompleteMessage()
                    handle(.failure(.policyViolation, reason: "message not finished within \(timings.messageTimeout)"))
                    return
                }
                messageLeft = left
            }
            if awaitingPong {
                closeReason = "no pong within the deadline"
                c.close(reason: .timeout, flush: false)
                return
            }
            var next: Duration?
            if let interval = timings.pingInterval {
                let quietFor = Duration.nanoseconds(Int64(c.loop.now &- lastHeard))
                if quietFor < interval {
                    next = interval - quietFor
                } else {
                    _ = sendFrame(.ping, UnsafeRawBufferPointer(start: nil, count: 0))
                    awaitingPong = true
                    next = timings.pongTimeout
                }
            }
            if let messageLeft { next = min(next ?? messageLeft, messageLeft) }
            if let next { c.setTimeout(next) }
        case .closed:
            break
        }
    }

    public func connectionWritabilityDidChange(_ c: Connection, isWritable: Bool) {
        handler?.webSocketWritabilityDidChange(self, isWritable: isWritable)
    }

    public func connectionShouldShutdown(_ c: Connection) {
        close(code: .goingAway, reason: "server shutting down")
    }

    public func connectionDidReadEOF(_ c: Connection) {
        c.close(reason: .peerClosed)
    }

    public func connectionDidClose(_ c: Connection, reason: CloseReason) {
        state = .closed
        endpoint.discardIncompleteMessage()  // refunds the loop's budget
        let h = handler
        handler = nil  // breaks a handler <-> socket cycle
        h?.webSocketDidClose(self, code: closeCode, reason: closeReason.isEmpty ? "\(reason)" : closeReason)
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

/// A WebSocket's timings in milliseconds, packed (see `WebSocket.timings`).
private struct CompactTimings {
    private let pingMilliseconds: UInt32  // 0: no keepalive
    private let pongMilliseconds: UInt32
    private let closeMilliseconds: UInt32
    private let messageMilliseconds: UInt32
    let compressionThreshold: UInt32

    init(_ c: WebSocketConfiguration) {
        pingMilliseconds = c.pingInterval.map { Self.milliseconds($0) } ?? 0
        pongMilliseconds = Self.milliseconds(c.pongTimeout)
        closeMilliseconds = Self.milliseconds(c.closeTimeout)
        messageMilliseconds = Self.milliseconds(c.messageTimeout)
        compressionThreshold = UInt32(clamping: c.compressionThreshold)
    }

    var pingInterval: Duration? { pingMilliseconds == 0 ? nil : .milliseconds(pingMilliseconds) }
    var pongTimeout: Duration { .milliseconds(pongMilliseconds) }
    var closeTimeout: Duration { .milliseconds(closeMilliseconds) }
    var messageTimeout: Duration { .milliseconds(messageMilliseconds) }

    private static func milliseconds(_ d: Duration) -> UInt32 {
        let (seconds, attoseconds) = d.components
        return UInt32(clamping: max(1, seconds * 1000 + attoseconds / 1_000_000_000_000_000))
    }
}
