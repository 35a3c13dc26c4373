import XCTest
@testable import Reactor

/// The loop's queue of jobs enqueued on its own thread (`LocalJobQueue`): order kept when the
/// storage is reused, when a queue that never drains is moved to the front, and after close.
final class FIFOQueueTests: XCTestCase {
    func testOrderIsKeptThroughReuseAndCompaction() {
        var q = FIFOQueue<Int>()
        var taken: [Int] = []
        var next = 0
        // Never drained: three in, two out, 200 times; the storage stays as long as the queue.
        for _ in 0..<200 {
            for _ in 0..<3 { XCTAssertTrue(q.append(next)); next += 1 }
            for _ in 0..<2 { taken.append(q.next()!) }
        }
        while let n = q.next() { taken.append(n) }
        XCTAssertEqual(taken, Array(0..<600))
        XCTAssertTrue(q.isEmpty)
        // Drained, then reused from the start.
        XCTAssertTrue(q.append(7))
        XCTAssertEqual(q.next(), 7)
        XCTAssertNil(q.next())
    }

    func testAClosedQueueTakesNothing() {
        var q = FIFOQueue<Int>()
        XCTAssertTrue(q.append(1))
        q.close()
        XCTAssertTrue(q.isEmpty)
        XCTAssertFalse(q.append(2))
        XCTAssertNil(q.next())
    }
}
