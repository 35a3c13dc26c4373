/// The rules of one Engine.IO v4 session on the server, sans-I/O: the state, the packet queue of
/// the polling transport and its bounds, the heartbeat, the one-outstanding-GET rule, the upgrade
/// from polling to WebSocket, the close from either side, the polling payload's encoding. It
/// never touches a socket, a responder or a clock: the driver (`EngineIOSession` in Connections)
/// feeds each input and performs the returned `Action`s in order, on its own time.
///
///     handshake --open--> open --2probe on the probe--> upgrading --5--> open (transport: websocket)
///                          |  \                             |
///                          |   \--probe closed-------<------/ (stays on polling)
///                          |--close() on polling: close packet queued--> closing --poll takes it / timer--> closed
///                          `--client's 1, transport gone, ping timeout, bad input, queue bound---------------> closed
///
/// The protocol's rules, as the v4 spec (socket.io's engine-io-protocol) and its reference server
/// state them:
/// - Heartbeat: every `pingInterval` the server sends a ping; a client that does not answer with a
///   pong within `pingTimeout` is gone. Only a pong counts (the reference server does not reset
///   the deadline on other packets either).
/// - Polling: one long GET at a time. A second GET while one is held breaks the contract: the held
///   one gets a close packet, the new one a 400, and the session ends.
/// - Upgrade: the client opens a WebSocket and sends `2probe`; the server answers `3probe` and ends
///   the held GET with a noop (`6`) so the client can pause polling; packets sent meanwhile wait;
///   the client's `5` makes the WebSocket the transport, and what waited goes out on it.
///
/// `Packet` is the driver's form of a queued packet (it may hold bytes encoded once for many
/// sessions); the machine only needs its size and its polling form.
///
/// The hot paths ask for no array: a message received answers with one `Reaction` value, a message
/// to send with one `SendRoute`, so a message on the WebSocket transport costs no allocation here.
public struct EngineIOSessionMachine<Packet: EngineIOQueuedPacket> {
    public enum State: Equatable, Sendable {
        /// Created; the open packet has not gone out yet.
        case handshake
        case open
        /// A probe WebSocket answered `3probe`: long polls end at once, packets wait for the `5`.
        case upgrading
        /// Closed by the server on polling: the close packet waits for the client's next poll.
        case closing
        case closed

        /// Open, or upgrading (which is open). A driver that keeps the machine behind a pointer
        /// asks the state read in place (`pointee.state.isOpen`): a getter called on `pointee`
        /// copies the whole machine first.
        @inlinable
        public var isOpen: Bool { self == .open || self == .upgrading }
    }

    public let configuration: EngineIOConfiguration
    public private(set) var state = State.handshake
    public private(set) var transport: EngineIOTransport
    /// Packets waiting for a long poll (or for the end of an upgrade), and the bytes they count
    /// for (`queuedByteCount`, bounded by `maxQueuedBytes`).
    public private(set) var queue: [Packet] = []
    public private(set) var queuedBytes = 0
    /// Whether a long poll is held (the driver holds the responder itself).
    public private(set) var holdsPoll = false
    /// The heartbeat: when the last pong came, and whether a ping waits for one.
    public private(set) var keepalive = Keepalive(now: 0)
    /// A probe WebSocket is open (and whether it answered the probe: then `state` is `.upgrading`).
    public private(set) var probing = false
    private var closingReason = EngineIOCloseReason.forcedClose
    /// While a POST's packets are being received, sends queue without answering the long poll, so
    /// the replies to one POST leave in one response.
    private var inPost = false

    public init(transport: EngineIOTransport, configuration: EngineIOConfiguration) {
        self.transport = transport
        self.configuration = configuration
    }

    /// Whether the session is open (not closing or closed; upgrading is open).
    @inlinable
    public var isOpen: Bool { state.isOpen }

    /// Whether a new WebSocket may probe this session.
    public var acceptsUpgrade: Bool {
        state == .open && transport == .polling && configuration.allowUpgrades
    }

    // MARK: Opening

    /// The open packet went out (in the handshake's answer, or on the WebSocket): the heartbeat starts.
    public mutating func open(now: UInt64) -> [Action] {
        guard state == .handshake else { return [] }
        state = .open
        keepalive.heard(now: now)
        return [.armTimer(.heartbeat, configuration.pingInterval)]
    }

    // MARK: Sending

    /// Where the application's next packet goes.
    @inlinable
    public var sendRoute: SendRoute { Self.sendRoute(state: state, transport: transport) }

    /// The same, from the two fields it reads: for a driver that keeps the machine behind a
    /// pointer and reads them in place (calling the getter on `pointee` copies the whole machine
    /// first, and this runs on every send).
    @inlinable
    public static func sendRoute(state: State, transport: EngineIOTransport) -> SendRoute {
        switch state {
        case .open: transport == .websocket ? .webSocket : .queue
        case .upgrading: .queue
        case .handshake, .closing, .closed: .drop
        }
    }

