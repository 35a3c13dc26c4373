import Protocols
import ReactorTestSupport
import XCTest

/// The WebSocket connection machine without sockets, h11-style: every transition of the close and
/// ping handshakes, keepalive and the message deadline, driven the way the glue drives it.
final class WebSocketConnectionTests: XCTestCase {
    typealias Action = WebSocketConnection.Actions.Action

    /// What the driver did, in order: the machine's actions, with the event a `deliver` or a
    /// `sendPong` refers to copied out.
    enum Step: Equatable {
        case delivered(Seen)
        case pong([UInt8])
        case action(Action)
    }

    func configuration(ping: Duration? = .seconds(30), pong: Duration = .seconds(20), close: Duration = .seconds(5),
                       message: Duration = .seconds(10)) -> WebSocketConnection.Timings {
        var c = WebSocketConfiguration()
        c.pingInterval = ping
        c.pongTimeout = pong
        c.closeTimeout = close
        c.messageTimeout = message
        return WebSocketConnection.Timings(c)
    }

    func openMachine(timings: WebSocketConnection.Timings? = nil) -> WebSocketConnection {
        var m = WebSocketConnection(timings: timings ?? configuration())
        _ = m.open(now: 0)
        return m
    }

    /// Feeds `input` through an endpoint into `machine` in pieces cut at `splits` (keeping the
    /// unconsumed tail as the reactor does), as the glue does. Returns the steps of the events,
    /// and apart from them the actions of `readEnded` (which depend on where the reads end).
    func drive(_ machine: inout WebSocketConnection, _ input: [UInt8], splits: [Int] = [], now: UInt64 = 1,
               endpoint: inout WebSocketEndpoint) -> (steps: [Step], readEnds: [Action]) {
        var steps: [Step] = []
        var readEnds: [Action] = []
        var pending: [UInt8] = []
        var start = 0
        for end in splits.filter({ $0 > 0 && $0 < input.count }).sorted() + [input.count] {
            pending += input[start..<end]
            start = end
            guard machine.bytesArrived(now: now) else {
                pending = []
                continue
            }
            let consumed = pending.withUnsafeMutableBytes { buffer in
                endpoint.process(buffer) { event in
                    let actions = machine.receive(event)
                    for action in actions.list {
                        switch action {
                        case .deliver: steps.append(.delivered(seen(event)))
                        case .sendPong:
                            if case .ping(let p) = event { steps.append(.pong(Array(p))) } else { XCTFail("pong without a ping") }
                        default: steps.append(.action(action))
                        }
                    }
                }
            }
            pending.removeFirst(consumed)
            readEnds += machine.readEnded(messageIncomplete: endpoint.isMessageIncomplete, now: now).list
        }
        return (steps, readEnds)
    }

    func drive(_ machine: inout WebSocketConnection, _ input: [UInt8], splits: [Int] = [], now: UInt64 = 1) -> [Step] {
        var endpoint = WebSocketEndpoint(role: .server)
        return drive(&machine, input, splits: splits, now: now, endpoint: &endpoint).steps
    }

    func seen(_ event: WebSocketEvent) -> Seen {
        switch event {
        case .text(let b): .text(String(decoding: b, as: UTF8.self))
        case .binary(let b): .binary(Array(b))
        case .ping(let b): .ping(Array(b))
        case .pong(let b): .pong(Array(b))
        case .close(let code, let reason): .close(code.rawValue, String(decoding: reason, as: UTF8.self))
        case .failure(let code, _): .failure(code.rawValue)
        }
    }

    let ms = 1_000_000 as UInt64  // nanoseconds

    // MARK: Opening

    func testOpeningArmsTheKeepaliveAndNothingIsReadBefore() {
        var m = WebSocketConnection(timings: configuration())
        XCTAssertEqual(m.state, .connecting)
        XCTAssertFalse(m.bytesArrived(now: 0), "no frame is read before the handshake is done")
        XCTAssertEqual(m.open(now: 0).list, [.armTimer(.seconds(30))])
        XCTAssertEqual(m.state, .open)
        XCTAssertTrue(m.isOpen)
        XCTAssertEqual(m.open(now: 0).list, [], "opening twice does nothing")

        var quiet = WebSocketConnection(timings: configuration(ping: nil))
        XCTAssertEqual(quiet.open(now: 0).list, [], "no keepalive, no timer")
    }

