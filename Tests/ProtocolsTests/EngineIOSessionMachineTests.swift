import Protocols
import XCTest

/// The Engine.IO session machine alone, h11-style: every transition driven by its inputs, the
/// actions compared whole, no socket and no clock (times are plain nanosecond counts).
final class EngineIOSessionMachineTests: XCTestCase {
    /// A queued packet as the tests see it: its wire bytes, text or binary.
    struct Packet: EngineIOQueuedPacket, Equatable, CustomStringConvertible {
        var bytes: [UInt8]
        var isBinary = false

        init(text: [UInt8]) { bytes = text }
        init(binary: [UInt8]) {
            bytes = binary
            isBinary = true
        }
        static func text(_ s: String) -> Packet { Packet(text: Array(s.utf8)) }

        var queuedByteCount: Int { isBinary ? 1 + Base64.encodedLength(bytes.count) : bytes.count }
        func appendPolling(to out: inout [UInt8]) {
            if isBinary {
                bytes.withUnsafeBytes { EngineIOPayload.appendPacket(type: .message, data: $0, isBinary: true, to: &out) }
            } else {
                out += bytes  // the type digit is in the bytes already
            }
        }
        var description: String { isBinary ? "binary\(bytes)" : String(decoding: bytes, as: UTF8.self) }
    }

    typealias Machine = EngineIOSessionMachine<Packet>
    typealias Action = Machine.Action

    static let second: UInt64 = 1_000_000_000

    func configuration(_ change: (inout EngineIOConfiguration) -> Void = { _ in }) -> EngineIOConfiguration {
        var c = EngineIOConfiguration()
        c.pingInterval = .seconds(25)
        c.pingTimeout = .seconds(20)
        c.upgradeTimeout = .seconds(10)
        change(&c)
        return c
    }

    func openMachine(_ transport: EngineIOTransport = .polling, _ change: (inout EngineIOConfiguration) -> Void = { _ in }) -> Machine {
        var m = Machine(transport: transport, configuration: configuration(change))
        XCTAssertEqual(m.open(now: 0), [.armTimer(.heartbeat, .seconds(25))])
        return m
    }

    func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// What `finish` adds for `reason` after the held poll's answer (if any), for a polling
    /// session without a probe.
    func ending(_ reason: EngineIOCloseReason, heldPoll: [UInt8]? = nil) -> [Action] {
        var a: [Action] = [.cancelTimer(.heartbeat), .cancelTimer(.closing)]
        if let heldPoll { a.append(.answerHeldPoll(heldPoll)) }
        a.append(.finished(reason))
        return a
    }

    func receive(_ m: inout Machine, _ type: EngineIOPacketType, _ data: String = "", now: UInt64 = 0) -> Machine.Reaction {
        Array(data.utf8).withUnsafeBytes { m.receive(type, $0, now: now) }
    }

    func probe(_ m: inout Machine, _ type: EngineIOPacketType, _ data: String = "") -> [Action] {
        Array(data.utf8).withUnsafeBytes { m.probeReceived(type, $0) }
    }

    // MARK: Opening

    func testTheSessionOpensOnceAndStartsItsHeartbeat() {
        var m = Machine(transport: .polling, configuration: configuration())
        XCTAssertEqual(m.state, .handshake)
        XCTAssertFalse(m.isOpen)
        XCTAssertEqual(m.sendRoute, .drop, "nothing is sent before the open packet")
        XCTAssertEqual(m.open(now: 5), [.armTimer(.heartbeat, .seconds(25))])
        XCTAssertEqual(m.state, .open)
        XCTAssertEqual(m.sendRoute, .queue)
        XCTAssertEqual(m.open(now: 6), [], "a second open is no transition")
        var ws = Machine(transport: .websocket, configuration: configuration())
        _ = ws.open(now: 0)
        XCTAssertEqual(ws.sendRoute, .webSocket)
        XCTAssertFalse(ws.acceptsUpgrade, "a WebSocket session has nothing to upgrade")
    }

    // MARK: Heartbeat

