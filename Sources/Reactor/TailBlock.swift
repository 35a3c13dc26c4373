/// One block of a connection's kept input tail (`TailPool`): an 8-byte header, the tail's byte
/// count and the block's size class, then the bytes.
///
/// The two live in the block, not in the slot: every descriptor has a slot, and a slot's bytes
/// count per idle connection (issue 18: 8 bytes, the slot 64 -> 56), while only a connection that
/// holds a tail has a block, and a read that has a tail copies from the block anyway.
struct TailBlock: Equatable {
    /// The block's start (the header); `bytes` follow it.
    let base: UnsafeMutableRawPointer

    /// Count, size class, padding: the bytes stay 8-byte aligned.
    static let headerBytes = 8

    /// Bytes of the tail (at most the block's capacity, which is below 2 GiB: the receive buffer
    /// bounds it).
    @inline(__always)
    var count: Int {
        get { Int(base.load(as: Int32.self)) }
        nonmutating set { base.storeBytes(of: Int32(newValue), as: Int32.self) }
    }

    /// The block's `TailPool` size class (its capacity is the pool's `capacity(ofClass:)`).
    @inline(__always)
    var sizeClass: Int {
        get { Int(base.load(fromByteOffset: 4, as: UInt8.self)) }
        nonmutating set { base.storeBytes(of: UInt8(newValue), toByteOffset: 4, as: UInt8.self) }
    }

    @inline(__always)
    var bytes: UnsafeMutableRawPointer { base + Self.headerBytes }

    /// A new block for `capacity` bytes of size class `sizeClass`, holding none yet.
    static func allocate(capacity: Int, sizeClass: Int) -> TailBlock {
        let block = TailBlock(base: .allocate(byteCount: headerBytes + capacity, alignment: 8))
        block.count = 0
        block.sizeClass = sizeClass
        return block
    }

    func deallocate() { base.deallocate() }
}
