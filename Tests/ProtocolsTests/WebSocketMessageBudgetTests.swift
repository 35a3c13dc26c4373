import Protocols
import ReactorTestSupport
import XCTest

/// The loop-wide budget for bytes held by incomplete messages, on endpoints without a socket:
/// what is charged while a message is incomplete, refunded when it ends, fails or is dropped,
/// and who is failed (1013) when the sum would cross the limit.
final class WebSocketMessageBudgetTests: XCTestCase {
    /// Feeds `bytes` to `endpoint` at once and returns what it reported.
    func feed(_ endpoint: inout WebSocketEndpoint, _ bytes: [UInt8]) -> [Seen] {
        var seen: [Seen] = []
        var input = bytes
        let consumed = input.withUnsafeMutableBytes { buffer in
            endpoint.process(buffer) { event in
                seen.append(Seen(event))
            }
        }
        XCTAssertEqual(consumed, bytes.count, "whole frames are consumed")
        return seen
    }

    func limits(budget: Int) -> WebSocketLimits {
        var l = WebSocketLimits()
        l.incompleteMessageBudget = budget
        return l
    }

    func compressed(_ data: [UInt8]) -> [UInt8] {
        let deflater = WebSocketDeflater(noContextTakeover: true)!
        return data.withUnsafeBytes { deflater.deflate($0) }
    }

    func testFragmentsAreChargedWhileIncompleteAndRefundedWhenTheMessageEnds() {
        let budget = WebSocketMessageBudget()
        var e = WebSocketEndpoint(role: .server, limits: limits(budget: 1 << 20), budget: budget)
        XCTAssertEqual(feed(&e, clientFrame(0x2, pattern(10_000), fin: false)), [])
        XCTAssertTrue(e.isMessageIncomplete)
        XCTAssertGreaterThanOrEqual(budget.held, 10_000, "the reassembly buffer is charged")
        XCTAssertEqual(budget.held, e.chargedBytes)
        XCTAssertEqual(feed(&e, clientFrame(0x0, pattern(5_000), fin: false)), [])
        XCTAssertGreaterThanOrEqual(budget.held, 15_000)
        XCTAssertEqual(feed(&e, clientFrame(0x0, [1, 2, 3])), [.binary(pattern(10_000) + pattern(5_000) + [1, 2, 3])])
        XCTAssertFalse(e.isMessageIncomplete)
        XCTAssertEqual(budget.held, 0, "a finished message holds nothing")
    }

    func testAWholeMessageInOneReadIsNeverCharged() {
        // The budget bounds what is held between reads; a message that ends in the read that
        // brought it is delivered and released at once, even when the budget is spent.
        let budget = WebSocketMessageBudget()
        var holder = WebSocketEndpoint(role: .server, limits: limits(budget: 20_000), budget: budget)
        XCTAssertEqual(feed(&holder, clientFrame(0x2, pattern(15_000), fin: false)), [])
        var other = WebSocketEndpoint(role: .server, limits: limits(budget: 20_000), budget: budget)
        let fragments = clientFrame(0x2, pattern(8_000), fin: false) + clientFrame(0x0, pattern(8_000))
        XCTAssertEqual(feed(&other, fragments), [.binary(pattern(8_000) + pattern(8_000))])
        XCTAssertEqual(other.chargedBytes, 0)
    }

    func testTheSocketWhoseMessageWouldCrossTheBudgetFailsWith1013AndTheOthersGoOn() {
        let budget = WebSocketMessageBudget()
        var a = WebSocketEndpoint(role: .server, limits: limits(budget: 100_000), budget: budget)
        var b = WebSocketEndpoint(role: .server, limits: limits(budget: 100_000), budget: budget)
        XCTAssertEqual(feed(&a, clientFrame(0x2, pattern(60_000), fin: false)), [])
        let heldByA = budget.held
        XCTAssertEqual(feed(&b, clientFrame(0x2, pattern(60_000), fin: false)), [.failure(1013)])
        XCTAssertEqual(budget.held, heldByA, "the refused socket holds nothing")
        XCTAssertEqual(budget.refusals, 1)
        // The first one still finishes its message, and everything is refunded.
        XCTAssertEqual(feed(&a, clientFrame(0x0, [9])), [.binary(pattern(60_000) + [9])])
        XCTAssertEqual(budget.held, 0)
    }

