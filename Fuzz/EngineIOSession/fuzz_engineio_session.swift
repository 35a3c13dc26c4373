// libFuzzer target for the Engine.IO session machine (EngineIOSessionMachine): the input is a
// script of driver inputs (one byte picks the input, the next ones its arguments; a POST carries
// its body), fed to the machine while a model keeps what a driver holds beside it.
//
// Nothing may crash, and after every input: a held poll is answered at most once and only when
// held, a probe is let go once, WebSocket actions come only with a WebSocket transport, the
// session finishes once and is closed exactly when it did, no timer stays armed past the end, and
// the queue adds up and stays within its bounds.

struct Packet: EngineIOQueuedPacket {
    var bytes: [UInt8]
    init(text: [UInt8]) { bytes = text }
    var queuedByteCount: Int { bytes.count }
    func appendPolling(to out: inout [UInt8]) { out += bytes }
}

typealias Machine = EngineIOSessionMachine<Packet>

func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("invariant violated: \(message())") }
}

struct Driver {
    var m: Machine
    var heldPoll = false
    var probe = false
    var webSocket: Bool
    var armed: Set<Machine.Timer> = []
    var finished = 0
    let configuration: EngineIOConfiguration

    mutating func apply(_ actions: [Machine.Action], newProbe: Bool = false) {
        for action in actions {
            switch action {
            case .holdPoll:
                check(!heldPoll, "a second poll held")
                heldPoll = true
            case .answerHeldPoll:
                check(heldPoll, "answered a poll not held")
                heldPoll = false
            case .closeProbe, .adoptProbe:
                check(probe, "let go of a probe not held")
                probe = false
                if case .adoptProbe = action { webSocket = true }
            case .sendOnProbe:
                check(probe, "sent on a probe not held")
            case .sendOnWebSocket, .closeWebSocket, .abortWebSocket:
                check(webSocket, "WebSocket action without a WebSocket")
            case .armTimer(let t, _):
                armed.insert(t)
            case .cancelTimer(let t):
                armed.remove(t)
            case .finished:
                finished += 1
            case .respond, .log:
                break
            }
        }
        if newProbe { probe = true }
        check(finished <= 1, "finished twice")
        check((finished == 1) == (m.state == .closed), "closed without finishing, or the reverse")
        check(heldPoll == m.holdsPoll, "held poll out of step")
        check(probe == m.probing, "probe out of step")
        check(m.queuedBytes == m.queue.reduce(0) { $0 + $1.queuedByteCount }, "queue bytes do not add up")
        check(m.queuedBytes <= configuration.maxQueuedBytes && m.queue.count <= configuration.maxQueuedPackets, "queue past its bounds")
        if m.state == .closed { check(armed.isEmpty && m.queue.isEmpty, "a timer or packet outlives the session") }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    guard let first = input.first else { return 0 }
    var configuration = EngineIOConfiguration()
    configuration.maxQueuedBytes = 48
    configuration.maxQueuedPackets = 6
    configuration.maxPayload = 64
    configuration.allowUpgrades = first & 2 == 0
    let transport: EngineIOTransport = first & 1 == 0 ? .polling : .websocket
    var d = Driver(m: Machine(transport: transport, configuration: configuration), webSocket: transport == .websocket,
                   configuration: configuration)
    d.apply(d.m.open(now: 0))
    var i = 1
    var now: UInt64 = 0
    func next() -> UInt8 {
        defer { i += 1 }
        return i < input.count ? input[i] : 0
    }
    while i < input.count {
        let op = next()
        now &+= UInt64(op) &* 100_000_000
        switch op % 13 {
        case 0:
            d.apply(d.m.pollArrived(heldPollGone: op & 0x80 != 0 && d.heldPoll ? { d.heldPoll = false; return true }() : false))
        case 1 where d.heldPoll:
            d.heldPoll = false
            d.apply(d.m.heldPollAbandoned())
        case 2:
            let count = Int(next() % 80)
            let body = Array(input[min(i, input.count)..<min(i + count, input.count)])
            i += count
            if let refused = d.m.postArrived(byteCount: body.count) {
                d.apply(refused)
                break
            }
            var actions: [Machine.Action] = []
            let result = body.withUnsafeBytes { b in
                Result { () throws(EngineIOProtocolError) in
                    try EngineIOPayload.decode(b) { element in
                        switch element {
                        case .text(let type, let data):
                            if case .perform(let a) = d.m.receive(type, data, now: now) { actions += a }
                        case .binary:
                            _ = d.m.receiveBinary()
                        }
                    }
                }
            }
            switch result {
            case .success: d.apply(actions + d.m.postEnded())
            case .failure(let e): d.apply(actions + d.m.postFailed(e))
            }
        case 3, 4:
            let size = Int(next() % 24)
            switch d.m.sendRoute {
            case .queue: d.apply(d.m.enqueue(Packet(text: [0x34] + [UInt8](repeating: 0x61, count: size))))
            case .webSocket: d.apply(d.m.webSocketBacklog(size * 3))
            case .drop: break
            }
        case 5:
            let type = EngineIOPacketType(rawValue: next() % 7)!
            if case .perform(let a) = d.m.receive(type, UnsafeRawBufferPointer(start: nil, count: 0), now: now) { d.apply(a) }
        case 6:
            let timers: [Machine.Timer] = [.heartbeat, .closing, .upgrade]
            let t = timers[Int(next() % 3)]
            guard d.armed.contains(t) else { break }
            d.armed.remove(t)
            d.apply(d.m.timerFired(t, now: now))
        case 7:
            if let a = d.m.probeOpened() { d.apply(a, newProbe: true) }
        case 8 where d.probe:
            let probe = Array("probe".utf8)
            switch next() % 4 {
            case 0: d.apply(probe.withUnsafeBytes { d.m.probeReceived(.ping, $0) })
            case 1: d.apply(d.m.probeReceived(.upgrade, UnsafeRawBufferPointer(start: nil, count: 0)))
            case 2: d.apply(d.m.probeReceivedBinary())
            default: d.apply(d.m.probeReceived(.noop, UnsafeRawBufferPointer(start: nil, count: 0)))
            }
        case 9 where d.probe:
            d.probe = false
            d.apply(d.m.probeClosed())
        case 10 where d.webSocket && d.m.transport == .websocket:
            d.apply(d.m.webSocketClosed())
        case 11:
            let reasons: [EngineIOCloseReason] = [.forcedClose, .serverShutdown, .transportError, .parseError, .transportClose]
            d.apply(d.m.close(reasons[Int(next() % 5)]))
        case 12 where next() == 0xFF:
            d.apply(d.m.receiveFailed(.emptyPacket))
        default:
            break  // an input whose precondition does not hold (no poll held, no probe): none
        }
    }
    return 0
}
