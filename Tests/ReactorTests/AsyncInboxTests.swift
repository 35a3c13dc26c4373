@_spi(AsyncPlumbing) import Reactor
import XCTest

/// `AsyncInbox`, the bounded queue behind every inbound async sequence, alone.
final class AsyncInboxTests: XCTestCase {
    struct Boom: Error {}

    /// Past the high watermark it asks for a pause once; down to the low one, for a restart once.
    func testWatermarksPauseAndRestartOnce() {
        var inbox = AsyncInbox<Int>(highWatermark: 10, lowWatermark: 4)
        XCTAssertFalse(inbox.deliver(1, size: 6))
        XCTAssertTrue(inbox.deliver(2, size: 6), "12 bytes kept > 10: pause")
        XCTAssertFalse(inbox.deliver(3, size: 6), "asked once")
        XCTAssertEqual(inbox.bytes, 18)
        XCTAssertEqual(inbox.takeKept()?.restart, false, "12 kept > 4")
        XCTAssertEqual(inbox.takeKept()?.restart, false, "6 kept > 4")
        let last = inbox.takeKept()
        XCTAssertEqual(last?.element, 3)
        XCTAssertEqual(last?.restart, true, "0 kept <= 4: restart")
        XCTAssertNil(inbox.takeKept())
    }

    /// A waiting reader gets the next item directly; after `finish` it gets what was kept, then
    /// the end, or the failure.
    func testAReaderGetsItemsThenTheEndOrTheFailure() async throws {
        let box = InboxBox(AsyncInbox<Int>(highWatermark: 100, lowWatermark: 0))
        _ = box.inbox.deliver(7, size: 1)
        box.inbox.finish(Boom())
        let first: Int? = try await withUnsafeThrowingContinuation { c in _ = box.inbox.read(into: c) }
        XCTAssertEqual(first, 7, "what was kept comes before the failure")
        do {
            let _: Int? = try await withUnsafeThrowingContinuation { c in _ = box.inbox.read(into: c) }
            XCTFail("no failure")
        } catch {
            XCTAssertTrue(error is Boom)
        }
        let ended = InboxBox(AsyncInbox<Int>(highWatermark: 100, lowWatermark: 0))
        ended.inbox.finish(nil)
        let none: Int? = try await withUnsafeThrowingContinuation { c in _ = ended.inbox.read(into: c) }
        XCTAssertNil(none)
        ended.inbox.finish(Boom())   // once only: ignored
        let still: Int? = try await withUnsafeThrowingContinuation { c in _ = ended.inbox.read(into: c) }
        XCTAssertNil(still)
    }
}

/// Holds an inbox for a test that reads it from continuations' bodies (one thread at a time).
private final class InboxBox: @unchecked Sendable {
    var inbox: AsyncInbox<Int>
    init(_ inbox: AsyncInbox<Int>) { self.inbox = inbox }
}
