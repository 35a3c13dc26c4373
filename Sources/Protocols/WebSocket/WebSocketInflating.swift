/// Decompresses permessage-deflate messages for a `WebSocketEndpoint`. An abstraction so the
/// message layer does not depend on zlib (and can be fuzzed without it); `WebSocketInflater` is
/// the real one.
public protocol WebSocketInflating: AnyObject {
    /// Inflates one piece of a compressed message, appending to `out` (at most `limit` bytes in
    /// all); `endOfMessage` marks the message's last piece.
    func inflate(_ input: UnsafeRawBufferPointer, endOfMessage: Bool, into out: inout [UInt8], limit: Int) -> WebSocketInflateResult
    /// Bytes of decompression state held now (charged to the loop's budget while a message is
    /// incomplete).
    var heldBytes: Int { get }
    /// The message being inflated was dropped (the socket failed or closed): state kept for it
    /// alone may be released.
    func discardMessage()
}

extension WebSocketInflating {
    public var heldBytes: Int { 0 }
    public func discardMessage() {}
}

public enum WebSocketInflateResult: Sendable {
    case ok, tooBig, corrupt
}
