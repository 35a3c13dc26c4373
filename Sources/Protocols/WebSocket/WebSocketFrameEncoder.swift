/// Writes frame headers (whole frames as shared bytes, for broadcast, are in Connections:
/// `WebSocketFrameEncoder+SharedBytes.swift`, next to the buffer type they fill).
public enum WebSocketFrameEncoder {
    /// The longest header: 2 + 8 bytes of length + 4 of mask.
    public static let maxHeaderLength = 14

    /// Writes a frame header into `buffer` (at least `maxHeaderLength` bytes); returns its length.
    /// A client passes a `maskKey` and must then mask the payload with it.
    @inlinable
    public static func writeHeader(
        opcode: WebSocketOpcode, fin: Bool = true, rsv1: Bool = false, payloadLength: Int, maskKey: UInt32? = nil,
        into buffer: UnsafeMutableRawPointer
    ) -> Int {
        buffer.storeBytes(of: (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode.rawValue, as: UInt8.self)
        let maskBit: UInt8 = maskKey == nil ? 0 : 0x80
        var n: Int
        if payloadLength < 126 {
            buffer.storeBytes(of: maskBit | UInt8(payloadLength), toByteOffset: 1, as: UInt8.self)
            n = 2
        } else if payloadLength <= 0xFFFF {
            buffer.storeBytes(of: maskBit | 126, toByteOffset: 1, as: UInt8.self)
            buffer.storeBytes(of: UInt16(payloadLength).bigEndian, toByteOffset: 2, as: UInt16.self)
            n = 4
        } else {
            buffer.storeBytes(of: maskBit | 127, toByteOffset: 1, as: UInt8.self)
            buffer.storeBytes(of: UInt64(payloadLength).bigEndian, toByteOffset: 2, as: UInt64.self)
            n = 10
        }
        if let key = maskKey {
            buffer.storeBytes(of: key.bigEndian, toByteOffset: n, as: UInt32.self)
            n += 4
        }
        return n
    }
}
