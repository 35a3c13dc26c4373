/// The two buffers every TLS connection of one loop shares (uSockets keeps one the same way), so a
/// connection holds no buffer of its own between calls:
///
/// - `plaintext`: records decrypt into it; `TLSConnection.receive` hands it out as a borrowed view,
///   valid until the next call on any connection of this loop.
/// - `wire`: records OpenSSL writes (handshake flights, alerts, encrypted data) gather here and are
///   handed to the caller's `send` closure whenever it fills and at the end of every call.
///
/// Made once per loop by whoever owns the loop (no globals), and used on that loop's thread only.
public final class TLSBuffers {
    let plaintext: UnsafeMutableRawBufferPointer
    let wire: UnsafeMutableRawBufferPointer

    /// - Parameters:
    ///   - plaintextCapacity: room for the handler's unconsumed input plus one read's plaintext;
    ///     the seam sizes it to twice the loop's receive buffer plus one record.
    ///   - wireCapacity: ciphertext gathered before it is handed out; at least one full record.
    public init(plaintextCapacity: Int, wireCapacity: Int = 64 * 1024) {
        precondition(wireCapacity >= TLSConnection.maxRecordOverhead + TLSConnection.maxRecordPlaintext)
        plaintext = .allocate(byteCount: plaintextCapacity, alignment: 16)
        wire = .allocate(byteCount: wireCapacity, alignment: 16)
    }

    deinit {
        plaintext.deallocate()
        wire.deallocate()
    }
}