    func testPingThenPongRearmsTheInterval() {
        var m = openMachine()
        XCTAssertEqual(m.pollArrived(), [.holdPoll])
        // The interval passed: a ping goes to the held poll, and the pong has pingTimeout.
        XCTAssertEqual(m.timerFired(.heartbeat, now: 25 * Self.second),
                       [.answerHeldPoll(bytes("2")), .armTimer(.heartbeat, .seconds(20))])
        XCTAssertTrue(m.keepalive.awaitingAnswer)
        XCTAssertEqual(receive(&m, .pong, now: 26 * Self.second), .perform([.armTimer(.heartbeat, .seconds(25))]))
        XCTAssertFalse(m.keepalive.awaitingAnswer)
        XCTAssertEqual(receive(&m, .pong, now: 27 * Self.second), .none, "an unasked pong changes nothing")
        // The next ping is due a whole interval after the pong: a timer that fires early waits
        // the rest, and one on time pings (into the queue: no poll is held now).
        XCTAssertEqual(m.timerFired(.heartbeat, now: 50 * Self.second), [.armTimer(.heartbeat, .seconds(1))])
        XCTAssertEqual(m.timerFired(.heartbeat, now: 51 * Self.second), [.armTimer(.heartbeat, .seconds(20))])
        XCTAssertEqual(m.queue, [.text("2")])
    }

    func testOnlyAPongAnswersThePing() {
        // As the reference server: other packets are no sign of the heartbeat (socket.io #5450).
        var m = openMachine(.websocket)
        XCTAssertEqual(m.timerFired(.heartbeat, now: 25 * Self.second),
                       [.sendOnWebSocket(.text("2")), .armTimer(.heartbeat, .seconds(20))])
        XCTAssertEqual(receive(&m, .message, "still here", now: 30 * Self.second), .deliver)
        XCTAssertEqual(m.timerFired(.heartbeat, now: 45 * Self.second),
                       [.log("no pong within the ping timeout"), .cancelTimer(.heartbeat), .cancelTimer(.closing),
                        .closeWebSocket(.normal, ""), .finished(.pingTimeout)])
        XCTAssertEqual(m.state, .closed)
        XCTAssertEqual(m.timerFired(.heartbeat, now: 46 * Self.second), [], "closed: timers are no transition")
    }

    func testNoPongOnPollingEndsTheHeldPollWithAClosePacket() {
        var m = openMachine()
        XCTAssertEqual(m.timerFired(.heartbeat, now: 25 * Self.second), [.armTimer(.heartbeat, .seconds(20))])
        XCTAssertEqual(m.pollArrived(), [.holdPoll, .answerHeldPoll(bytes("2"))])
        XCTAssertEqual(m.pollArrived(), [.holdPoll])
        XCTAssertEqual(m.timerFired(.heartbeat, now: 45 * Self.second),
                       [.log("no pong within the ping timeout")] + ending(.pingTimeout, heldPoll: bytes("1")))
    }

    func testAPingThatDoesNotFitTheQueueClosesWithoutRearming() {
        var m = openMachine { $0.maxQueuedBytes = 4 }
        XCTAssertEqual(m.enqueue(.text("4abc")), [])
        XCTAssertEqual(m.timerFired(.heartbeat, now: 25 * Self.second),
                       [.log("5 bytes queued for a client that does not poll (limit 4): closing as a slow consumer")]
                       + ending(.transportError), "no heartbeat armed after the end")
    }

    func testAClientPingIsAnsweredWithItsData() {
        var m = openMachine(.websocket)
        XCTAssertEqual(receive(&m, .ping, "abc"), .perform([.sendOnWebSocket(.text("3abc"))]))
        var p = openMachine()
        XCTAssertEqual(receive(&p, .ping, "x"), .perform([]))
        XCTAssertEqual(p.queue, [.text("3x")])
        XCTAssertEqual(receive(&p, .noop), .none)
        XCTAssertEqual(receive(&p, .open), .none)
        XCTAssertEqual(receive(&p, .upgrade), .none)
    }

    // MARK: Polling

    func testPacketsWaitForTheLongPollAndLeaveInOnePayload() {
        var m = openMachine()
        XCTAssertEqual(m.enqueue(.text("4one")), [])
        XCTAssertEqual(m.enqueue(Packet(binary: [1, 2, 3, 4])), [])
        XCTAssertEqual(m.queuedBytes, 4 + 9)
        XCTAssertEqual(m.pollArrived(), [.holdPoll, .answerHeldPoll(bytes("4one\u{1e}bAQIDBA=="))])
        XCTAssertEqual(m.queuedBytes, 0)
        XCTAssertFalse(m.holdsPoll)
        XCTAssertEqual(m.pollArrived(), [.holdPoll])
        XCTAssertEqual(m.enqueue(.text("4two")), [.answerHeldPoll(bytes("4two"))], "a held poll takes a packet at once")
    }