    func testAnInflationBombInPiecesStopsAtTheBudgetNotAtTheMessageLimit() {
        // 8 MiB of zeros compress to about 8 KiB: one unfinished fragment would hold 8 MiB.
        let bomb = compressed([UInt8](repeating: 0, count: 8 << 20))
        XCTAssertLessThan(bomb.count, 16 * 1024)
        let budget = WebSocketMessageBudget()
        var e = WebSocketEndpoint(role: .server, limits: limits(budget: 1 << 20), budget: budget)
        e.enableDeflate(WebSocketInflater(noContextTakeover: true)!)
        XCTAssertEqual(feed(&e, clientFrame(0x2, bomb, fin: false, rsv: 0x4)), [.failure(1013)])
        XCTAssertEqual(budget.held, 0, "the failed message and its decompressor are refunded")
        XCTAssertEqual(e.inflater?.heldBytes, 0, "a decompressor without context takeover is released with the message")

        // Under the budget the same message, finished, inflates in full.
        var ok = WebSocketEndpoint(role: .server, limits: limits(budget: 64 << 20), budget: budget)
        ok.enableDeflate(WebSocketInflater(noContextTakeover: true)!)
        let half = bomb.count / 2
        XCTAssertEqual(feed(&ok, clientFrame(0x2, Array(bomb[..<half]), fin: false, rsv: 0x4)), [])
        XCTAssertGreaterThan(budget.held, 0)
        XCTAssertGreaterThan(ok.inflater?.heldBytes ?? 0, 0, "the decompressor lives while the message arrives")
        let events = feed(&ok, clientFrame(0x0, Array(bomb[half...])))
        XCTAssertEqual(events.count, 1)
        if case .binary(let bytes) = events.first { XCTAssertEqual(bytes.count, 8 << 20) } else { XCTFail("\(events)") }
        XCTAssertEqual(budget.held, 0)
        XCTAssertEqual(ok.inflater?.heldBytes, 0)
    }

    func testDroppingAnIncompleteMessageRefundsIt() {
        // What the glue does when the socket closes or its message deadline passes.
        let budget = WebSocketMessageBudget()
        var e = WebSocketEndpoint(role: .server, limits: limits(budget: 1 << 20), budget: budget)
        e.enableDeflate(WebSocketInflater(noContextTakeover: true)!)
        let data = compressed(pattern(50_000))
        XCTAssertEqual(feed(&e, clientFrame(0x2, Array(data.prefix(data.count / 2)), fin: false, rsv: 0x4)), [])
        XCTAssertGreaterThan(budget.held, 0)
        e.discardIncompleteMessage()
        XCTAssertEqual(budget.held, 0)
        XCTAssertFalse(e.isMessageIncomplete)
        XCTAssertEqual(e.inflater?.heldBytes, 0)
    }

    func testAFailureMidMessageRefundsIt() {
        let budget = WebSocketMessageBudget()
        var e = WebSocketEndpoint(role: .server, limits: limits(budget: 1 << 20), budget: budget)
        XCTAssertEqual(feed(&e, clientFrame(0x1, Array("partial".utf8), fin: false)), [])
        XCTAssertGreaterThan(budget.held, 0)
        XCTAssertEqual(feed(&e, clientFrame(0x1, Array("new message".utf8))), [.failure(1002)])
        XCTAssertEqual(budget.held, 0)
    }

    func testWithoutContextTakeoverEachMessageInflatesOnItsOwn() {
        // The peer resets its compressor per message; our decompressor is made per message.
        let inflater = WebSocketInflater(noContextTakeover: true)!
        XCTAssertEqual(inflater.heldBytes, 0, "nothing is held before a compressed message")
        var e = WebSocketEndpoint(role: .server)
        e.enableDeflate(inflater)
        let text = String(repeating: "squeeze ", count: 200)
        let one = compressed(Array(text.utf8))
        XCTAssertEqual(feed(&e, clientFrame(0x1, one, rsv: 0x4) + clientFrame(0x1, one, rsv: 0x4)), [.text(text), .text(text)])
        XCTAssertEqual(inflater.heldBytes, 0)
    }
}
