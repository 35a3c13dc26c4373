import Glibc

/// What the kernel did not take yet, in order: references to immutable blocks plus the offset
/// already written. A broadcast frame queued on many connections is one block, never copied.
///
/// One reference in the slot (8 bytes; every descriptor has a slot, so they count per idle
/// connection: issue 18), nil while empty, the steady state of a healthy connection: the
/// storage, one allocation holding the counts and the chunks together, is made by the first
/// append and released when the last byte drains.
struct OutboundQueue {
    private struct Chunk {
        let bytes: SharedBytes
        var offset: Int
    }

    /// Chunks `head..<count` are live; those before `head` were written and released already.
    private struct Header {
        var head: Int
        var count: Int
        /// Kept here: ManagedBuffer's own `capacity` asks malloc on Linux (`malloc_usable_size`).
        var capacity: Int
        var byteCount: Int
    }

    private final class Storage: ManagedBuffer<Header, Chunk> {
        static func make(capacity: Int) -> Storage {
            let buffer = Storage.create(minimumCapacity: capacity) { _ in
                Header(head: 0, count: 0, capacity: capacity, byteCount: 0)
            }
            return unsafeDowncast(buffer, to: Storage.self)
        }

        deinit {
            withUnsafeMutablePointers { h, chunks in
                (chunks + h.pointee.head).deinitialize(count: h.pointee.count - h.pointee.head)
            }
        }
    }

    private var storage: Storage?
    /// Chunks the first append makes room for: a connection that queues at all usually queues a
    /// few (a response's head and body, frames behind a slow reader).
    private static let initialCapacity = 4

    var isEmpty: Bool { storage == nil }
    var byteCount: Int { storage?.header.byteCount ?? 0 }

    mutating func append(_ bytes: SharedBytes, offset: Int = 0) {
        let n = bytes.count - offset
        guard n > 0 else { return }
        var storage = self.storage ?? Storage.make(capacity: Self.initialCapacity)
        if storage.header.count == storage.header.capacity { storage = Self.makeRoom(in: storage) }
        storage.withUnsafeMutablePointers { h, chunks in
            (chunks + h.pointee.count).initialize(to: Chunk(bytes: bytes, offset: offset))
            h.pointee.count += 1
            h.pointee.byteCount += n
        }
        if self.storage !== storage { self.storage = storage }
    }

    /// Room for one more chunk: the live ones moved to the front when written ones take at
    /// least half of the storage (the move frees as much as it copies), else a storage twice
    /// the size. So a long-lived queue is bounded by twice its live chunks.
    private static func makeRoom(in storage: Storage) -> Storage {
        storage.withUnsafeMutablePointers { h, chunks -> Storage in
            let head = h.pointee.head, live = h.pointee.count - head
            if head * 2 >= h.pointee.capacity {
                chunks.moveInitialize(from: chunks + head, count: live)
                h.pointee.head = 0
                h.pointee.count = live
                return storage
            }
            let larger = Storage.make(capacity: h.pointee.capacity * 2)
            larger.withUnsafeMutablePointers { nh, nchunks in
                nchunks.moveInitialize(from: chunks + head, count: live)
                nh.pointee.count = live
                nh.pointee.byteCount = h.pointee.byteCount
            }
            h.pointee.head = 0  // moved out: the old storage's deinit has nothing to release
            h.pointee.count = 0
            return larger
        }
    }

    /// Fills up to `max` iovecs with the queued bytes, oldest first; returns how many.
    func gather(into iov: UnsafeMutablePointer<iovec>, max: Int) -> Int {
        guard let storage else { return 0 }
        return storage.withUnsafeMutablePointers { h, chunks in
            var n = 0
            var i = h.pointee.head
            while i < h.pointee.count && n < max {
                let c = chunks[i]
                iov[n] = iovec(iov_base: c.bytes.base + c.offset, iov_len: c.bytes.count - c.offset)
                n += 1
                i += 1
            }
            return n
        }
    }

    /// Drops `written` bytes from the front after a successful write; a chunk written whole is
    /// released at once (a large broadcast frame is not kept alive by a queue that has sent it).
    mutating func consume(_ written: Int) {
        guard let storage else { return }
        let drained = storage.withUnsafeMutablePointers { h, chunks -> Bool in
            var left = written
            h.pointee.byteCount -= written
            while left > 0 {
                let i = h.pointee.head
                let available = chunks[i].bytes.count - chunks[i].offset
                if left >= available {
                    left -= available
                    (chunks + i).deinitialize(count: 1)
                    h.pointee.head = i + 1
                } else {
                    chunks[i].offset += left
                    left = 0
                }
            }
            return h.pointee.head == h.pointee.count
        }
        if drained { self.storage = nil }
    }

    mutating func removeAll() {
        storage = nil
    }
}