    func testASecondConcurrentGetClosesTheSession() {
        var m = openMachine()
        XCTAssertEqual(m.pollArrived(), [.holdPoll])
        XCTAssertEqual(m.pollArrived(),
                       [.log("overlapping long polls"), .answerHeldPoll(bytes("1")), .respond(.error(.badRequest))]
                       + ending(.transportError))
        XCTAssertEqual(m.state, .closed)
        XCTAssertEqual(m.pollArrived(), [.respond(.error(.badRequest))], "closed: a poll is an error")
    }

    func testAGetAfterTheHeldOneWentAwayIsNotConcurrent() {
        var m = openMachine()
        XCTAssertEqual(m.pollArrived(), [.holdPoll])
        XCTAssertEqual(m.pollArrived(heldPollGone: true), [.holdPoll])
        XCTAssertTrue(m.isOpen)
    }

    func testAnAbandonedPollEndsTheSession() {
        var m = openMachine()
        XCTAssertEqual(m.heldPollAbandoned(), [], "no poll held: nothing to abandon")
        XCTAssertEqual(m.pollArrived(), [.holdPoll])
        XCTAssertEqual(m.heldPollAbandoned(), ending(.transportClose))
        var lost = openMachine()
        _ = lost.pollArrived()
        XCTAssertEqual(lost.enqueue(.text("4x")), [.answerHeldPoll(bytes("4x"))])
        XCTAssertEqual(lost.heldPollLost(), ending(.transportClose))
    }

    func testAPostWithSeveralPacketsIsDeliveredAndAnsweredInOneResponse() throws {
        var m = openMachine()
        XCTAssertEqual(m.pollArrived(), [.holdPoll])
        XCTAssertNil(m.postArrived(byteCount: 20))
        var delivered: [String] = []
        var performed: [Action] = []
        let body = bytes("4hello\u{1e}2ping\u{1e}bAQID\u{1e}4world")
        try body.withUnsafeBytes { b in
            try EngineIOPayload.decode(b) { element in
                switch element {
                case .text(let type, let data):
                    switch m.receive(type, data, now: 0) {
                    case .deliver: delivered.append(String(decoding: data, as: UTF8.self))
                    case .perform(let actions): performed += actions
                    case .none: break
                    }
                case .binary(let data):
                    if m.receiveBinary() { delivered.append("binary\(Array(data))") }
                }
                // The application answers each message while the POST is being read.
                if case .text(.message, let data) = element {
                    performed += m.enqueue(Packet(text: [0x34] + Array(data)))
                }
            }
        }
        XCTAssertEqual(delivered, ["hello", "binary[1, 2, 3]", "world"])
        XCTAssertEqual(performed, [], "nothing answers the poll while the POST is read")
        XCTAssertEqual(m.postEnded(), [.respond(.ok), .answerHeldPoll(bytes("4hello\u{1e}3ping\u{1e}4world"))])
    }

    func testAPostOverMaxPayloadIsRefusedAndCloses() {
        var m = openMachine { $0.maxPayload = 10 }
        XCTAssertNil(m.postArrived(byteCount: 10))
        XCTAssertEqual(m.postEnded(), [.respond(.ok)])
        XCTAssertEqual(m.postArrived(byteCount: 11), [.respond(.payloadTooLarge)] + ending(.payloadTooLarge))
    }

    func testAPostThatDoesNotDecodeClosesWithAParseError() {
        var m = openMachine()
        _ = m.pollArrived()
        XCTAssertNil(m.postArrived(byteCount: 3))
        XCTAssertEqual(m.postFailed(.unknownPacketType(0x39)),
                       [.log("bad payload: unknown packet type byte 57"), .respond(.error(.badRequest))]
                       + ending(.parseError, heldPoll: bytes("1")))
    }