    /// A packet for the queue (`sendRoute` said `.queue`): it waits for the next long poll, or
    /// the session closes as a slow consumer if it would pass a bound.
    public mutating func enqueue(_ packet: Packet) -> [Action] {
        guard isOpen else { return [] }
        guard queue.count < configuration.maxQueuedPackets else {
            return [.log("\(queue.count) packets queued for a client that does not poll: closing")]
                + finish(.transportError)
        }
        let size = packet.queuedByteCount
        guard queuedBytes + size <= configuration.maxQueuedBytes else {
            return [.log("\(queuedBytes + size) bytes queued for a client that does not poll (limit \(configuration.maxQueuedBytes)): closing as a slow consumer")]
                + finish(.transportError)
        }
        queuedBytes += size
        queue.append(packet)
        return flushPoll()
    }

    /// The WebSocket transport's connection holds `backlog` bytes it could not write yet (read
    /// after each send): past `maxQueuedBytes` the session closes as a slow consumer, as a pub/sub
    /// room's `.disconnect` policy closes its subscribers (1008, with the reason), and the backlog
    /// is dropped rather than flushed to a client that does not read.
    @inlinable
    public mutating func webSocketBacklog(_ backlog: Int) -> [Action] {
        guard backlog > configuration.maxQueuedBytes, isOpen else { return [] }
        return slowWebSocket(backlog)
    }

    /// Something outside the session's own queue found its client too slow with `queued` bytes
    /// (a Socket.IO broadcast's delivery gate): it closes as its own bounds would close it, on
    /// whichever transport carries it.
    public mutating func slowConsumer(queued: Int) -> [Action] {
        guard isOpen else { return [] }
        if state == .open && transport == .websocket { return slowWebSocket(queued) }
        return [.log("\(queued) bytes queued for a client that does not poll (limit \(configuration.maxQueuedBytes)): closing as a slow consumer")]
            + finish(.transportError)
    }

    @usableFromInline mutating func slowWebSocket(_ backlog: Int) -> [Action] {
        [.log("\(backlog) bytes queued for a client that does not read (limit \(configuration.maxQueuedBytes)): closing as a slow consumer"),
         .closeWebSocket(.policyViolation, "slow consumer: could not keep up with the session")]
            + finish(.transportError) + [.abortWebSocket]
    }

    /// A control packet (ping, pong, close) on the current transport.
    private mutating func sendControl(_ type: EngineIOPacketType, _ data: [UInt8] = []) -> [Action] {
        switch sendRoute {
        case .webSocket: return [.sendOnWebSocket(Packet(text: [type.digit] + data))]
        case .queue: return enqueue(Packet(text: [type.digit] + data))
        case .drop: return []
        }
    }

    // MARK: Polling

    /// A long poll (GET) arrived. `heldPollGone`: the driver found the held poll's exchange over
    /// already (nothing can be answered on it), so it does not count as outstanding.
    public mutating func pollArrived(heldPollGone: Bool = false) -> [Action] {
        guard transport == .polling, state != .closed else { return [.respond(.error(.badRequest))] }
        if heldPollGone { holdsPoll = false }
        if holdsPoll {
            // Two long polls at once break the transport's contract: the first gets a close
            // packet, the second an error, and the session ends.
            holdsPoll = false
            return [.log("overlapping long polls"), .answerHeldPoll(Self.closePacket), .respond(.error(.badRequest))]
                + finish(.transportError)
        }
        if state == .upgrading {
            // The client must see its poll end before it can complete the upgrade.
            return [.respond(.packets(Self.noopPacket))]
        }
        holdsPoll = true
        return [.holdPoll] + flushPoll()
    }

    /// The held long poll's connection went away before it was answered.
    public mutating func heldPollAbandoned() -> [Action] {
        guard holdsPoll else { return [] }
        holdsPoll = false
        return finish(.transportClose)
    }

    /// The held long poll was found gone when the driver came to answer it (the answer was not
    /// sent): the client is gone.
    public mutating func heldPollLost() -> [Action] {
        holdsPoll = false
        return finish(.transportClose)
    }

    /// A POST of `byteCount` bytes arrived: `nil` means decode it and feed each packet to
    /// `receive`/`receiveBinary`, then call `postEnded` (or `postFailed`); otherwise perform
    /// these (it is refused).
    public mutating func postArrived(byteCount: Int) -> [Action]? {
        guard transport == .polling, state != .closed else { return [.respond(.error(.badRequest))] }
        guard byteCount <= configuration.maxPayload else {
            return [.respond(.payloadTooLarge)] + finish(.payloadTooLarge)
        }
        inPost = true
        return nil
    }

