import Glibc
import Reactor
import ReactorTestSupport
import XCTest

/// The loop as an executor: actors and tasks on the loop's thread.
final class ExecutorTests: XCTestCase {
    /// An actor whose executor is the loop runs on the loop's thread, from a caller elsewhere.
    func testAnActorOnTheLoopRunsOnItsThread() async throws {
        let thread = try EventLoopThread()
        let counter = LoopCounter(handle: thread.handle)
        for _ in 0..<100 { await counter.increment() }
        let (value, onLoop) = await counter.snapshot()
        XCTAssertEqual(value, 100)
        XCTAssertTrue(onLoop, "the actor's code ran on the loop's thread")
        XCTAssertFalse(thread.handle.isOnLoopThread, "the test itself is elsewhere")
        thread.stopAndJoin()
    }

    /// A task preferring the loop runs there, and so does what it awaits on the loop's actors.
    func testATaskWithTheLoopAsExecutorPreferenceRunsThere() async throws {
        let thread = try EventLoopThread()
        let handle = thread.handle
        let onLoop = await Task(executorPreference: handle) { handle.isOnLoopThread }.value
        XCTAssertTrue(onLoop)
        thread.stopAndJoin()
    }

    /// A job enqueued on the loop's thread runs in the same iteration, without the eventfd: a
    /// timer callback starts a task on the loop, and the task sees the same iteration number.
    func testAJobFromTheLoopsOwnThreadRunsInTheSameIteration() throws {
        let thread = try EventLoopThread()
        let result = Shared<(started: UInt64, ran: UInt64, wakeupsBefore: UInt64, wakeupsAfter: UInt64)?>(nil)
        let handle = thread.handle
        handle.execute { loop in
            loop.schedule(after: .milliseconds(5)) {
                let started = loop.iterationCount
                let wakeups = loop.statistics.wakeups
                Task(executorPreference: handle) {
                    handle.assumeIsolated { loop in
                        result.with { $0 = (started, loop.iterationCount, wakeups, loop.statistics.wakeups) }
                    }
                }
            }
        }
        XCTAssertTrue(eventually { result.get != nil })
        let r = result.get!
        XCTAssertEqual(r.ran, r.started, "ran in the iteration that enqueued it")
        XCTAssertEqual(r.wakeupsAfter, r.wakeupsBefore, "no eventfd wake-up for a job from the loop's thread")
        thread.stopAndJoin()
    }

    /// A task that prefers the loop runs its nonisolated async calls there with no job per call:
    /// the loop is its task executor, not an isolation it must switch out of (a switch is a job
    /// through the queue). 200 nested calls cost no more than the task's start and its one yield.
    func testNonisolatedCallsOfAPreferringTaskAreNotJobs() throws {
        let thread = try EventLoopThread()
        let handle = thread.handle
        let result = Shared<(jobs: UInt64, sum: Int, onLoop: Bool)?>(nil)
        @Sendable func step(_ i: Int) async -> Int { i }
        @Sendable func sum(_ n: Int) async -> Int {
            var total = 0
            for i in 0..<n { total += await step(i) }
            return total
        }
        handle.execute { loop in
            let before = loop.statistics.jobs
            Task(executorPreference: handle) {
                let total = await sum(200)
                await Task.yield()
                handle.assumeIsolated { loop in
                    result.with { $0 = (loop.statistics.jobs - before, total, handle.isOnLoopThread) }
                }
            }
        }
        XCTAssertTrue(eventually { result.get != nil })
        let r = result.get!
        XCTAssertEqual(r.sum, 19_900)
        XCTAssertTrue(r.onLoop)
        XCTAssertLessThanOrEqual(r.jobs, 3, "the start, the yield and at most one hop; no job for the 400 calls and returns")
        thread.stopAndJoin()
    }

    /// Jobs run in the order they were enqueued: from the loop's own thread (its local queue)
    /// and from another thread (the handle's queue), each FIFO.
    func testJobsRunInTheOrderTheyWereEnqueued() throws {
        let thread = try EventLoopThread()
        let handle = thread.handle
        let order = Shared<[Int]>([])
        handle.execute { _ in
            for i in 0..<50 { Task(executorPreference: handle) { order.with { $0.append(i) } } }
        }
        XCTAssertTrue(eventually { order.get.count == 50 })
        XCTAssertEqual(order.get, Array(0..<50), "from the loop's thread")
        order.with { $0 = [] }
        for i in 0..<50 { Task(executorPreference: handle) { order.with { $0.append(i) } } }
        XCTAssertTrue(eventually { order.get.count == 50 })
        XCTAssertEqual(Set(order.get), Set(0..<50), "from another thread: every one ran")
        thread.stopAndJoin()
    }

