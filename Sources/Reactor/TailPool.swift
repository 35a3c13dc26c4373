/// Buffers for connections' unconsumed input tails (half a header, half a frame), sized to what a
/// tail needs and recycled through a per-loop pool bounded in bytes.
///
/// Sizes are powers of two from 256 bytes up to the receive buffer's size (the largest tail a
/// connection may keep): a connection holding 5 KiB of an incomplete head holds an 8 KiB block, not
/// a receive-buffer-sized one, so a crowd of such peers costs what they send, about twice over at
/// worst. A tail that grows moves to the next size (geometric growth: few copies), one that shrinks
/// to a quarter of its block moves down, and an empty tail gives its block back.
///
/// Released blocks wait here for the next tail, by size, so a stream of messages split across reads
/// (a 16 KiB WebSocket echo) allocates nothing in steady state. At most `maxPooledBytes` wait:
/// beyond, a released block is freed, so a burst of tails leaves no lasting memory behind.
struct TailPool {
    /// The smallest block: a few partial header lines or a frame header with some payload, the
    /// common tails, fit; below it a block's allocator overhead outweighs what it saves.
    static let smallest = 256
    /// log2(`smallest`): size class i holds blocks of 2^(i + 8) bytes.
    static let smallestShift = 8
    /// A tail moves to a smaller block when it needs at most 1/`shrinkRatio` of the one it holds:
    /// two size classes down, not one, so a tail that hovers around a class boundary does not
    /// change blocks (and copy itself) on every read.
    static let shrinkRatio = 4
    /// The largest block: the receive buffer's size.
    let largest: Int
    let maxPooledBytes: Int
    private(set) var pooledBytes = 0
    /// Free blocks by size class (class i holds blocks of `capacity(ofClass: i)` bytes).
    private var free: [[TailBlock]]

    init(largest: Int, maxPooledBytes: Int) {
        self.largest = largest
        self.maxPooledBytes = maxPooledBytes
        free = Array(repeating: [], count: Self.classIndex(for: largest) + 1)
    }

    /// The size class of a tail of `count` bytes: the smallest power of two (at least 256) that
    /// holds it.
    static func classIndex(for count: Int) -> Int {
        let c = max(count, smallest)
        return (Int.bitWidth - (c - 1).leadingZeroBitCount) - smallestShift
    }

    /// The block size of size class `index` (what a block's header keeps of its size: one byte).
    /// Inline: a read that keeps a tail asks it every time.
    @inline(__always)
    func capacity(ofClass index: Int) -> Int {
        min(Self.smallest << index, largest)
    }

    /// The block size for a tail of `count` bytes (`count` is at most `largest`).
    func capacity(for count: Int) -> Int {
        min(Self.smallest << Self.classIndex(for: count), largest)
    }

    /// A block for a tail of `count` bytes, and its size (the block's header comes on top:
    /// `TailBlock`).
    mutating func acquire(_ count: Int) -> (TailBlock, Int) {
        let index = Self.classIndex(for: count)
        let capacity = min(Self.smallest << index, largest)
        if let block = free[index].popLast() {
            pooledBytes -= capacity
            return (block, capacity)
        }
        return (TailBlock.allocate(capacity: capacity, sizeClass: index), capacity)
    }

    /// Takes a block back (from `acquire`): kept while the pool has room, else freed.
    mutating func release(_ block: TailBlock) {
        let capacity = capacity(ofClass: block.sizeClass)
        if pooledBytes + capacity <= maxPooledBytes {
            free[block.sizeClass].append(block)
            pooledBytes += capacity
        } else {
            block.deallocate()
        }
    }

    mutating func releaseAll() {
        for i in free.indices {
            for block in free[i] { block.deallocate() }
            free[i].removeAll()
        }
        pooledBytes = 0
    }
}
