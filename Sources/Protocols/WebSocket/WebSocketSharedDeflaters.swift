/// The compressors that the sockets of one loop take turns with, one per window size.
///
/// Without context takeover (RFC 7692 7.1.1.1) a compressor is reset after every message, so
/// nothing in it belongs to one socket, and one loop runs one compression at a time: a single
/// compressor serves every socket, as uWebSockets' shared compressor does. Its zlib state (about
/// 256 KiB for a 32 KiB window) is then paid once per loop, not once per socket that ever sent a
/// large message. Kept in the loop's local storage (`EventLoop.local`); loop-bound, not Sendable.
package final class WebSocketSharedDeflaters {
    private var byWindowBits: [WebSocketDeflater?] = Array(repeating: nil, count: 16)

    /// The shared compressor for windows of `2^windowBits` bytes (9...15, as negotiated).
    package init() {}

    package func deflater(windowBits: Int) -> WebSocketDeflater? {
        let bits = min(15, max(9, windowBits))
        if let existing = byWindowBits[bits] { return existing }
        let made = WebSocketDeflater(windowBits: bits, noContextTakeover: true)
        byWindowBits[bits] = made
        return made
    }
}
