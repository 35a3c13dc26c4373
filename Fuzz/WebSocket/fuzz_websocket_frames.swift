// libFuzzer target for the WebSocket frame decoder and message layer (WebSocketEndpoint), plus a
// differential check of UTF8Validator against the standard library's decoder.
//
// Each input is a byte stream from a client, delivered whole, one byte at a time, and in pieces
// whose sizes come from the input; the reactor's contract is emulated (unconsumed bytes are kept
// and presented again, unchanged, before new ones). Every delivery must produce the same events,
// consumption must never exceed the input, and nothing may crash. The loop-wide budget for
// incomplete messages must agree with what the endpoint says it holds, never exceed its limit,
// and return to zero when the message is dropped. The connection machine (WebSocketConnection)
// takes every event as the glue feeds it: the same actions whatever the delivery, a message
// delivered only while open, nothing after the close or the failure, and reads that end inside a
// message only ever arm the deadline.

enum FuzzEvent: Equatable {
    case text([UInt8]), binary([UInt8]), ping([UInt8]), pong([UInt8]), close(UInt16, [UInt8]), failure(UInt16)
    /// What the machine asked for after the event before it.
    case actions([WebSocketConnection.Actions.Action])
}

func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("invariant violated: \(message())") }
}

func run(_ input: [UInt8], pieces: [Int], limits: WebSocketLimits) -> [FuzzEvent] {
    let budget = WebSocketMessageBudget()
    var endpoint = WebSocketEndpoint(role: .server, limits: limits, budget: budget)
    var machine = WebSocketConnection(timings: WebSocketConnection.Timings())
    _ = machine.open(now: 1)
    var ended = false  // a close or a failure was reported
    var events: [FuzzEvent] = []
    var pending: [UInt8] = []
    var offset = 0
    var i = 0
    while offset < input.count || i == 0 {
        let size = pieces.isEmpty ? input.count : max(1, pieces[i % pieces.count])
        i += 1
        let end = min(input.count, offset + size)
        pending += input[offset..<end]
        offset = end
        let before = pending
        check(machine.bytesArrived(now: 2) || ended, "the machine refused bytes before the close")
        let consumed = pending.withUnsafeMutableBytes { buffer in
            endpoint.process(buffer) { event in
                check(!ended, "an event after the close or the failure")
                let wasOpen = machine.isOpen
                let actions = machine.receive(event)
                if actions.contains(.deliver) {
                    switch event {
                    case .text, .binary: check(wasOpen, "a message delivered while not open")
                    case .pong: break
                    default: check(false, "delivering \(event)")
                    }
                }
                if case .close = event { ended = true; check(actions.closeTransport != nil && !machine.isOpen, "a close left open") }
                if case .failure = event { ended = true; check(actions.closeTransport != nil && !machine.isOpen, "a failure left open") }
                if !actions.isEmpty { events.append(.actions(actions.list)) }
                switch event {
                case .text(let b):
                    check(UTF8Validator.isValid(b), "invalid UTF-8 delivered as text")
                    events.append(.text(Array(b)))
                case .binary(let b): events.append(.binary(Array(b)))
                case .ping(let b): check(b.count <= 125, "long ping"); events.append(.ping(Array(b)))
                case .pong(let b): check(b.count <= 125, "long pong"); events.append(.pong(Array(b)))
                case .close(let c, let r): events.append(.close(c.rawValue, Array(r)))
                case .failure(let c, _): events.append(.failure(c.rawValue))
                }
            }
        }
        check(consumed >= 0 && consumed <= pending.count, "consumed \(consumed) of \(pending.count)")
        // Bytes handed back must be exactly the ones we gave (only consumed bytes are unmasked).
        check(Array(pending[consumed...]) == Array(before[consumed...]), "unconsumed bytes were modified")
        pending.removeFirst(consumed)
        for action in machine.readEnded(messageIncomplete: endpoint.isMessageIncomplete, now: 3).list {
            if case .armTimer = action { continue }
            check(false, "a read's end asked for \(action)")
        }
        check(budget.held == endpoint.chargedBytes, "budget holds \(budget.held), the endpoint \(endpoint.chargedBytes)")
        check(budget.held <= limits.incompleteMessageBudget, "budget \(budget.held) over its limit")
        if offset >= input.count { break }
    }
    endpoint.discardIncompleteMessage()
    check(budget.held == 0, "\(budget.held) bytes still charged after the message was dropped")
    // Merge nothing: a message is delivered once whatever the cut points.
    return events
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = Array(UnsafeBufferPointer(start: data, count: size))

    // Differential: the validator against the standard library.
    let oracle = String(validating: input, as: UTF8.self) != nil
    let ours = input.withUnsafeBytes { UTF8Validator.isValid($0) }
    check(ours == oracle, "UTF8Validator says \(ours), the standard library \(oracle)")

    var small = WebSocketLimits()
    small.maxFrameSize = 64
    small.maxMessageSize = 100
    for limits in [WebSocketLimits(), small] {
        let whole = run(input, pieces: [], limits: limits)
        check(run(input, pieces: [1], limits: limits) == whole, "byte-at-a-time delivery differs")
        let sizes = input.prefix(8).map { Int($0 % 17) + 1 }
        check(run(input, pieces: sizes, limits: limits) == whole, "piecewise delivery differs")
    }
    // A budget small enough to be crossed: what is refused depends on the cut points (only what
    // is held between reads is charged), so only the invariants inside `run` are checked.
    var tight = WebSocketLimits()
    tight.incompleteMessageBudget = 48
    _ = run(input, pieces: [1], limits: tight)
    _ = run(input, pieces: input.prefix(8).map { Int($0 % 17) + 1 }, limits: tight)
    return 0
}
