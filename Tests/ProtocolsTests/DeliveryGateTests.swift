@testable import Protocols
import XCTest

/// The slow-consumer gate on its own: what it admits, holds, drops and hands back once the
/// connection drains.
final class DeliveryGateTests: XCTestCase {
    let counters = PubSubCounters()

    func message(_ id: UInt64) -> TopicMessage {
        TopicMessage(id: id, text: SharedBytes("message \(id)"), counters: counters)
    }

    func testDropOldestHoldsTheNewestAndReportsHowManyWereDropped() {
        let gate = DeliveryGate<TopicMessage>(policy: .dropOldest(maxPending: 2))
        XCTAssertEqual(gate.admit(message(1), writable: true), .send)
        for id: UInt64 in 2...5 { XCTAssertEqual(gate.admit(message(id), writable: false), .hold) }
        // Writable again, but older messages are still held: a new one queues behind them.
        XCTAssertEqual(gate.admit(message(6), writable: true), .hold)
        var markers: [Int] = []
        var sent: [UInt64] = []
        gate.writabilityChanged(false, marker: { markers.append($0) }, send: { sent.append($0.id) })
        XCTAssertEqual(markers, [])
        XCTAssertEqual(sent, [], "nothing is handed back while the connection is still full")
        gate.writabilityChanged(true, marker: { markers.append($0) }, send: { sent.append($0.id) })
        XCTAssertEqual(markers, [3])
        XCTAssertEqual(sent, [5, 6])
        // Drained: the next message goes straight out, and a second drain has nothing to give.
        XCTAssertEqual(gate.admit(message(7), writable: true), .send)
        gate.writabilityChanged(true, marker: { markers.append($0) }, send: { sent.append($0.id) })
        XCTAssertEqual(markers, [3])
        XCTAssertEqual(sent, [5, 6])
    }

    func testDisconnectPolicyGivesUpOnTheFirstMessageThatFindsTheConnectionFull() {
        let gate = DeliveryGate<TopicMessage>(policy: .disconnect)
        XCTAssertEqual(gate.admit(message(1), writable: true), .send)
        XCTAssertEqual(gate.admit(message(2), writable: false), .disconnect)
    }
}

extension DeliveryGateTests {
    func testDropOldestFreesWhatItDropsAndIsBoundedInBytes() {
        let big = SharedBytes([UInt8](repeating: 0x61, count: 10_000))
        let gate = DeliveryGate<TopicMessage>(policy: .dropOldest(maxPending: 1000, maxPendingBytes: 50_000))
        weak var firstHeld: TopicMessage?
        do {
            let m = TopicMessage(id: 1, text: big, counters: counters)
            firstHeld = m
            XCTAssertEqual(gate.admit(m, writable: false), .hold)
        }
        for id: UInt64 in 2...100 {
            XCTAssertEqual(gate.admit(TopicMessage(id: id, text: big, counters: counters), writable: false), .hold)
        }
        XCTAssertNil(firstHeld, "a dropped message is freed, not kept behind a start index")
        XCTAssertLessThanOrEqual(gate.heldBytes, 50_000)
        XCTAssertEqual(gate.heldCount, 50_000 / MessageRing<TopicMessage>.cost(of: TopicMessage(id: 0, text: big, counters: counters)))
        var markers: [Int] = []
        var sent: [UInt64] = []
        gate.writabilityChanged(true, marker: { markers.append($0) }, send: { sent.append($0.id) })
        XCTAssertEqual(markers, [100 - sent.count])
        XCTAssertEqual(sent.last, 100)
        XCTAssertEqual(gate.heldBytes, 0)
    }
}