    func testClosingBeforeOpeningJustClosesTheTransport() {
        var m = WebSocketConnection(timings: configuration())
        XCTAssertEqual(m.close(.normal).list, [.closeTransport(.afterFlush)])
        XCTAssertEqual(m.state, .closing)
        XCTAssertEqual(m.open(now: 0).list, [])

        var slow = WebSocketConnection(timings: configuration())
        XCTAssertEqual(slow.timerFired(now: 5_000 * ms).list, [.closeTransport(.timedOut)])
    }

    // MARK: Closing handshake (RFC 6455 7.1)

    func testCloseByUsWaitsForTheAnswerThenClosesTheTransport() {
        var m = openMachine()
        XCTAssertEqual(m.close(.normal, reason: "bye").list, [.sendClose(.normal), .armTimer(.seconds(5))])
        XCTAssertEqual(m.state, .closing)
        XCTAssertFalse(m.isOpen)
        XCTAssertEqual(m.closeCode, .normal)
        XCTAssertEqual(m.closeReason, "bye")
        XCTAssertEqual(m.close(.goingAway).list, [], "a second close sends nothing")

        // The peer's answer: no echo of an echo, the transport closes, our code stands.
        let steps = drive(&m, clientFrame(0x8, [0x03, 0xE9]))
        XCTAssertEqual(steps, [.action(.closeTransport(.afterFlush))])
        XCTAssertEqual(m.closeCode, .normal)
        m.transportClosed()
        XCTAssertEqual(m.state, .closed)
        XCTAssertFalse(m.bytesArrived(now: 2))
    }

    func testCloseByUsWithAnErrorCodeTellsTheApplicationFirst() {
        var m = openMachine()
        XCTAssertEqual(m.close(.internalError, reason: "oops").list,
                       [.willFail(.internalError), .sendClose(.internalError), .armTimer(.seconds(5))])
        var app = openMachine()
        XCTAssertEqual(app.close(WebSocketCloseCode(rawValue: 4000)).list, [.sendClose(WebSocketCloseCode(rawValue: 4000)), .armTimer(.seconds(5))],
                       "an application's code is no failure")
    }

    func testCloseTimeoutDropsThePeerThatDoesNotAnswer() {
        var m = openMachine()
        _ = m.close(.normal)
        XCTAssertEqual(m.timerFired(now: 5_000 * ms).list, [.closeTransport(.timedOut)])
    }

    func testPeerCloseIsEchoedWithItsCodeThenTheTransportCloses() {
        var m = openMachine()
        let steps = drive(&m, clientFrame(0x8, [0x03, 0xE9] + Array("bye".utf8)) + clientFrame(0x1, Array("late".utf8)))
        XCTAssertEqual(steps, [.action(.echoClose(.goingAway)), .action(.closeTransport(.afterFlush))],
                       "the message after the close frame is not delivered")
        XCTAssertEqual(m.state, .closing)
        XCTAssertEqual(m.closeCode, .goingAway)
        XCTAssertEqual(m.closeReason, "bye")
        XCTAssertEqual(m.close(.normal).list, [], "we cannot start a close the peer started")
    }

    func testPeerCloseWithoutACodeIsEchoedWithout() {
        var m = openMachine()
        XCTAssertEqual(drive(&m, clientFrame(0x8, [])), [.action(.echoClose(.noStatus)), .action(.closeTransport(.afterFlush))])
        XCTAssertEqual(WebSocketFrameWriter.closePayload(.noStatus, reason: "ignored"), [], "1005 is never sent")
        XCTAssertEqual(m.closeCode, .noStatus)
    }

