import Protocols
import ReactorTestSupport
import XCTest

/// The session machine driven by seeded random inputs, as a driver would feed it (a poll, a
/// POST, a send, a frame, a timer that was armed, a probe, a close), with a model of what the
/// driver holds beside it. After every input the machine and the model must agree: a held poll is
/// answered once, a probe is let go once, no timer outlives the session, the queue stays within
/// its bounds and adds up, and the session ends once.
final class EngineIOSessionMachineRandomTests: XCTestCase {
    typealias Packet = EngineIOSessionMachineTests.Packet
    typealias Machine = EngineIOSessionMachine<Packet>

    struct Model {
        var heldPoll = false
        var probe = false
        var armed: Set<String> = []
        var finished = 0
        var webSocket = false
    }

    func testRandomInputsKeepTheDriverAndTheMachineInStep() {
        var rng = SplitMix64(seed: 0x5E55_1011)
        var configuration = EngineIOConfiguration()
        configuration.maxQueuedBytes = 64
        configuration.maxQueuedPackets = 8
        configuration.maxPayload = 40
        let bodies: [[UInt8]] = [
            Array("4hi".utf8), Array("4a\u{1e}4b\u{1e}2x".utf8), Array("1".utf8), Array("3".utf8), Array("bAQID".utf8),
            Array("9bad".utf8), [], Array("4\u{1e}\u{1e}4".utf8), [UInt8](repeating: 0x34, count: 41),
        ]
        var transitions: Set<String> = []
        for round in 0..<1_500 {
            var m = Machine(transport: rng.next() % 4 == 0 ? .websocket : .polling, configuration: configuration)
            var model = Model()
            model.webSocket = m.transport == .websocket
            var now: UInt64 = 0
            func apply(_ actions: [Machine.Action], _ what: String, newProbe: Bool = false) {
                for action in actions {
                    switch action {
                    case .holdPoll:
                        XCTAssertFalse(model.heldPoll, "round \(round) \(what): a second poll held")
                        model.heldPoll = true
                    case .answerHeldPoll:
                        XCTAssertTrue(model.heldPoll, "round \(round) \(what): answered a poll not held")
                        model.heldPoll = false
                    case .closeProbe, .adoptProbe:
                        XCTAssertTrue(model.probe, "round \(round) \(what): no probe to let go")
                        model.probe = false
                        if case .adoptProbe = action { model.webSocket = true }
                    case .sendOnProbe:
                        XCTAssertTrue(model.probe, "round \(round) \(what)")
                    case .sendOnWebSocket, .closeWebSocket, .abortWebSocket:
                        XCTAssertTrue(model.webSocket, "round \(round) \(what): no WebSocket transport")
                    case .armTimer(let t, let d):
                        XCTAssertGreaterThan(d, .zero)
                        model.armed.insert("\(t)")
                    case .cancelTimer(let t):
                        model.armed.remove("\(t)")
                    case .finished:
                        model.finished += 1
                    case .respond, .log:
                        break
                    }
                }
                if newProbe { model.probe = true }  // the driver keeps the new probe after letting go of the old
                transitions.insert("\(what) -> \(m.state)")
                XCTAssertLessThanOrEqual(model.finished, 1, "round \(round) \(what): finished twice")
                XCTAssertEqual(model.finished == 1, m.state == .closed, "round \(round) \(what)")
                XCTAssertEqual(model.heldPoll, m.holdsPoll, "round \(round) \(what)")
                XCTAssertEqual(model.probe, m.probing, "round \(round) \(what)")
                XCTAssertEqual(m.queuedBytes, m.queue.reduce(0) { $0 + $1.queuedByteCount }, "round \(round) \(what)")
                XCTAssertLessThanOrEqual(m.queuedBytes, configuration.maxQueuedBytes)
                XCTAssertLessThanOrEqual(m.queue.count, configuration.maxQueuedPackets)
                if m.state == .closed {
                    XCTAssertEqual(model.armed, [], "round \(round) \(what): a timer outlives the session")
                    XCTAssertTrue(m.queue.isEmpty)
                }
            }
            apply(m.open(now: 0), "open")
            for _ in 0..<60 {
                now += rng.next() % (30 * 1_000_000_000)
                switch rng.next() % 14 {
                case 0:
                    apply(m.pollArrived(), "poll")
                case 1 where model.heldPoll:
                    model.heldPoll = false  // the driver lets go of the poll whose connection went, then tells the machine
                    apply(m.heldPollAbandoned(), "abandon")
                case 2:
                    let body = bodies[Int(rng.next() % UInt64(bodies.count))]
                    if let refused = m.postArrived(byteCount: body.count) {
                        apply(refused, "post refused")
                        break
                    }
                    var actions: [Machine.Action] = []
                    let result = body.withUnsafeBytes { b in
                        Result { () throws(EngineIOProtocolError) in
                            try EngineIOPayload.decode(b) { element in
                                if case .text(let type, let data) = element, case .perform(let a) = m.receive(type, data, now: now) {
                                    actions += a
                                }
                            }
                        }
                    }
                    switch result {
                    case .success: apply(actions + m.postEnded(), "post")
                    case .failure(let e): apply(actions + m.postFailed(e), "post failed")
                    }
                case 3, 4:
                    let size = Int(rng.next() % 20)
                    switch m.sendRoute {
                    case .queue: apply(m.enqueue(Packet(text: [0x34] + [UInt8](repeating: 0x61, count: size))), "enqueue")
                    case .webSocket: apply(m.webSocketBacklog(Int(rng.next() % 80)), "backlog")
                    case .drop: break
                    }
                case 5:
                    let type = EngineIOPacketType(rawValue: UInt8(rng.next() % 7))!
                    if case .perform(let a) = m.receive(type, UnsafeRawBufferPointer(start: nil, count: 0), now: now) {
                        apply(a, "receive \(type)")
                    }
                case 6, 7:
                    guard let timer = model.armed.randomElement(using: &rng) else { break }
                    model.armed.remove(timer)  // as the driver's timer, which fired once
                    let t: Machine.Timer = timer == "heartbeat" ? .heartbeat : timer == "closing" ? .closing : .upgrade
                    apply(m.timerFired(t, now: now), "timer \(timer)")
                case 8:
                    if let a = m.probeOpened() {
                        apply(a, "probe opened", newProbe: true)
                    }
                case 9 where model.probe:
                    let probe = Array("probe".utf8)
                    switch rng.next() % 3 {
                    case 0: apply(probe.withUnsafeBytes { m.probeReceived(.ping, $0) }, "2probe")
                    case 1: apply(m.probeReceived(.upgrade, UnsafeRawBufferPointer(start: nil, count: 0)), "5")
                    default: apply(m.probeReceived(.message, UnsafeRawBufferPointer(start: nil, count: 0)), "probe other")
                    }
                case 10 where model.probe:
                    model.probe = false  // the driver lets go of a probe that closed, then tells the machine
                    apply(m.probeClosed(), "probe closed")
                case 11 where model.webSocket && m.transport == .websocket:
                    apply(m.webSocketClosed(), "websocket closed")
                case 12:
                    let reasons: [EngineIOCloseReason] = [.forcedClose, .serverShutdown, .transportError, .parseError]
                    apply(m.close(reasons[Int(rng.next() % 4)]), "close")
                default:
                    apply(m.receiveBinary() ? [] : [], "binary")
                }
            }
        }
        // The walk reached every state, upgrades and closes included.
        for needed in ["2probe -> upgrading", "5 -> open", "close -> closing", "poll -> closed", "timer heartbeat -> closed"] {
            XCTAssertTrue(transitions.contains(needed), "never seen: \(needed)")
        }
    }
}