    func testPostAndPollOnAWebSocketSessionAreErrors() {
        var m = openMachine(.websocket)
        XCTAssertEqual(m.pollArrived(), [.respond(.error(.badRequest))])
        XCTAssertEqual(m.postArrived(byteCount: 1), [.respond(.error(.badRequest))])
        XCTAssertTrue(m.isOpen)
    }

    // MARK: The queue's bounds

    func testTheQueueClosesTheSessionPastItsByteBound() {
        var m = openMachine { $0.maxQueuedBytes = 10 }
        XCTAssertEqual(m.enqueue(.text("4abcd")), [])
        XCTAssertEqual(m.enqueue(.text("4abcd")), [], "exactly at the bound fits")
        XCTAssertEqual(m.queuedBytes, 10)
        XCTAssertEqual(m.enqueue(.text("4")),
                       [.log("11 bytes queued for a client that does not poll (limit 10): closing as a slow consumer")]
                       + ending(.transportError))
        XCTAssertEqual(m.queuedBytes, 0)
        XCTAssertEqual(m.sendRoute, .drop)
        XCTAssertEqual(m.enqueue(.text("4")), [], "closed: nothing queues")
    }

    func testTheQueueClosesTheSessionPastItsPacketBound() {
        var m = openMachine { $0.maxQueuedPackets = 2 }
        XCTAssertEqual(m.enqueue(.text("4")), [])
        XCTAssertEqual(m.enqueue(.text("4")), [])
        XCTAssertEqual(m.enqueue(.text("4")),
                       [.log("2 packets queued for a client that does not poll: closing")] + ending(.transportError))
    }

    func testAWebSocketBacklogPastTheBoundIsASlowConsumer() {
        var m = openMachine(.websocket) { $0.maxQueuedBytes = 100 }
        XCTAssertEqual(m.webSocketBacklog(100), [])
        XCTAssertEqual(m.webSocketBacklog(101), [
            .log("101 bytes queued for a client that does not read (limit 100): closing as a slow consumer"),
            .closeWebSocket(.policyViolation, "slow consumer: could not keep up with the session"),
            .cancelTimer(.heartbeat), .cancelTimer(.closing), .closeWebSocket(.normal, ""),
            .finished(.transportError), .abortWebSocket,
        ])
        XCTAssertEqual(m.webSocketBacklog(1000), [], "closed once")
    }

    /// A broadcast's delivery gate finds the client too slow: the session closes as its own
    /// bounds would, on whichever transport carries it, once.
    func testASlowConsumerFoundOutsideClosesOnEitherTransport() {
        var ws = openMachine(.websocket) { $0.maxQueuedBytes = 100 }
        XCTAssertEqual(ws.slowConsumer(queued: 150), [
            .log("150 bytes queued for a client that does not read (limit 100): closing as a slow consumer"),
            .closeWebSocket(.policyViolation, "slow consumer: could not keep up with the session"),
            .cancelTimer(.heartbeat), .cancelTimer(.closing), .closeWebSocket(.normal, ""),
            .finished(.transportError), .abortWebSocket,
        ])
        XCTAssertEqual(ws.slowConsumer(queued: 150), [], "closed once")
        var polling = openMachine { $0.maxQueuedBytes = 100 }
        XCTAssertEqual(polling.slowConsumer(queued: 120),
                       [.log("120 bytes queued for a client that does not poll (limit 100): closing as a slow consumer")]
                       + ending(.transportError))
        XCTAssertEqual(polling.slowConsumer(queued: 120), [], "closed once")
    }

    // MARK: Upgrade

