/// FNV-1a, 64-bit: a quick, well-spread hash of a few bytes, the same on every run (unlike
/// `Hasher`, seeded per process), so a room's owner loop can be predicted. The router indexes
/// exact paths by it; the loop-group relay picks a room's owner loop by it.
///
/// Not a defence against chosen collisions: a caller keyed by peer input must still compare the
/// bytes themselves (the router does).
package enum FNV1a {
    package static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    package static let prime: UInt64 = 0x0000_0100_0000_01B3

    // Inlinable: the router hashes every request path with it, and a generic call across the
    // module boundary would be neither specialised nor inlined.
    @inlinable
    package static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h = offsetBasis
        for b in bytes { h = (h ^ UInt64(b)) &* prime }
        return h
    }

    @inlinable
    package static func hash(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var h = offsetBasis
        for b in bytes { h = (h ^ UInt64(b)) &* prime }
        return h
    }
}
