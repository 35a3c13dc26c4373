import Foundation
import Connections
import Protocols
import Reactor
import ReactorTestSupport
import XCTest

/// Rooms across loops: one sequence per room, every message delivered once on every loop, in
/// publish order per publisher.
final class LoopGroupRelayTests: XCTestCase {
    /// Records what one subscriber saw; touched only on its loop, read after the loops stop.
    final class Recorder: TopicSubscriber, @unchecked Sendable {
        var received: [(id: UInt64, text: String)] = []
        func topic(_ topic: Topic, didPublish message: TopicMessage) { received.append((message.id, message.string)) }
    }

    final class Loops: @unchecked Sendable {
        var recorders: [[Recorder]] = []
        var hubs: [PubSub?] = []
        var ids: [UInt64] = []
    }

    func testFourLoopsThousandSubscribersEveryMessageOnceInOrder() throws {
        let loopCount = 4, perLoop = 250, publishersPerLoop = 2, messagesPerPublisher = 50
        let first = try EventLoopThread()
        let group = try EventLoopGroup(count: loopCount, first: first.handle) { _, _ in }
        let relay = LoopGroupRelay(handles: group.handles)
        let state = Loops()
        state.recorders = Array(repeating: [], count: loopCount)
        state.hubs = Array(repeating: nil, count: loopCount)
        for i in 0..<loopCount {
            _ = onLoop(group.handles[i]) { loop in
                let hub = PubSub(loop: loop)
                relay.register(hub, index: i)
                state.hubs[i] = hub
                let room = hub.topic("r")
                state.recorders[i] = (0..<perLoop).map { _ in let r = Recorder(); room.subscribe(r); return r }
                return 0
            }
        }
        // Every loop's publishers publish at once, interleaving across loops.
        let acknowledged = Shared(0)
        for i in 0..<loopCount {
            group.handles[i].execute { _ in
                let room = state.hubs[i]!.topic("r")
                for m in 0..<messagesPerPublisher {
                    for p in 0..<publishersPerLoop {
                        room.publish("L\(i)P\(p)#\(m)") { _ in acknowledged.with { $0 += 1 } }
                    }
                }
            }
        }
        let total = loopCount * publishersPerLoop * messagesPerPublisher
        XCTAssertTrue(eventually(10) { acknowledged.get == total }, "acknowledged \(acknowledged.get) of \(total)")
        // Drain: a final round trip through each loop's queue after the last delivery.
        XCTAssertTrue(eventually(10) {
            (0..<loopCount).allSatisfy { i in onLoop(group.handles[i]) { _ in state.recorders[i].allSatisfy { $0.received.count == total } } }
        })
        group.stopOthers()
        first.stopAndJoin()

        let reference = state.recorders[0][0].received
        XCTAssertEqual(reference.map(\.id), (1...UInt64(total)).map { $0 }, "one sequence: ids 1...\(total)")
        for (i, loopRecorders) in state.recorders.enumerated() {
            for r in loopRecorders {
                XCTAssertEqual(r.received.count, total)
                XCTAssertTrue(r.received.elementsEqual(reference, by: { $0.id == $1.id && $0.text == $1.text }), "loop \(i) saw another order")
            }
        }
        // Per publisher, messages arrive in the order they were published.
        for i in 0..<loopCount {
            for p in 0..<publishersPerLoop {
                let mine = reference.map(\.text).filter { $0.hasPrefix("L\(i)P\(p)#") }
                XCTAssertEqual(mine, (0..<messagesPerPublisher).map { "L\(i)P\(p)#\($0)" })
            }
        }
    }
}