    func testEndOfStreamClosesTheTransport() {
        var m = openMachine()
        XCTAssertEqual(m.transportEnded().list, [.closeTransport(.peerClosed)])
        m.transportClosed()
        XCTAssertEqual(m.closeCode, .abnormal, "no close frame went either way: 1006")
        XCTAssertEqual(m.transportEnded().list, [])
    }

    // MARK: Pings and pongs

    func testPingIsAnsweredWithItsPayloadAndPongsAreDelivered() {
        var m = openMachine()
        XCTAssertEqual(drive(&m, clientFrame(0x9, [1, 2, 3]) + clientFrame(0xA, [4])), [.pong([1, 2, 3]), .delivered(.pong([4]))])
        _ = m.close(.normal)
        XCTAssertEqual(drive(&m, clientFrame(0x9, [5]) + clientFrame(0xA, [6]) + clientFrame(0x2, [7])), [.delivered(.pong([6]))],
                       "while closing: no pong sent back, no message delivered, pongs still heard")
    }

    func testKeepalivePingsAfterSilenceAndGivesUpWithoutAnAnswer() {
        var m = openMachine()  // heard at 0; ping 30 s, pong 20 s
        XCTAssertEqual(m.timerFired(now: 30_000 * ms).list, [.sendPing, .armTimer(.seconds(20))])
        XCTAssertEqual(m.timerFired(now: 50_000 * ms).list, [.closeTransport(.timedOut)])
        XCTAssertEqual(m.closeReason, "no pong within the deadline")
    }

    func testAnyFrameAnswersTheKeepaliveAndDelaysTheNextPing() {
        var m = openMachine()
        XCTAssertEqual(m.timerFired(now: 30_000 * ms).list, [.sendPing, .armTimer(.seconds(20))])
        XCTAssertEqual(drive(&m, clientFrame(0xA, []), now: 40_000 * ms), [.delivered(.pong([]))])
        XCTAssertEqual(m.timerFired(now: 50_000 * ms).list, [.armTimer(.seconds(20))], "quiet for 10 s: the next ping in 20")
        XCTAssertEqual(m.timerFired(now: 70_000 * ms).list, [.sendPing, .armTimer(.seconds(20))])
    }

    func testNoKeepaliveMeansNoPing() {
        var m = openMachine(timings: configuration(ping: nil))
        XCTAssertEqual(m.timerFired(now: 3_600_000 * ms).list, [])
    }

    // MARK: The message deadline

    func testAMessageNotFinishedInTimeFailsWith1008() {
        var m = openMachine()  // message 10 s, ping 30 s
        var endpoint = WebSocketEndpoint(role: .server)
        let first = drive(&m, clientFrame(0x1, Array("half".utf8), fin: false), now: 1_000 * ms, endpoint: &endpoint)
        XCTAssertEqual(first.steps, [])
        XCTAssertEqual(first.readEnds, [.armTimer(.seconds(10))], "the deadline runs from the first fragment")
        XCTAssertTrue(endpoint.isMessageIncomplete)
        XCTAssertEqual(m.timerFired(now: 6_000 * ms).list, [.armTimer(.seconds(5))], "5 s left")
        XCTAssertEqual(m.timerFired(now: 11_000 * ms).list,
                       [.discardIncompleteMessage, .willFail(.policyViolation), .sendClose(.policyViolation),
                        .closeTransport(.protocolError(.policyViolation))])
        XCTAssertEqual(m.state, .closing)
        XCTAssertEqual(m.closeCode, .policyViolation)
    }

    func testAFinishedMessageStopsTheDeadline() {
        var m = openMachine()
        var endpoint = WebSocketEndpoint(role: .server)
        _ = drive(&m, clientFrame(0x1, Array("ha".utf8), fin: false), now: 1_000 * ms, endpoint: &endpoint)
        let rest = drive(&m, clientFrame(0x0, Array("lf".utf8)), now: 2_000 * ms, endpoint: &endpoint)
        XCTAssertEqual(rest.steps, [.delivered(.text("half"))])
        XCTAssertEqual(rest.readEnds, [])
        XCTAssertEqual(m.timerFired(now: 12_000 * ms).list, [.armTimer(.seconds(20))], "only the keepalive is left")
    }

