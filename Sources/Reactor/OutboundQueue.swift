import Glibc

/// What the kernel did not take yet, in order: references to immutable blocks plus the offset
/// already written. A broadcast frame queued on many connections is one block, never copied.
///
/// Empty (the steady state of a healthy connection) it holds no heap memory: the array is released
/// when the last byte drains.
struct OutboundQueue {
    private struct Chunk {
        let bytes: SharedBytes
        var offset: Int
    }

    private var chunks: [Chunk] = []
    private var head = 0
    /// Written chunks kept at the front before the array is compacted (when they are also at
    /// least half of it): moving the live ones costs a copy, so it is done rarely, and only when
    /// it frees at least as much as it moves.
    private static let compactionThreshold = 64
    private(set) var byteCount = 0

    var isEmpty: Bool { byteCount == 0 }

    mutating func append(_ bytes: SharedBytes, offset: Int = 0) {
        let n = bytes.count - offset
        guard n > 0 else { return }
        chunks.append(Chunk(bytes: bytes, offset: offset))
        byteCount += n
    }

    /// Fills up to `max` iovecs with the queued bytes, oldest first; returns how many.
    func gather(into iov: UnsafeMutablePointer<iovec>, max: Int) -> Int {
        var n = 0
        var i = head
        while i < chunks.count && n < max {
            let c = chunks[i]
            iov[n] = iovec(iov_base: c.bytes.base + c.offset, iov_len: c.bytes.count - c.offset)
            n += 1
            i += 1
        }
        return n
    }

    /// Drops `written` bytes from the front after a successful write.
    mutating func consume(_ written: Int) {
        var left = written
        byteCount -= written
        while left > 0 {
            let available = chunks[head].bytes.count - chunks[head].offset
            if left >= available {
                left -= available
                head += 1
            } else {
                chunks[head].offset += left
                left = 0
            }
        }
        if head == chunks.count {
            removeAll()
        } else if head >= Self.compactionThreshold && head * 2 >= chunks.count {
            // Compact now and then so a long-lived queue does not grow without bound.
            chunks.removeFirst(head)
            head = 0
        }
    }

    mutating func removeAll() {
        chunks = []
        head = 0
        byteCount = 0
    }
}
