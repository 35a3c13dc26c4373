import Glibc
import XCTest
@testable import Reactor

/// The queue on its own: order, partial writes, growth and compaction, release when drained.
final class OutboundQueueTests: XCTestCase {
    /// The bytes `gather` offers, concatenated, as a write of everything would take them.
    func offered(_ queue: OutboundQueue) -> [UInt8] {
        let iov = UnsafeMutablePointer<iovec>.allocate(capacity: 1024)
        defer { iov.deallocate() }
        let n = queue.gather(into: iov, max: 1024)
        return (0..<n).flatMap { Array(UnsafeRawBufferPointer(start: iov[$0].iov_base, count: iov[$0].iov_len)) }
    }

    func testKeepsOrderAcrossPartialWritesGrowthAndCompaction() {
        var queue = OutboundQueue()
        var expected: [UInt8] = []
        var next: UInt8 = 0
        // Appends and partial writes interleaved: the storage grows past 4 chunks, and later
        // compacts when the written chunks take half of it.
        for round in 0..<200 {
            for _ in 0..<(round % 5 + 1) {
                let chunk = (0..<(round % 7 + 1)).map { _ in next &+= 1; return next }
                queue.append(SharedBytes(chunk))
                expected += chunk
            }
            XCTAssertEqual(offered(queue), expected, "round \(round)")
            XCTAssertEqual(queue.byteCount, expected.count)
            let written = min(expected.count, round % 11 + 1)
            queue.consume(written)
            expected.removeFirst(written)
        }
        queue.consume(expected.count)
        XCTAssertTrue(queue.isEmpty)
        XCTAssertEqual(queue.byteCount, 0)
        XCTAssertEqual(offered(queue), [])
    }

    func testAnOffsetSkipsTheBytesAlreadyWrittenAndAnEmptyRestIsNotQueued() {
        var queue = OutboundQueue()
        queue.append(SharedBytes([1, 2, 3, 4]), offset: 4)
        XCTAssertTrue(queue.isEmpty)
        queue.append(SharedBytes([1, 2, 3, 4]), offset: 1)
        XCTAssertEqual(offered(queue), [2, 3, 4])
        queue.consume(2)
        XCTAssertEqual(offered(queue), [4])
        queue.removeAll()
        XCTAssertTrue(queue.isEmpty)
    }

    /// A chunk written whole is let go at once, not when the queue next compacts: a large
    /// broadcast frame is not kept alive by a slow connection that already sent it.
    func testAWrittenChunkIsReleasedAtOnce() {
        var queue = OutboundQueue()
        weak var first: SharedBytes?
        do {
            let bytes = SharedBytes([UInt8](repeating: 7, count: 100))
            first = bytes
            queue.append(bytes)
        }
        queue.append(SharedBytes([1]))
        XCTAssertNotNil(first)
        queue.consume(100)
        XCTAssertNil(first, "released once written")
        XCTAssertEqual(offered(queue), [1])
    }

    /// One reference in every descriptor's slot (see SlotTableTests for the slot's size).
    func testTheQueueIsOneWord() {
        XCTAssertEqual(MemoryLayout<OutboundQueue>.size, 8)
    }
}