    /// `assumeIsolated` works from a plain callback on the loop (checkIsolated), so callback code
    /// can touch an actor that lives on the loop synchronously.
    func testAssumeIsolatedWorksFromACallback() async throws {
        let thread = try EventLoopThread()
        let counter = LoopCounter(handle: thread.handle)
        let done = Shared(false)
        thread.handle.execute { loop in
            loop.schedule(after: .milliseconds(1)) {
                counter.assumeIsolated { $0.value += 41 }
                done.with { $0 = true }
            }
        }
        XCTAssertTrue(eventually { done.get })
        await counter.increment()
        let (value, _) = await counter.snapshot()
        XCTAssertEqual(value, 42)
        thread.stopAndJoin()
    }

    /// A task that keeps yielding does not starve the loop: timers still fire while it spins.
    func testAYieldingTaskDoesNotStarveTheLoop() throws {
        let thread = try EventLoopThread()
        let ticks = Shared(0)
        let stop = Shared(false)
        let spins = Shared(0)
        let handle = thread.handle
        handle.execute { loop in
            loop.scheduleRepeating(every: .milliseconds(2)) { ticks.with { $0 += 1 } }
            Task(executorPreference: handle) {
                while !stop.get {
                    spins.with { $0 += 1 }
                    await Task.yield()
                }
            }
        }
        XCTAssertTrue(eventually { ticks.get >= 10 }, "timers fired \(ticks.get) times while a task yielded \(spins.get) times")
        stop.with { $0 = true }
        XCTAssertGreaterThan(spins.get, 1000)
        thread.stopAndJoin()
    }
}

/// An actor that lives on a loop.
private actor LoopCounter {
    let handle: EventLoopHandle
    var value = 0
    var alwaysOnLoop = true
    nonisolated var unownedExecutor: UnownedSerialExecutor { handle.asUnownedSerialExecutor() }

    init(handle: EventLoopHandle) { self.handle = handle }

    func increment() {
        alwaysOnLoop = alwaysOnLoop && handle.isOnLoopThread
        value += 1
    }

    func snapshot() -> (Int, Bool) { (value, alwaysOnLoop && handle.isOnLoopThread) }
}

/// `submit`: the awaiting form of `execute`.
final class SubmitTests: XCTestCase {
    func testSubmitReturnsTheResultFromTheLoopsThread() async throws {
        let thread = try EventLoopThread()
        let handle = thread.handle
        let (onLoop, connections) = try await handle.submit { loop in (handle.isOnLoopThread, loop.connectionCount) }
        XCTAssertTrue(onLoop)
        XCTAssertEqual(connections, 0)
        thread.stopAndJoin()
    }

    func testSubmitRethrowsTheBodysError() async throws {
        struct Refused: Error {}
        let thread = try EventLoopThread()
        do {
            _ = try await thread.handle.submit { _ -> Int in throw Refused() }
            XCTFail("no error")
        } catch {
            XCTAssertTrue(error is Refused, "\(error)")
        }
        thread.stopAndJoin()
    }

    /// Work given to a loop that has closed, or that closes with the work still queued, fails
    /// with EventLoopClosedError instead of leaving the caller suspended.
    func testSubmitToAClosedLoopThrows() async throws {
        let thread = try EventLoopThread()
        let handle = thread.handle
        // Queued behind a stop: the loop closes with it still pending and drops it.
        async let queued: Int = handle.submit { loop in
            loop.stop()
            return 1
        }
        let second: Result<Int, any Error> = await Result(catching: { try await handle.submit { _ in 2 } })
        _ = try? await queued
        thread.stopAndJoin()
        do {
            _ = try await handle.submit { _ in 3 }
            XCTFail("a closed loop ran work")
        } catch {
            XCTAssertTrue(error is EventLoopClosedError, "\(error)")
        }
        // The second either ran before the stop took effect or was dropped: never hangs.
        if case .failure(let e) = second { XCTAssertTrue(e is EventLoopClosedError, "\(e)") }
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}

/// `LoopBound`: a loop's value carried elsewhere and used only back on its loop.
final class LoopBoundTests: XCTestCase {
    final class Counter { var value = 0 }   // not Sendable: it belongs to the loop

    func testTheValueIsReachedOnlyOnItsLoop() async throws {
        let thread = try EventLoopThread()
        let bound = onLoop(thread) { loop in LoopBound(Counter(), on: loop) }
        // From elsewhere: hop to the loop, increment, read back.
        for _ in 0..<10 { bound.execute { $0.value += 1 } }
        let (value, onLoop) = try await bound.submit { c in (c.value, bound.handle.isOnLoopThread) }
        XCTAssertEqual(value, 10)
        XCTAssertTrue(onLoop)
        XCTAssertFalse(bound.handle.isOnLoopThread)
        thread.stopAndJoin()
        do {
            _ = try await bound.submit { $0.value }
            XCTFail("a closed loop ran work")
        } catch {
            XCTAssertTrue(error is EventLoopClosedError, "\(error)")
        }
    }
}
