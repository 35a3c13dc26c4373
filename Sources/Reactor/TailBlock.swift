/// One block of a connection's kept input tail (`TailPool`): a 16-byte header (the tail's byte
/// count, the block's size class, and where in the block the tail starts), then the bytes.
///
/// The three live in the block, not in the slot: every descriptor has a slot, and a slot's bytes
/// count per idle connection (issue 18: the slot 64 -> 56 bytes), while only a connection that
/// holds a tail has a block, and a read that has a tail copies from the block anyway.
///
/// The start moves when a redelivery consumes the front of the tail (an async route taking one
/// of several pipelined requests): the rest stays where it lies instead of moving to the front.
/// Whatever writes a block (`fill`) writes from the front again.
struct TailBlock: Equatable {
    /// The block's start (the header); `storage` follows it.
    let base: UnsafeMutableRawPointer

    /// Count, size class, start, padding: the bytes stay 8-byte aligned.
    static let headerBytes = 16

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

    /// Where the tail starts in `storage`: `start + count` is at most the block's capacity.
    @inline(__always)
    var start: Int {
        get { Int(base.load(fromByteOffset: 8, as: Int32.self)) }
        nonmutating set { base.storeBytes(of: Int32(newValue), toByteOffset: 8, as: Int32.self) }
    }

    /// The block's bytes, its whole capacity.
    @inline(__always)
    var storage: UnsafeMutableRawPointer { base + Self.headerBytes }

    /// The tail's first byte.
    @inline(__always)
    var bytes: UnsafeMutableRawPointer { storage + start }

    /// Makes the tail `count` bytes copied from `source` to the block's front.
    @inline(__always)
    func fill(from source: UnsafeRawPointer, count: Int) {
        storage.copyMemory(from: source, byteCount: count)
        self.count = count
        start = 0
    }

    /// Drops the tail's first `n` bytes (fewer than `count`) without moving the rest.
    @inline(__always)
    func dropFirst(_ n: Int) {
        start += n
        count -= n
    }

    /// A new block for `capacity` bytes of size class `sizeClass`, holding none yet.
    static func allocate(capacity: Int, sizeClass: Int) -> TailBlock {
        let block = TailBlock(base: .allocate(byteCount: headerBytes + capacity, alignment: 8))
        block.count = 0
        block.sizeClass = sizeClass
        block.start = 0
        return block
    }

    func deallocate() { base.deallocate() }
}
