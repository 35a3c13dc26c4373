import Protocols
import XCTest

/// When a counted cluster request has every answer it can get: the servers to wait for are known
/// once every process the relay reached has announced a loop count.
final class ClusterTallyTests: XCTestCase {
    private func server(_ process: UInt64, _ loop: Int, of loops: Int) -> ClusterServer {
        ClusterServer(process: process, loop: loop, processLoops: loops)
    }

    func testOneLoopAloneIsCompleteOnceItsOwnAnswersCame() {
        var t = ClusterTally(ownProcess: 1, ownLoops: 1)
        t.reached(remoteProcesses: 0)
        XCTAssertFalse(t.isComplete, "its own loop has not announced")
        XCTAssertTrue(t.announce(server(1, 0, of: 1), items: 2))
        t.item()
        XCTAssertFalse(t.isComplete)
        t.item()
        XCTAssertTrue(t.isComplete)
    }

    func testTwoProcessesOfDifferentLoopCounts() {
        var t = ClusterTally(ownProcess: 1, ownLoops: 2)
        XCTAssertTrue(t.announce(server(1, 0, of: 2), items: 1))
        XCTAssertTrue(t.announce(server(1, 1, of: 2), items: 0))
        t.item()
        XCTAssertFalse(t.isComplete, "the relay has not said how many processes it reached")
        t.reached(remoteProcesses: 1)
        XCTAssertFalse(t.isComplete, "the other process has not been heard from")
        XCTAssertTrue(t.announce(server(7, 2, of: 3), items: 1))
        XCTAssertFalse(t.isComplete, "two more loops of process 7 to come")
        XCTAssertTrue(t.announce(server(7, 0, of: 3), items: 0))
        t.item()  // an answer of 7's loop 2
        XCTAssertFalse(t.isComplete)
        XCTAssertTrue(t.announce(server(7, 1, of: 3), items: 0))
        XCTAssertTrue(t.isComplete)
        XCTAssertEqual(t.expectedItems, 2)
    }

    func testAnUnknownProcessCountLeavesItToTheTimeout() {
        var t = ClusterTally(ownProcess: 1, ownLoops: 1)
        t.announce(server(1, 0, of: 1), items: 0)
        t.reached(remoteProcesses: nil)
        XCTAssertFalse(t.isComplete)
    }

    func testASilentProcessKeepsItIncomplete() {
        var t = ClusterTally(ownProcess: 1, ownLoops: 1)
        t.reached(remoteProcesses: 2)
        t.announce(server(1, 0, of: 1), items: 0)
        t.announce(server(5, 0, of: 1), items: 0)
        XCTAssertFalse(t.isComplete, "process 3 of 3 never answered")
    }

    func testBadAnnouncementsAreRefused() {
        var t = ClusterTally(ownProcess: 1, ownLoops: 2)
        t.reached(remoteProcesses: 1)
        XCTAssertTrue(t.announce(server(1, 0, of: 2), items: 1))
        XCTAssertFalse(t.announce(server(1, 0, of: 2), items: 5), "twice")
        XCTAssertFalse(t.announce(server(1, 1, of: 3), items: 0), "another loop count for this process")
        XCTAssertFalse(t.announce(server(9, 4, of: 4), items: 0), "a loop the process does not have")
        XCTAssertFalse(t.announce(server(9, 0, of: ClusterServer.maxProcessLoops + 1), items: 0), "too many loops")
        XCTAssertFalse(t.announce(server(9, 0, of: 1), items: -1), "a negative count")
        XCTAssertTrue(t.announce(server(9, 0, of: 1), items: 0))
        XCTAssertFalse(t.announce(server(10, 0, of: 1), items: 0), "a process beyond those the relay reached")
        XCTAssertEqual(t.expectedItems, 1)
    }

    func testProcessesBeforeTheCountAreBounded() {
        var t = ClusterTally(ownProcess: 0, ownLoops: 1)
        for p in 1...UInt64(ClusterTally.maxProcessesBeforeCount) { XCTAssertTrue(t.announce(server(p, 0, of: 1), items: 0)) }
        XCTAssertFalse(t.announce(server(.max, 0, of: 1), items: 0))
    }
}