    func testTheDeadlineIsShorterThanThePingWhenItIsSooner() {
        var m = openMachine(timings: configuration(ping: .seconds(5), message: .seconds(10)))
        var endpoint = WebSocketEndpoint(role: .server)
        let r = drive(&m, clientFrame(0x2, [1], fin: false), now: 1 * ms, endpoint: &endpoint)
        XCTAssertEqual(r.readEnds, [.armTimer(.seconds(5))])
        XCTAssertEqual(m.timerFired(now: 5_001 * ms).list, [.sendPing, .armTimer(.seconds(5))], "pong 20 s, but the message has 5 s left")
    }

    // MARK: Protocol failures

    func testAProtocolErrorSendsItsCodeThenClosesTheTransport() {
        var m = openMachine()
        XCTAssertEqual(drive(&m, [0x81, 0x02, 0x68, 0x69]),  // unmasked client frame
                       [.action(.willFail(.protocolError)), .action(.sendClose(.protocolError)),
                        .action(.closeTransport(.protocolError(.protocolError)))])
        XCTAssertEqual(m.state, .closing)
        XCTAssertEqual(m.closeCode, .protocolError)
        XCTAssertFalse(m.closeReason.isEmpty)
    }

    func testBadUTF8Fails1007AndAFailureWhileClosingSendsNoSecondCloseFrame() {
        var m = openMachine()
        XCTAssertEqual(drive(&m, clientFrame(0x1, [0xFF])),
                       [.action(.willFail(.invalidPayload)), .action(.sendClose(.invalidPayload)),
                        .action(.closeTransport(.protocolError(.invalidPayload)))])
        var closing = openMachine()
        _ = closing.close(.normal)
        XCTAssertEqual(drive(&closing, clientFrame(0x1, [0xFF])),
                       [.action(.willFail(.invalidPayload)), .action(.closeTransport(.protocolError(.invalidPayload)))])
    }

    func testInputAfterTheTransportClosedIsIgnored() {
        var m = openMachine()
        m.transportClosed()
        XCTAssertFalse(m.bytesArrived(now: 1))
        XCTAssertEqual(drive(&m, clientFrame(0x1, Array("hi".utf8))), [])
        let text = Array("hi".utf8)
        text.withUnsafeBytes { b in
            XCTAssertEqual(m.receive(.text(b)).list, [])
            XCTAssertEqual(m.receive(.ping(b)).list, [])
            XCTAssertEqual(m.receive(.close(.normal, reason: b)).list, [])
        }
        XCTAssertEqual(m.receive(.failure(.protocolError, reason: "late")).list, [])
        XCTAssertEqual(m.close(.normal).list, [])
        XCTAssertEqual(m.timerFired(now: 100_000 * ms).list, [])
        XCTAssertEqual(m.readEnded(messageIncomplete: true, now: 1).list, [])
    }

    func testTheClientSideFollowsTheSameRules() {
        var m = openMachine()
        var endpoint = WebSocketEndpoint(role: .client)
        let serverFrames: [UInt8] = [0x81, 0x02, 0x68, 0x69, 0x89, 0x01, 0x07, 0x88, 0x02, 0x03, 0xE8]
        XCTAssertEqual(drive(&m, serverFrames, endpoint: &endpoint).steps,
                       [.delivered(.text("hi")), .pong([7]), .action(.echoClose(.normal)), .action(.closeTransport(.afterFlush))])
        var strict = openMachine()
        var strictEndpoint = WebSocketEndpoint(role: .client)
        XCTAssertEqual(drive(&strict, clientFrame(0x1, [0x68]), endpoint: &strictEndpoint).steps,
                       [.action(.willFail(.protocolError)), .action(.sendClose(.protocolError)),
                        .action(.closeTransport(.protocolError(.protocolError)))], "a server's frames are not masked")
    }

