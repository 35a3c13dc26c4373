import Protocols
import XCTest

/// The keepalive rule alone: quiet for the interval means a ping, an answer ends the wait, and a
/// wait that runs out is a dead peer. Times are plain nanosecond counts.
final class KeepaliveTests: XCTestCase {
    let second: UInt64 = 1_000_000_000

    func testQuietForTheIntervalSendsAPingAndWaitsForTheAnswer() {
        var k = Keepalive(now: 0)
        XCTAssertEqual(k.timerFired(now: 10 * second, interval: .seconds(10), answerTimeout: .seconds(3)), .ping(thenWait: .seconds(3)))
        XCTAssertTrue(k.awaitingAnswer)
        XCTAssertEqual(k.timerFired(now: 13 * second, interval: .seconds(10), answerTimeout: .seconds(3)), .timedOut)
    }

    func testHearingFromThePeerPushesThePingBack() {
        var k = Keepalive(now: 0)
        k.heard(now: 4 * second)
        XCTAssertEqual(k.timerFired(now: 10 * second, interval: .seconds(10), answerTimeout: .seconds(3)), .wait(.seconds(4)))
        XCTAssertFalse(k.awaitingAnswer)
        XCTAssertEqual(k.timerFired(now: 14 * second, interval: .seconds(10), answerTimeout: .seconds(3)), .ping(thenWait: .seconds(3)))
        k.heard(now: 15 * second)
        XCTAssertFalse(k.awaitingAnswer, "an answer ends the wait")
        XCTAssertEqual(k.lastHeard, 15 * second)
        XCTAssertEqual(k.timerFired(now: 17 * second, interval: .seconds(10), answerTimeout: .seconds(3)), .wait(.seconds(8)))
    }

    func testTheRuleAloneIsTheSame() {
        XCTAssertEqual(Keepalive.decide(quietFor: .seconds(9), awaitingAnswer: false, interval: .seconds(10), answerTimeout: .seconds(1)), .wait(.seconds(1)))
        XCTAssertEqual(Keepalive.decide(quietFor: .seconds(10), awaitingAnswer: false, interval: .seconds(10), answerTimeout: .seconds(1)), .ping(thenWait: .seconds(1)))
        XCTAssertEqual(Keepalive.decide(quietFor: .zero, awaitingAnswer: true, interval: .seconds(10), answerTimeout: .seconds(1)), .timedOut)
        // The clock may be any monotonic one: the difference wraps.
        XCTAssertEqual(Keepalive.elapsed(since: UInt64.max, now: 1), .nanoseconds(2))
    }
}
