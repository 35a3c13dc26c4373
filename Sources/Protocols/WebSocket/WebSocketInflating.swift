/// Decompresses permessage-deflate messages for a `WebSocketEndpoint`. An abstraction so the
/// message layer does not depend on zlib (and can be fuzzed without it); `WebSocketInflater` is
/// the real one.
public protocol WebSocketInflating: AnyObject {
    /// Inflates one piece of a compressed message, appending to `out` (at most `limit` bytes in
    /// all); `endOfMessage` marks the message's last piece.
    func inflate(_ input: UnsafeRawBufferPointer, endOfMessage: Bool, into out: inout [UInt8], limit: Int) -> WebSocketInflateResult
}

public enum WebSocketInflateResult: Sendable {
    case ok, tooBig, corrupt
}