    /// The POST's packets are all received: it is answered, and what its packets caused goes out
    /// in one response to the held poll.
    public mutating func postEnded() -> [Action] {
        inPost = false
        return [.respond(.ok)] + flushPoll()
    }

    /// The POST's body did not decode: nothing of it was delivered, and the session ends.
    public mutating func postFailed(_ error: EngineIOProtocolError) -> [Action] {
        inPost = false
        return [.log("bad payload: \(error)"), .respond(.error(.badRequest))] + finish(.parseError)
    }

    /// Answers the held long poll with everything queued; a closing session then ends.
    private mutating func flushPoll() -> [Action] {
        guard !inPost, transport == .polling, state != .upgrading, !queue.isEmpty, holdsPoll else { return [] }
        holdsPoll = false
        var actions: [Action] = [.answerHeldPoll(Self.payload(queue))]
        queue.removeAll(keepingCapacity: true)
        queuedBytes = 0
        if state == .closing { actions += finish(closingReason) }
        return actions
    }

    /// The polling payload of `packets`: each in its polling form, separated by 0x1E.
    public static func payload(_ packets: [Packet]) -> [UInt8] {
        var body: [UInt8] = []
        body.reserveCapacity(packets.reduce(packets.count) { $0 + $1.queuedByteCount })
        for (i, packet) in packets.enumerated() {
            if i > 0 { body.append(EngineIOPayload.separator) }
            packet.appendPolling(to: &body)
        }
        return body
    }

    public static var closePacket: [UInt8] { [EngineIOPacketType.close.digit] }
    public static var noopPacket: [UInt8] { [EngineIOPacketType.noop.digit] }

    // MARK: Receiving

    /// A text packet from the client, on either transport (`now` feeds the heartbeat).
    @inlinable
    public mutating func receive(_ type: EngineIOPacketType, _ data: UnsafeRawBufferPointer, now: UInt64) -> Reaction {
        guard isOpen else { return .none }
        if type == .message { return .deliver }
        return receiveControl(type, data, now: now)
    }

    @usableFromInline mutating func receiveControl(_ type: EngineIOPacketType, _ data: UnsafeRawBufferPointer, now: UInt64) -> Reaction {
        switch type {
        case .message:
            return .deliver
        case .pong:
            guard keepalive.awaitingAnswer else { return .none }
            keepalive.heard(now: now)
            return .perform([.armTimer(.heartbeat, configuration.pingInterval)])
        case .ping:
            // Clients of protocol v4 do not ping, but answering costs nothing and keeps a
            // probing or older client happy.
            return .perform(sendControl(.pong, Array(data)))
        case .close:
            return .perform(finish(.transportClose))
        case .open, .upgrade, .noop:
            return .none  // meaningless here; the reference server ignores them too
        }
    }

    /// A binary message from the client: whether to deliver it.
    @inlinable
    public func receiveBinary() -> Bool { isOpen }

    /// A packet that does not decode, on the WebSocket transport: the session ends.
    public mutating func receiveFailed(_ error: EngineIOProtocolError) -> [Action] {
        finish(.parseError)
    }

    // MARK: Heartbeat and timers

    /// A timer the machine armed went off at `now`.
    public mutating func timerFired(_ timer: Timer, now: UInt64) -> [Action] {
        guard state != .closed else { return [] }  // a stale timer: the session ended
        switch timer {
        case .heartbeat:
            // The timer runs from the last pong (re-armed there), so "quiet" means "no pong".
            switch keepalive.timerFired(now: now, interval: configuration.pingInterval, answerTimeout: configuration.pingTimeout) {
            case .timedOut:
                return [.log("no pong within the ping timeout")] + finish(.pingTimeout)
            case .wait(let left):
                return isOpen ? [.armTimer(.heartbeat, left)] : []
            case .ping(let deadline):
                guard isOpen else { return [] }
                // The ping may not fit in the queue: the session is then closed, and its timer stays off.
                let sent = sendControl(.ping)
                return isOpen ? sent + [.armTimer(.heartbeat, deadline)] : sent
            }
        case .closing:
            return finish(closingReason)
        case .upgrade:
            guard probing, isOpen else { return [] }
            return dropProbe(.policyViolation, "upgrade timed out")
        }
    }

    // MARK: Upgrade

    /// The close reason of a probe refused because the session cannot upgrade now.
    public static var refusedProbeReason: String { "session cannot upgrade" }

    /// A WebSocket with this session's id opened to probe the upgrade. Nil: refused (the session
    /// is not open on polling, or upgrades are off): close it with 1008 and `refusedProbeReason`.
    /// Otherwise it is the probe (a probe still open is let go for it) and has `upgradeTimeout`
    /// to send `5`.
    public mutating func probeOpened() -> [Action]? {
        guard acceptsUpgrade else { return nil }
        var actions = probing ? dropProbe(.normal, "") : []
        probing = true
        actions.append(.armTimer(.upgrade, configuration.upgradeTimeout))
        return actions
    }

