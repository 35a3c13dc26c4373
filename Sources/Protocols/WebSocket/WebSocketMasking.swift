/// XORs `bytes` with the 4-byte masking key, starting at `offset` bytes into the key's cycle
/// (a payload may be unmasked in several pieces): eight bytes at a time, then four, then single
/// bytes, the key repeated into a 64-bit word and rotated to the piece's start. Loads and stores
/// are unaligned (a payload begins 6 or 8 bytes into its frame): x86-64 and arm64 do them at
/// full speed, and a 32-byte payload costs four words and no byte loop to reach alignment.
/// (SIMD2<UInt64> steps were tried: the 16 KiB echo cost 55% more instructions.)
@inlinable
public func webSocketApplyMask(_ bytes: UnsafeMutableRawBufferPointer, key: UInt32, offset: Int) {
    guard var p = bytes.baseAddress, bytes.count > 0 else { return }
    var remaining = bytes.count
    // The key as it appears in memory (network order), rotated so byte 0 lines up with `offset`.
    let keyBytes = key.bigEndian
    let shift = UInt32((offset & 3) * 8)
    var k = shift == 0 ? keyBytes : (keyBytes >> shift) | (keyBytes << (32 - shift))
    let word = UInt64(k) | (UInt64(k) << 32)
    while remaining >= 8 {
        p.storeBytes(of: p.loadUnaligned(as: UInt64.self) ^ word, as: UInt64.self)
        p += 8
        remaining -= 8
    }
    if remaining >= 4 {  // a whole cycle of the key: it stays lined up
        p.storeBytes(of: p.loadUnaligned(as: UInt32.self) ^ k, as: UInt32.self)
        p += 4
        remaining -= 4
    }
    while remaining > 0 {
        p.storeBytes(of: p.load(as: UInt8.self) ^ UInt8(truncatingIfNeeded: k), as: UInt8.self)
        k = (k >> 8) | (k << 24)
        p += 1
        remaining -= 1
    }
}
