import Foundation
@testable import Connections
@testable import Protocols
import Reactor
import ReactorTestSupport
import XCTest

/// Rooms evicted on some loops and kept on others: the owner loop, which numbers a room, keeps it
/// while any loop does, so ids never begin again under a subscriber.
final class LoopGroupRelayRoomsTests: XCTestCase {
    final class Recorder: TopicSubscriber, @unchecked Sendable {
        var ids: [UInt64] = []
        var restarts = 0
        func topic(_ topic: Topic, didPublish message: TopicMessage) { ids.append(message.id) }
        func topicDidRestart(_ topic: Topic) { restarts += 1 }
        var token: SubscriberToken?
    }

    final class State: @unchecked Sendable {
        var hubs: [PubSub?] = [nil, nil]
        let recorder = Recorder()
    }

    func testTheOwnerKeepsTheNumberingOfARoomKeptOnlyElsewhere() throws {
        let first = try EventLoopThread()
        let group = try EventLoopGroup(count: 2, first: first.handle) { _, _ in }
        defer {
            group.stopOthers()
            first.stopAndJoin()
        }
        let relay = LoopGroupRelay(handles: group.handles)
        let room = (0..<1000).map { "kept-\($0)" }.first { relay.owner(of: $0) == 0 }!
        let state = State()
        let limits = { () -> PubSub.Limits in
            var l = PubSub.Limits()
            l.maxRooms = 2
            return l
        }()
        for i in 0..<2 {
            _ = onLoop(group.handles[i]) { loop in
                let hub = PubSub(loop: loop, limits: limits)
                relay.register(hub, index: i)
                state.hubs[i] = hub
                return 0
            }
        }
        // Loop 1 subscribes to a room numbered by loop 0, and three messages go through it.
        _ = onLoop(group.handles[1]) { _ in state.recorder.token = state.hubs[1]!.topic(room).subscribe(state.recorder); return 0 }
        func publish(_ text: String, in name: String, on i: Int) {
            let done = Shared(false)
            group.handles[i].execute { _ in state.hubs[i]!.topic(name).publish(text) { _ in done.with { $0 = true } } }
            XCTAssertTrue(eventually(5) { done.get })
        }
        for n in 1...3 { publish("m\(n)", in: room, on: 1) }
        // Histories in other rooms push the room's history out on both loops (two rooms at most).
        for other in 0..<4 { publish("x", in: "other-\(other)", on: 0) }
        XCTAssertTrue(eventually(5) { onLoop(group.handles[0]) { _ in state.hubs[0]!.existingTopic(room)?.replayCount == 0 } },
                      "the owner dropped the room's history but kept the room")
        XCTAssertEqual(onLoop(group.handles[0]) { _ in state.hubs[0]!.existingTopic(room)?.lastID }, 3)
        publish("m4", in: room, on: 1)
        XCTAssertTrue(eventually(5) { onLoop(group.handles[1]) { _ in state.recorder.ids.count == 4 } })
        XCTAssertEqual(onLoop(group.handles[1]) { _ in state.recorder.ids }, [1, 2, 3, 4], "the numbering went on")
        XCTAssertEqual(onLoop(group.handles[1]) { _ in state.recorder.restarts }, 0)

        // Loop 1 lets go: no loop keeps the room's numbering any more once its history is gone.
        _ = onLoop(group.handles[1]) { _ in state.hubs[1]!.existingTopic(room)!.unsubscribe(state.recorder.token!); return 0 }
        for other in 4..<8 { publish("x", in: "other-\(other)", on: 0) }
        XCTAssertTrue(eventually(5) { onLoop(group.handles[0]) { _ in state.hubs[0]!.existingTopic(room) == nil } },
                      "kept by nobody, the room is gone from its owner")
        XCTAssertTrue(eventually(5) { onLoop(group.handles[1]) { _ in state.hubs[1]!.existingTopic(room) == nil } })
    }
}