    func testTheUpgradeProbeSucceeds() {
        var m = openMachine()
        XCTAssertTrue(m.acceptsUpgrade)
        XCTAssertEqual(m.pollArrived(), [.holdPoll])
        XCTAssertEqual(m.probeOpened(), [.armTimer(.upgrade, .seconds(10))])
        XCTAssertTrue(m.probing)
        // 2probe: answered on the probe, and the held poll ends with a noop.
        XCTAssertEqual(probe(&m, .ping, "probe"), [.sendOnProbe(bytes("3probe")), .answerHeldPoll(bytes("6"))])
        XCTAssertEqual(m.state, .upgrading)
        XCTAssertTrue(m.isOpen)
        XCTAssertFalse(m.acceptsUpgrade)
        XCTAssertNil(m.probeOpened(), "a second probe while upgrading is refused")
        // Meanwhile packets wait, and a poll ends at once.
        XCTAssertEqual(m.sendRoute, .queue)
        XCTAssertEqual(m.enqueue(.text("4waiting")), [])
        XCTAssertEqual(m.pollArrived(), [.respond(.packets(bytes("6")))])
        XCTAssertEqual(m.timerFired(.heartbeat, now: 25 * Self.second), [.armTimer(.heartbeat, .seconds(20))])
        // 5: the probe is the transport, and what waited goes out on it.
        XCTAssertEqual(probe(&m, .upgrade), [.cancelTimer(.upgrade), .adoptProbe,
                                             .sendOnWebSocket(.text("4waiting")), .sendOnWebSocket(.text("2"))])
        XCTAssertEqual(m.state, .open)
        XCTAssertEqual(m.transport, .websocket)
        XCTAssertEqual(m.sendRoute, .webSocket)
        XCTAssertEqual(m.queuedBytes, 0)
        XCTAssertFalse(m.probing)
        XCTAssertEqual(m.pollArrived(), [.respond(.error(.badRequest))], "no polling after the upgrade")
        XCTAssertEqual(m.webSocketClosed(), ending(.transportClose).dropLast() + [.closeWebSocket(.normal, ""), .finished(.transportClose)])
    }

    func testAProbeThatSaysAnythingElseIsClosedAndPollingGoesOn() {
        var m = openMachine()
        _ = m.probeOpened()
        XCTAssertEqual(probe(&m, .upgrade), [.cancelTimer(.upgrade), .closeProbe(.protocolError, "expected the upgrade probe")],
                       "5 before 2probe")
        XCTAssertFalse(m.probing)
        XCTAssertEqual(m.state, .open)
        _ = m.probeOpened()
        XCTAssertEqual(probe(&m, .ping, "other"), [.cancelTimer(.upgrade), .closeProbe(.protocolError, "expected the upgrade probe")])
        _ = m.probeOpened()
        XCTAssertEqual(m.probeReceivedBinary(), [.cancelTimer(.upgrade), .closeProbe(.protocolError, "binary data before the upgrade")])
        _ = m.probeOpened()
        XCTAssertEqual(probe(&m, .ping, "probe").first, .sendOnProbe(bytes("3probe")))
        XCTAssertEqual(probe(&m, .ping, "probe"), [.cancelTimer(.upgrade), .closeProbe(.protocolError, "expected the upgrade probe")],
                       "a second 2probe")
        XCTAssertEqual(m.state, .open)
        XCTAssertTrue(m.acceptsUpgrade)
    }

    func testAProbeThatClosesMidUpgradeFallsBackToPolling() {
        var m = openMachine()
        _ = m.probeOpened()
        _ = probe(&m, .ping, "probe")
        XCTAssertEqual(m.enqueue(.text("4kept")), [])
        XCTAssertEqual(m.probeClosed(), [.cancelTimer(.upgrade)])
        XCTAssertEqual(m.state, .open)
        XCTAssertEqual(m.transport, .polling)
        XCTAssertEqual(m.pollArrived(), [.holdPoll, .answerHeldPoll(bytes("4kept"))], "what waited goes to the next poll")
        XCTAssertEqual(m.probeClosed(), [], "no probe: nothing to close")
    }

    func testAProbeThatTimesOutIsClosed() {
        var m = openMachine()
        _ = m.probeOpened()
        _ = probe(&m, .ping, "probe")
        XCTAssertEqual(m.timerFired(.upgrade, now: 10 * Self.second),
                       [.cancelTimer(.upgrade), .closeProbe(.policyViolation, "upgrade timed out")])
        XCTAssertEqual(m.state, .open)
        XCTAssertEqual(m.timerFired(.upgrade, now: 11 * Self.second), [], "no probe: the timer is stale")
    }

    func testANewProbeReplacesTheOldOne() {
        var m = openMachine()
        _ = m.probeOpened()
        XCTAssertEqual(m.probeOpened(), [.cancelTimer(.upgrade), .closeProbe(.normal, ""), .armTimer(.upgrade, .seconds(10))])
        XCTAssertTrue(m.probing)
    }

