import Protocols

/// What a WebSocket tells its owner. All calls come on the loop's thread.
///
/// Payloads are borrowed: `text`, `data` and `payload` point into the loop's receive buffer or the
/// connection's reassembly (or inflate) buffer, and are valid only during the call; the next
/// message, this connection's or another's, reuses those bytes. Whatever must outlive the call (a
/// message kept for later, sent from a timer, handed to another connection's callback) is copied
/// first, the same way as every borrowed view (Protocols' OwnedCopies.swift):
///
///     func webSocket(_ ws: WebSocket, didReceiveText text: UnsafeRawBufferPointer) {
///         let kept = String(text)         // or [UInt8](text) for binary data
///         loop.schedule(after: .seconds(1)) { ws.send(text: kept) }
///     }
///
/// Nothing checks a kept payload at run time (unlike `HTTPRequest`, a payload is a raw buffer and
/// carries no generation), so this rule is the contract. Sending a payload back during the call
/// (`ws.send(text: text)`) needs no copy: `send` copies or encodes what it does not write at once.
public protocol WebSocketHandler: AnyObject {
    func webSocketDidOpen(_ ws: WebSocket)
    /// A complete text message, validated UTF-8: borrowed, the zero-copy form. Its default
    /// makes a `String` and calls the form below.
    func webSocket(_ ws: WebSocket, didReceiveText text: UnsafeRawBufferPointer)
    /// A complete text message as an owned `String`, for handlers that want one: implement this
    /// instead of the borrowed form (each message then costs the String's allocation when it is
    /// longer than 15 bytes).
    func webSocket(_ ws: WebSocket, didReceiveText text: String)
    func webSocket(_ ws: WebSocket, didReceiveBinary data: UnsafeRawBufferPointer)
    /// A pong (the answer to `ping`, or an unsolicited one).
    func webSocket(_ ws: WebSocket, didReceivePong payload: UnsafeRawBufferPointer)
    /// The outbound queue crossed a watermark: stop producing when false, resume when true.
    func webSocketWritabilityDidChange(_ ws: WebSocket, isWritable: Bool)
    /// The connection is closed. `code` is the peer's close code, ours when we failed the
    /// connection, or `.abnormal` (1006) when it dropped without a close frame.
    func webSocketDidClose(_ ws: WebSocket, code: WebSocketCloseCode, reason: String)
    /// Our side is closing the connection for an error (a protocol violation, a message too big,
    /// a slow consumer): called while the connection is still open, so its peer can still be
    /// named (`ws.connection.peerAddress`); `webSocketDidClose` follows.
    func webSocketWillFail(_ ws: WebSocket, code: WebSocketCloseCode, reason: String)
}

extension WebSocketHandler {
    public func webSocketDidOpen(_ ws: WebSocket) {}
    public func webSocket(_ ws: WebSocket, didReceiveText text: UnsafeRawBufferPointer) {
        webSocket(ws, didReceiveText: String(text))
    }
    public func webSocket(_ ws: WebSocket, didReceiveText text: String) {}
    public func webSocket(_ ws: WebSocket, didReceiveBinary data: UnsafeRawBufferPointer) {}
    public func webSocket(_ ws: WebSocket, didReceivePong payload: UnsafeRawBufferPointer) {}
    public func webSocketWritabilityDidChange(_ ws: WebSocket, isWritable: Bool) {}
    public func webSocketDidClose(_ ws: WebSocket, code: WebSocketCloseCode, reason: String) {}
    public func webSocketWillFail(_ ws: WebSocket, code: WebSocketCloseCode, reason: String) {}
}
