/// Turns one outgoing frame into the bytes to send, for either role, without copying on the
/// server side: a header written on the stack and the caller's payload, handed to `body` as two
/// buffers for one gathered write. A client masks (RFC 6455 5.3) into a buffer of its own, since
/// the caller's bytes must not be modified, with keys from a per-connection xorshift generator
/// seeded once from the system's.
public struct WebSocketFrameWriter {
    public let role: WebSocketFrameDecoder.Role
    private var random: UInt64 = 0
    private var maskBuffer: [UInt8] = []

    public init(role: WebSocketFrameDecoder.Role) {
        self.role = role
        if role == .client { random = UInt64.random(in: 1...UInt64.max) }
    }

    /// Calls `body` with the frame's header and payload (valid during the call only).
    public mutating func write<R>(
        _ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer, rsv1: Bool = false,
        _ body: (_ header: UnsafeRawBufferPointer, _ payload: UnsafeRawBufferPointer) -> R
    ) -> R {
        if role == .server { return Self.unmasked(opcode, payload, rsv1: rsv1, body) }
        var header: (UInt64, UInt64) = (0, 0)  // 16 bytes >= WebSocketFrameEncoder.maxHeaderLength
        return withUnsafeMutableBytes(of: &header) { h in
            let key = nextMaskKey()
            let n = WebSocketFrameEncoder.writeHeader(opcode: opcode, rsv1: rsv1, payloadLength: payload.count, maskKey: key, into: h.baseAddress!)
            maskBuffer.removeAll(keepingCapacity: true)
            maskBuffer.append(contentsOf: payload)
            return maskBuffer.withUnsafeMutableBytes { masked in
                webSocketApplyMask(masked, key: key, offset: 0)
                return body(UnsafeRawBufferPointer(rebasing: h[0..<n]), UnsafeRawBufferPointer(masked))
            }
        }
    }

    /// A server's frame: unmasked, so it needs no state (the header is written on the stack).
    /// Inlinable: the glue (another module) sends every echoed message through it, and an
    /// unspecialised generic call with a closure costs more than the frame header.
    @inlinable @inline(__always)
    public static func unmasked<R>(
        _ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer, rsv1: Bool = false,
        _ body: (_ header: UnsafeRawBufferPointer, _ payload: UnsafeRawBufferPointer) -> R
    ) -> R {
        var header: (UInt64, UInt64) = (0, 0)  // 16 bytes >= WebSocketFrameEncoder.maxHeaderLength
        return withUnsafeMutableBytes(of: &header) { h in
            let n = WebSocketFrameEncoder.writeHeader(opcode: opcode, rsv1: rsv1, payloadLength: payload.count, into: h.baseAddress!)
            return body(UnsafeRawBufferPointer(rebasing: h[0..<n]), payload)
        }
    }

    /// A close frame's payload (RFC 6455 5.5.1): the code, then as much of the reason as fits in a
    /// control frame's 125 bytes, cut at a character boundary so it stays valid UTF-8. No code
    /// (`.noStatus`, `.abnormal`) means an empty payload.
    public static func closePayload(_ code: WebSocketCloseCode, reason: String) -> [UInt8] {
        guard code != .noStatus && code != .abnormal else { return [] }
        var payload = [UInt8(code.rawValue >> 8), UInt8(code.rawValue & 0xFF)]
        for scalar in reason.unicodeScalars {
            let bytes = String(scalar).utf8
            if payload.count + bytes.count > 125 { break }
            payload.append(contentsOf: bytes)
        }
        return payload
    }

    private mutating func nextMaskKey() -> UInt32 {
        random ^= random << 13
        random ^= random >> 7
        random ^= random << 17
        return UInt32(truncatingIfNeeded: random >> 16)
    }
}