    func testAProbeIsRefusedWhenUpgradesAreOffOrTheSessionIsClosing() {
        var off = openMachine { $0.allowUpgrades = false }
        XCTAssertNil(off.probeOpened())
        var closing = openMachine()
        _ = closing.close(.forcedClose)
        XCTAssertEqual(closing.state, .closing)
        XCTAssertNil(closing.probeOpened())
    }

    // MARK: Closing

    func testTheServerClosesAPollingSessionThroughItsHeldPoll() {
        var m = openMachine()
        _ = m.enqueue(.text("4last"))
        XCTAssertEqual(m.pollArrived(), [.holdPoll, .answerHeldPoll(bytes("4last"))])
        XCTAssertEqual(m.pollArrived(), [.holdPoll])
        XCTAssertEqual(m.close(.forcedClose), [.answerHeldPoll(bytes("1"))] + ending(.forcedClose))
        XCTAssertEqual(m.close(.forcedClose), [], "closed once")
    }

    func testTheServerClosesAPollingSessionWithoutAPollOnTheNextOne() {
        var m = openMachine()
        _ = m.enqueue(.text("4last"))
        XCTAssertEqual(m.close(.serverShutdown), [.armTimer(.closing, .seconds(20))])
        XCTAssertEqual(m.state, .closing)
        XCTAssertFalse(m.isOpen)
        XCTAssertEqual(m.sendRoute, .drop, "nothing is sent after the close packet")
        XCTAssertEqual(m.pollArrived(), [.holdPoll, .answerHeldPoll(bytes("4last\u{1e}1"))] + ending(.serverShutdown))
        // A client that does not come back is not waited for.
        var gone = openMachine()
        _ = gone.close(.forcedClose)
        XCTAssertEqual(gone.timerFired(.closing, now: 20 * Self.second), ending(.forcedClose))
    }

    func testACloseDuringAPostLeavesWithThePostsReplies() {
        var m = openMachine()
        _ = m.pollArrived()
        XCTAssertNil(m.postArrived(byteCount: 2))
        XCTAssertEqual(m.enqueue(.text("4reply")), [])
        XCTAssertEqual(m.close(.forcedClose), [.armTimer(.closing, .seconds(20))])
        XCTAssertEqual(m.postEnded(), [.respond(.ok), .answerHeldPoll(bytes("4reply\u{1e}1"))] + ending(.forcedClose))
    }

    func testTheServerClosesAWebSocketSession() {
        var m = openMachine(.websocket)
        XCTAssertEqual(m.close(.forcedClose), [.sendOnWebSocket(.text("1")), .closeWebSocket(.normal, ""),
                                               .cancelTimer(.heartbeat), .cancelTimer(.closing), .closeWebSocket(.normal, ""),
                                               .finished(.forcedClose)])
        var shutdown = openMachine(.websocket)
        XCTAssertEqual(shutdown.close(.serverShutdown), [.sendOnWebSocket(.text("1")), .closeWebSocket(.goingAway, ""),
                                                         .cancelTimer(.heartbeat), .cancelTimer(.closing), .closeWebSocket(.goingAway, ""),
                                                         .finished(.serverShutdown)])
    }

    func testTheClientCloses() {
        var m = openMachine()
        _ = m.pollArrived()
        // Its poll just ends (a noop), as the reference server answers it.
        XCTAssertEqual(receive(&m, .close), .perform(ending(.transportClose, heldPoll: bytes("6"))))
        XCTAssertEqual(receive(&m, .message, "late"), .none, "closed: nothing is delivered")
        XCTAssertFalse(m.receiveBinary())
        var ws = openMachine(.websocket)
        XCTAssertEqual(receive(&ws, .close), .perform([.cancelTimer(.heartbeat), .cancelTimer(.closing),
                                                       .closeWebSocket(.normal, ""), .finished(.transportClose)]))
    }

    func testOtherReasonsEndTheSessionAtOnceAndClosePoints() {
        var m = openMachine(.websocket)
        XCTAssertEqual(m.receiveFailed(.emptyPacket), [.cancelTimer(.heartbeat), .cancelTimer(.closing),
                                                       .closeWebSocket(.protocolError, ""), .finished(.parseError)])
        var probing = openMachine()
        _ = probing.pollArrived()
        _ = probing.probeOpened()
        XCTAssertEqual(probing.close(.transportError), [.cancelTimer(.heartbeat), .cancelTimer(.closing), .answerHeldPoll(bytes("1")),
                                                        .cancelTimer(.upgrade), .closeProbe(.normal, ""), .finished(.transportError)])
        XCTAssertFalse(probing.probing)
    }

