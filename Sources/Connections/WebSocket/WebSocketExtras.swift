import Protocols

/// A WebSocket's rarely used state (`WebSocket.extras`): allocated only for a socket that agreed
/// on a subprotocol or on permessage-deflate, so the others do not carry its 40 bytes.
final class WebSocketExtras {
    let subprotocol: String?
    let deflate: WebSocketHandshake.DeflateParameters?
    /// This socket's own compressor, with context takeover (made on the first compressed send).
    private var deflater: WebSocketDeflater?

    init(subprotocol: String?, deflate: WebSocketHandshake.DeflateParameters?) {
        self.subprotocol = subprotocol
        self.deflate = deflate
    }

    func ownDeflater(windowBits: Int) -> WebSocketDeflater? {
        if deflater == nil { deflater = WebSocketDeflater(windowBits: windowBits, noContextTakeover: false) }
        return deflater
    }
}
