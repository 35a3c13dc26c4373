/// XORs `bytes` with the 4-byte masking key, starting at `offset` bytes into the key's cycle
/// (a payload may be unmasked in several pieces). Eight bytes at a time through the middle: the
/// key is repeated into a 64-bit word and rotated to the piece's alignment.
@inlinable
public func webSocketApplyMask(_ bytes: UnsafeMutableRawBufferPointer, key: UInt32, offset: Int) {
    guard var p = bytes.baseAddress, bytes.count > 0 else { return }
    var remaining = bytes.count
    // The key as it appears in memory (network order), rotated so byte 0 lines up with `offset`.
    let keyBytes = key.bigEndian
    let shift = UInt32((offset & 3) * 8)
    let rotated = shift == 0 ? keyBytes : (keyBytes >> shift) | (keyBytes << (32 - shift))
    // Byte at a time until 8-byte aligned, rotating the key along.
    var k = rotated
    while remaining > 0 && Int(bitPattern: p) & 7 != 0 {
        p.storeBytes(of: p.load(as: UInt8.self) ^ UInt8(truncatingIfNeeded: k), as: UInt8.self)
        k = (k >> 8) | (k << 24)
        p += 1
        remaining -= 1
    }
    let word = UInt64(k) | (UInt64(k) << 32)
    while remaining >= 8 {
        p.storeBytes(of: p.load(as: UInt64.self) ^ word, as: UInt64.self)
        p += 8
        remaining -= 8
    }
    while remaining > 0 {
        p.storeBytes(of: p.load(as: UInt8.self) ^ UInt8(truncatingIfNeeded: k), as: UInt8.self)
        k = (k >> 8) | (k << 24)
        p += 1
        remaining -= 1
    }
}