    // MARK: Splits

    func testEverySplitGivesTheSameEventsAndActions() {
        let input = clientFrame(0x1, Array("fragment one ".utf8), fin: false)
            + clientFrame(0x9, Array("ping".utf8))
            + clientFrame(0x0, Array("and two: ünïcödé".utf8), fin: true)
            + clientFrame(0x2, (0..<300).map { UInt8($0 & 0xFF) })
            + clientFrame(0xA, [9])
            + clientFrame(0x8, [0x03, 0xE8] + Array("done".utf8))
            + clientFrame(0x1, Array("after the close".utf8))
        func run(_ splits: [Int]) -> (steps: [Step], readEnds: [Action], code: WebSocketCloseCode, state: WebSocketConnection.State) {
            var m = openMachine()
            var endpoint = WebSocketEndpoint(role: .server)
            let r = drive(&m, input, splits: splits, endpoint: &endpoint)
            return (r.steps, r.readEnds, m.closeCode, m.state)
        }
        let whole = run([])
        XCTAssertEqual(whole.steps, [
            .pong(Array("ping".utf8)),
            .delivered(.text("fragment one and two: ünïcödé")),
            .delivered(.binary((0..<300).map { UInt8($0 & 0xFF) })),
            .delivered(.pong([9])),
            .action(.echoClose(.normal)),
            .action(.closeTransport(.afterFlush)),
        ])
        XCTAssertEqual(whole.readEnds, [])
        for cut in 1..<input.count {
            let r = run([cut])
            XCTAssertEqual(r.steps, whole.steps, "split at \(cut)")
            XCTAssertEqual(r.code, .normal)
            XCTAssertEqual(r.state, .closing)
            // A read that ends inside a message starts its deadline, and nothing else.
            XCTAssertTrue(r.readEnds.allSatisfy { $0 == .armTimer(.seconds(10)) }, "split at \(cut): \(r.readEnds)")
        }
        XCTAssertEqual(run(Array(1..<input.count)).steps, whole.steps, "one byte at a time")
    }

    func testTheMachineAndTheMessageLayerStaySmall() {
        // Each lives in every idle socket (issue 18: bytes per idle WebSocket); the glue's
        // object holds them (WebSocketSizeTests measures its malloc chunk).
        XCTAssertLessThanOrEqual(MemoryLayout<WebSocketConnection>.size, 30)
        XCTAssertLessThanOrEqual(MemoryLayout<WebSocketEndpoint>.size, 62)
        XCTAssertLessThanOrEqual(MemoryLayout<WebSocketFrameDecoder>.size, 16)
    }

    // MARK: Frames out

    func testTheClientMasksItsFramesAndTheServerDoesNot() {
        var client = WebSocketFrameWriter(role: .client)
        let payload = Array("masked".utf8)
        let wire = payload.withUnsafeBytes { p in client.write(.text, p) { Array($0) + Array($1) } }
        XCTAssertEqual(wire[1] & 0x80, 0x80)
        XCTAssertNotEqual(Array(wire[6...]), payload, "the caller's bytes go out masked")
        XCTAssertEqual(runEndpoint(wire), [.text("masked")])

        var server = WebSocketFrameWriter(role: .server)
        let plain = payload.withUnsafeBytes { p in server.write(.binary, p) { Array($0) + Array($1) } }
        XCTAssertEqual(plain, [0x82, 6] + payload)
    }

    func testACloseReasonIsCutAtACharacterBoundary() {
        let reason = String(repeating: "é", count: 100)  // 200 bytes
        let payload = WebSocketFrameWriter.closePayload(.goingAway, reason: reason)
        XCTAssertEqual(payload.count, 124, "2 bytes of code and 61 two-byte characters; a 62nd would make 126")
        XCTAssertEqual(Array(payload[0..<2]), [0x03, 0xE9])
        var v = UTF8Validator()
        XCTAssertTrue(payload[2...].withUnsafeBytes { v.validate($0) } && v.isComplete)
    }
}
