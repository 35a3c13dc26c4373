import Protocols

/// A WebSocket's rarely used state (`WebSocket.extras`): allocated only for a client socket or
/// one that agreed on a subprotocol or on permessage-deflate, so the many server sockets that
/// did neither do not carry its bytes.
final class WebSocketExtras {
    let subprotocol: String?
    let deflate: WebSocketHandshake.DeflateParameters?
    /// This socket's own compressor, with context takeover (made on the first compressed send).
    private var deflater: WebSocketDeflater?
    /// A client's frame writer (its masking keys and buffer); nil on the server side, whose
    /// frames need no state.
    var writer: WebSocketFrameWriter?

    init(role: WebSocketFrameDecoder.Role, subprotocol: String?, deflate: WebSocketHandshake.DeflateParameters?) {
        self.subprotocol = subprotocol
        self.deflate = deflate
        self.writer = role == .client ? WebSocketFrameWriter(role: .client) : nil
    }

    func ownDeflater(windowBits: Int) -> WebSocketDeflater? {
        if deflater == nil { deflater = WebSocketDeflater(windowBits: windowBits, noContextTakeover: false) }
        return deflater
    }
}
