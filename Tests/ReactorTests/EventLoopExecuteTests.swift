import Dispatch
import Foundation
import XCTest
@testable import Reactor
import ReactorTestSupport

final class EventLoopExecuteTests: XCTestCase {
    /// Loop-owned state; touched only on the loop's thread, which `execute` guarantees.
    final class Ledger: @unchecked Sendable {
        var total = 0
        var lastSeen: [Int]
        var outOfOrder = 0
        init(threads: Int) { lastSeen = Array(repeating: -1, count: threads) }
    }

    func testExecuteFromManyThreadsRunsEverythingOnceInPerThreadOrder() throws {
        let threads = 8, perThread = 5_000
        let loopThread = try EventLoopThread()
        let ledger = Ledger(threads: threads)
        let loopThreadID = Shared<pthread_t?>(nil)
        _ = onLoop(loopThread) { _ in loopThreadID.with { $0 = pthread_self() }; return 0 }
        let wrongThread = Shared(0)

        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for i in 0..<perThread {
                loopThread.handle.execute { _ in
                    if pthread_equal(pthread_self(), loopThreadID.get!) == 0 { wrongThread.with { $0 += 1 } }
                    if ledger.lastSeen[t] >= i { ledger.outOfOrder += 1 }
                    ledger.lastSeen[t] = i
                    ledger.total += 1
                }
            }
        }
        let total = onLoop(loopThread) { _ in ledger.total }
        XCTAssertEqual(total, threads * perThread)
        XCTAssertEqual(onLoop(loopThread) { _ in ledger.outOfOrder }, 0)
        XCTAssertEqual(wrongThread.get, 0)
        loopThread.stopAndJoin()
        XCTAssertFalse(loopThread.handle.execute { _ in }, "a closed loop refuses work")
    }

    func testStopFromAnotherThreadEndsRun() throws {
        let loopThread = try EventLoopThread()
        let stopped = Shared(false)
        DispatchQueue.global().async {
            loopThread.join()
            stopped.with { $0 = true }
        }
        usleep(20_000)
        XCTAssertFalse(stopped.get)
        loopThread.handle.stop()
        XCTAssertTrue(eventually { stopped.get })
    }
}