    /// A text packet on the probing WebSocket: `2probe`, then `5`, and nothing else.
    public mutating func probeReceived(_ type: EngineIOPacketType, _ data: UnsafeRawBufferPointer) -> [Action] {
        guard probing, isOpen else { return [] }
        switch type {
        case .ping where state == .open && data.elementsEqual("probe".utf8):
            // From now on long polls end at once with a noop and packets wait for the new transport.
            state = .upgrading
            var actions: [Action] = [.sendOnProbe(Array("3probe".utf8))]
            if holdsPoll {
                holdsPoll = false
                actions.append(.answerHeldPoll(Self.noopPacket))
            }
            return actions
        case .upgrade where state == .upgrading:
            // The probe becomes the transport, and what queued during the upgrade goes out on it.
            probing = false
            state = .open
            transport = .websocket
            var actions: [Action] = [.cancelTimer(.upgrade), .adoptProbe]
            if holdsPoll {
                holdsPoll = false
                actions.append(.answerHeldPoll(Self.noopPacket))
            }
            for packet in queue { actions.append(.sendOnWebSocket(packet)) }
            queue.removeAll()
            queuedBytes = 0
            return actions
        default:
            return dropProbe(.protocolError, "expected the upgrade probe")
        }
    }

    /// Binary data on the probing WebSocket, before the upgrade: not allowed.
    public mutating func probeReceivedBinary() -> [Action] {
        guard probing, isOpen else { return [] }
        return dropProbe(.protocolError, "binary data before the upgrade")
    }

    /// The probing WebSocket closed (or failed) before the upgrade completed: stay on polling,
    /// and what waited goes to the next long poll.
    public mutating func probeClosed() -> [Action] {
        guard probing else { return [] }
        return dropProbe(nil, "")
    }

    /// Forgets the probe (closing it with `code` unless it is closed already) and goes back to
    /// polling: what waited goes to the next long poll.
    private mutating func dropProbe(_ code: WebSocketCloseCode?, _ reason: String) -> [Action] {
        probing = false
        var actions: [Action] = [.cancelTimer(.upgrade)]
        if let code { actions.append(.closeProbe(code, reason)) }
        if state == .upgrading {
            state = .open
            actions += flushPoll()
        }
        return actions
    }

    // MARK: Closing

    /// The WebSocket transport closed (whoever closed it).
    public mutating func webSocketClosed() -> [Action] {
        finish(.transportClose)
    }

    /// Closes for `reason`. A close by the server (`forcedClose`, `serverShutdown`) first delivers
    /// what is queued and a close packet; any other reason ends the session at once.
    public mutating func close(_ reason: EngineIOCloseReason) -> [Action] {
        guard isOpen else { return state == .handshake ? finish(reason) : [] }
        guard reason == .forcedClose || reason == .serverShutdown else { return finish(reason) }
        if sendRoute == .webSocket {
            return sendControl(.close)
                + [.closeWebSocket(reason == .serverShutdown ? .goingAway : .normal, "")]
                + finish(reason)
        }
        // Polling (or upgrading): the close packet leaves with the next long poll (at once if one
        // is held); a client that does not come back within the ping timeout is not waited for.
        let wasInPost = inPost
        inPost = true
        var actions = sendControl(.close)
        inPost = wasInPost
        guard isOpen else { return actions }  // the close packet did not fit: closed already
        state = .closing
        closingReason = reason
        actions += flushPoll()
        if state == .closing { actions.append(.armTimer(.closing, configuration.pingTimeout)) }
        return actions
    }

    /// Ends the session: its timers stop, a held poll is answered, its WebSockets close, and the
    /// driver is told. Runs once; later calls return nothing.
    private mutating func finish(_ reason: EngineIOCloseReason) -> [Action] {
        guard state != .closed else { return [] }
        state = .closed
        inPost = false
        var actions: [Action] = [.cancelTimer(.heartbeat), .cancelTimer(.closing)]
        if holdsPoll {
            holdsPoll = false
            // A client that asked to close gets a noop (its poll just ends); otherwise the poll
            // carries the close packet, as the reference server does.
            actions.append(.answerHeldPoll(reason == .transportClose ? Self.noopPacket : Self.closePacket))
        }
        queue.removeAll()
        queuedBytes = 0
        if transport == .websocket {
            let code: WebSocketCloseCode = reason == .parseError ? .protocolError : reason == .serverShutdown ? .goingAway : .normal
            actions.append(.closeWebSocket(code, ""))
        }
        if probing { actions += dropProbe(.normal, "") }
        actions.append(.finished(reason))
        return actions
    }
}