    // MARK: Bytes split at every position

    /// A POST body arrives whole (the HTTP layer reassembles it), so a payload cut anywhere is
    /// two POSTs: each is decoded on its own, all or nothing, and a part that does not decode
    /// delivers nothing and ends the session with a 400; one that does delivers exactly its packets.
    func testAPayloadCutAtEveryByteIsTwoPostsJudgedWhole() {
        let packets: [EngineIOPacket] = [.text(.message, "hello"), .binary([1, 2, 3, 4]), .text(.ping, "probe"), .text(.message, "wörld")]
        let body = EngineIOPayload.encode(packets)
        for cut in 1..<body.count {
            var m = openMachine()
            var delivered: [EngineIOPacket] = []
            var stillOpen = true
            for part in [Array(body[..<cut]), Array(body[cut...])] where stillOpen {
                let oracle = try? EngineIOPayload.decode(part)
                XCTAssertNil(m.postArrived(byteCount: part.count))
                let result = part.withUnsafeBytes { b in
                    Result { () throws(EngineIOProtocolError) in
                        try EngineIOPayload.decode(b) { element in
                            switch element {
                            case .text(let type, let data):
                                if case .deliver = m.receive(type, data, now: 0) { delivered.append(EngineIOPacket(type, data: Array(data))) }
                            case .binary(let data):
                                if m.receiveBinary() { delivered.append(.binary(Array(data))) }
                            }
                        }
                    }
                }
                switch result {
                case .success:
                    XCTAssertNotNil(oracle, "cut \(cut)")
                    XCTAssertEqual(m.postEnded().first, .respond(.ok))
                case .failure(let error):
                    XCTAssertNil(oracle, "cut \(cut)")
                    let actions = m.postFailed(error)
                    XCTAssertEqual(actions.dropFirst().first, .respond(.error(.badRequest)), "cut \(cut)")
                    XCTAssertEqual(actions.last, .finished(.parseError), "cut \(cut)")
                    stillOpen = false
                }
            }
            // What was delivered is what the parts decode to, messages only (the ping was answered).
            let expected = [Array(body[..<cut]), Array(body[cut...])].prefix(while: { (try? EngineIOPayload.decode($0)) != nil })
                .flatMap { (try? EngineIOPayload.decode($0)) ?? [] }.filter { $0.type == .message }
            XCTAssertEqual(delivered, expected, "cut \(cut)")
            if cut < body.count, body[cut] == EngineIOPayload.separator || body[cut - 1] == EngineIOPayload.separator {
                XCTAssertFalse(m.isOpen, "cut \(cut): a part that starts or ends with a separator has an empty packet")
            }
        }
    }

    /// The outgoing side: whatever packets were sent, cut into long polls at every position,
    /// the poll bodies carry them all, in order, each exactly once.
    func testPacketsCutIntoPollsAtEveryPositionArriveInOrder() throws {
        let sent: [Packet] = [.text("4a"), Packet(binary: [0, 255]), .text("4ü"), .text("3probe"), Packet(binary: []), .text("4z")]
        for cut in 0...sent.count {
            var m = openMachine()
            var bodies: [[UInt8]] = []
            func collect(_ actions: [Action]) {
                for case .answerHeldPoll(let body) in actions { bodies.append(body) }
            }
            // The packets before the cut wait; then the client polls again as soon as each poll
            // is answered, and each later packet answers the poll held at the time.
            for packet in sent[..<cut] { collect(m.enqueue(packet)) }
            collect(m.pollArrived())
            for packet in sent[cut...] {
                if !m.holdsPoll { collect(m.pollArrived()) }
                collect(m.enqueue(packet))
            }
            let received = try bodies.flatMap { try EngineIOPayload.decode($0) }
            let expected = try sent.flatMap { p in try EngineIOPayload.decode(Machine.payload([p])) }
            XCTAssertEqual(received, expected, "cut \(cut)")
            XCTAssertEqual(bodies.count, cut == 0 ? sent.count : 1 + sent.count - cut, "cut \(cut): one poll for what waited, one per later packet")
            XCTAssertTrue(m.isOpen)
        }
    }
}
