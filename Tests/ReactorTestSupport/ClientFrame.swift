/// Frames as a client would send them (masked), built byte by byte here rather than with the
/// encoder under test. Here, not beside the WebSocket tests, because both the
/// endpoint tests (ProtocolsTests) and the socket tests (ConnectionsTests) send them.
public func clientFrame(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true, rsv: UInt8 = 0, key: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]) -> [UInt8] {
    var out: [UInt8] = [(fin ? 0x80 : 0) | (rsv << 4) | opcode]
    let n = payload.count
    if n < 126 {
        out.append(0x80 | UInt8(n))
    } else if n <= 0xFFFF {
        out += [0x80 | 126, UInt8(n >> 8), UInt8(n & 0xFF)]
    } else {
        out.append(0x80 | 127)
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8((n >> shift) & 0xFF)) }
    }
    out += key
    for (i, b) in payload.enumerated() { out.append(b ^ key[i % 4]) }
    return out
}
