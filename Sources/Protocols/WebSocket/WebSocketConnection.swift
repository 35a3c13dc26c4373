/// The connection rules of RFC 6455 for one WebSocket, either role, sans-I/O: the state
/// (connecting, open, closing, closed), the closing handshake (7.1.x), answering pings, keepalive
/// pings with their pong deadline, and the deadline of a message begun and not finished. It never
/// touches a socket or a clock: the driver passes the time in (`now`, nanoseconds on any monotonic
/// clock) and performs the `Actions` each input returns, in their documented order.
///
///     connecting --open--> open --close(code) by us------> closing --peer's close / timer--> (transport closes)
///                           |  --peer's close: echo it----> closing --transport closes------> closed
///                           |  --protocol failure: 1002..-> closing --transport closes------> closed
///
/// The peer's frames come from a `WebSocketEndpoint` (the message layer) that the driver holds
/// beside this machine, not inside it: a delivered message is borrowed from the input, so the
/// application reads it (and usually answers it, calling `close` or sending) while the endpoint is
/// still inside `process`. Were the endpoint a part of this value, that answer would be a second
/// access to the machine during the first, which Swift's exclusivity rules forbid. So the driver
/// runs `endpoint.process`, hands each event to `receive(_:)`, and performs the returned actions
/// after the call has returned: no input ever calls out, and each returns its actions inline, so
/// the path of a message allocates nothing.
public struct WebSocketConnection {
    public enum State: Equatable, Sendable { case connecting, open, closing, closed }

    // Stored fields widest first: 30 bytes, in every idle socket (a test holds it to that). No
    // role: the rules here are the same for both (the endpoint and the frame writer, which
    // differ, carry theirs).

    /// Why the connection closed (or is closing): the reason of the peer's close frame, of ours,
    /// or of our failure ("" when none was given).
    public private(set) var closeReason: String {
        get { String(decoding: closeReasonUTF8, as: UTF8.self) }
        set { closeReasonUTF8 = Array(newValue.utf8) }
    }
    /// `closeReason` as UTF-8: 8 bytes where a String takes 16, and set only by a close.
    private var closeReasonUTF8: [UInt8] = []
    /// The timings, shared with the other sockets of the configuration.
    public let settings: WebSocketSettings
    public var timings: Timings { settings.timings }
    /// When we last heard from the peer (drives keepalive, whose rule is `Keepalive.decide`; the
    /// two fields stay here rather than in a `Keepalive` value, which would not pack into the
    /// 30 bytes above). 32-bit instants: 4 bytes each where the clock's reading takes 8.
    @usableFromInline var lastHeard = CoarseInstant(0)
    /// When the incomplete message began, nil when none is: `messageTimeout` runs from it.
    @usableFromInline var messageStarted: CoarseInstant?
    /// The code the connection closed (or is closing) with: the peer's, ours, or `.abnormal`
    /// (1006) while no close frame went either way.
    public private(set) var closeCode = WebSocketCloseCode.abnormal
    public private(set) var state = State.connecting
    /// A keepalive ping went out and nothing has come back since.
    @usableFromInline var awaitingPong = false

    public init(settings: WebSocketSettings) {
        self.settings = settings
    }

    /// A machine with settings of its own.
    public init(timings: Timings) {
        self.init(settings: WebSocketSettings(timings: timings))
    }

    /// Whether messages may be sent (and are delivered): open, not connecting, closing or closed.
    public var isOpen: Bool { state == .open }

    // MARK: Inputs

    /// The opening handshake is done (the driver tells the application after these actions).
    public mutating func open(now: UInt64) -> Actions {
        guard state == .connecting else { return Actions() }
        state = .open
        lastHeard = CoarseInstant(now)
        var a = Actions()
        if let interval = timings.pingInterval { a.arm(interval) }
        return a
    }

    /// Starts the closing handshake (RFC 6455 7.1.2): our close frame goes out and the peer has
    /// `closeTimeout` to answer it. An error code (not 1000, 1001 or an application's 3000+) is a
    /// failure the application hears of first. Before the socket opened, the transport just closes.
    public mutating func close(_ code: WebSocketCloseCode = .normal, reason: String = "") -> Actions {
        var a = Actions()
        switch state {
        case .connecting:
            state = .closing
            a.closeTransport(.afterFlush)
        case .open:
            if code != .normal && code != .goingAway && code.rawValue < 3000 { a.insert(.willFail, code) }
            a.insert(.sendClose, code)
            closeCode = code
            closeReason = reason
            state = .closing
            a.arm(timings.closeTimeout)
        case .closing, .closed:
            break
        }
        return a
    }

    /// Bytes arrived from the peer, about to go through the endpoint: false when they are to be
    /// dropped unread (nothing is read before the socket opens, or after it closed).
    // @inlinable: the glue (another module) calls these three on every read; a call across the
    // module boundary cost ~10% of a 32-byte echo's instructions.
    @inlinable @inline(__always)
    public mutating func bytesArrived(now: UInt64) -> Bool {
        guard state == .open || state == .closing else { return false }
        lastHeard = CoarseInstant(now)
        awaitingPong = false  // any frame is as good as a pong: the peer is alive
        return true
    }

    /// One event of the endpoint. Its payload stays the driver's: `deliver` means hand the event
    /// to the application, `sendPong` means answer the ping with its own payload.
    @inlinable @inline(__always)
    public mutating func receive(_ event: WebSocketEvent) -> Actions {
        switch event {
        case .text, .binary:
            return state == .open ? Actions(.deliver) : Actions()
        default:
            return receiveOther(event)
        }
    }

    /// The rest of `receive`: kept out of line, so that the path of a message stays small enough
    /// to inline into the driver.
    @usableFromInline mutating func receiveOther(_ event: WebSocketEvent) -> Actions {
        switch event {
        case .text, .binary:
            return Actions()  // handled by `receive`
        case .ping:
            return state == .open ? Actions(.sendPong) : Actions()
        case .pong:
            return state == .open || state == .closing ? Actions(.deliver) : Actions()
        case .close(let code, let reason):
            var a = Actions()
            switch state {
            case .open:
                // The peer starts the handshake: answer with its code, as RFC 6455 5.5.1 suggests
                // (7.1.5), then close the TCP connection (7.1.1: the server closes first; our
                // client does too rather than wait on a peer that may never do it).
                a.insert(.echoClose, code)
                closeCode = code
                closeReasonUTF8 = Array(reason)
            case .closing:
                break  // the answer to ours (7.1.2); closeCode stays ours
            case .connecting, .closed:
                return a
            }
            state = .closing
            a.closeTransport(.afterFlush)
            return a
        case .failure(let code, let reason):
            return fail(code, reason)
        }
    }

    /// The endpoint consumed what it could of one read; `messageIncomplete` is its
    /// `isMessageIncomplete`. A message that spans reads starts its deadline here; only those come
    /// past the first test, so the one-read path costs a comparison.
    @inlinable @inline(__always)
    public mutating func readEnded(messageIncomplete: Bool, now: UInt64) -> Actions {
        guard messageIncomplete != (messageStarted != nil) else { return Actions() }
        return messageStartedOrEnded(messageIncomplete, now: now)
    }

    @usableFromInline mutating func messageStartedOrEnded(_ messageIncomplete: Bool, now: UInt64) -> Actions {
        guard messageIncomplete, state == .open else {
            messageStarted = nil
            return Actions()
        }
        messageStarted = CoarseInstant(now)
        // The one timer now serves both: the keepalive ping is due no sooner than `pingInterval`
        // from now (we just heard from the peer).
        var a = Actions()
        a.arm(timings.pingInterval.map { min($0, timings.messageTimeout) } ?? timings.messageTimeout)
        return a
    }

    /// The timer the last `armTimer` asked for went off.
    public mutating func timerFired(now: UInt64) -> Actions {
        var a = Actions()
        switch state {
        case .connecting, .closing:
            // The peer did not answer our close (7.1.1's timeout), or never opened: drop it.
            a.closeTransport(.timedOut)
        case .closed:
            break
        case .open:
            var messageLeft: Duration?
            if let messageStarted {
                let left = timings.messageTimeout - messageStarted.elapsed(until: now)
                if left <= .zero {
                    // The peer began a message and did not finish it in time: what it holds is
                    // released now, whatever the keepalive says.
                    self.messageStarted = nil
                    a = fail(.policyViolation, "message not finished within \(timings.messageTimeout)")
                    a.insert(.discardIncompleteMessage)
                    return a
                }
                messageLeft = left
            }
            var next: Duration?
            // `awaitingPong` is only ever set with a ping interval: without one there is no
            // keepalive, and the timer serves the message deadline alone.
            if let interval = timings.pingInterval {
                switch Keepalive.decide(quietFor: lastHeard.elapsed(until: now), awaitingAnswer: awaitingPong,
                                        interval: interval, answerTimeout: timings.pongTimeout) {
                case .timedOut:
                    closeReason = "no pong within the deadline"
                    a.closeTransport(.timedOut)
                    return a
                case .wait(let left):
                    next = left
                case .ping(let deadline):
                    a.insert(.sendPing)
                    awaitingPong = true
                    next = deadline
                }
            }
            if let messageLeft { next = min(next ?? messageLeft, messageLeft) }
            if let next { a.arm(next) }
        }
        return a
    }

    /// The peer closed its side of TCP (end of file): nothing more will come, close ours.
    public mutating func transportEnded() -> Actions {
        guard state != .closed else { return Actions() }
        var a = Actions()
        a.closeTransport(.peerClosed)
        return a
    }

    /// The transport is closed (whoever closed it): the machine is done.
    public mutating func transportClosed() {
        state = .closed
        messageStarted = nil
    }

    /// The peer broke the protocol: tell the application, send our close frame with the code if
    /// none went yet, and close the transport without waiting for the peer's answer (7.1.7).
    private mutating func fail(_ code: WebSocketCloseCode, _ reason: String) -> Actions {
        var a = Actions()
        guard state != .closed else { return a }
        a.insert(.willFail, code)
        if state == .open { a.insert(.sendClose, code) }
        closeCode = code
        closeReason = reason
        state = .closing
        a.closeTransport(.protocolError(code))
        return a
    }
}

extension WebSocketConnection {
    /// What the driver does after an input. Kept as flags and a few values rather than a list so
    /// that returning one costs no allocation; `list` spells them out in order.
    ///
    /// Order to perform them in: discard the incomplete message, tell the application of the
    /// failure (`closeReason` says why), deliver the event, send the pong, the ping, then the
    /// close frame, arm the timer, close the transport.
    public struct Actions: Equatable, Sendable {
        public struct Kind: OptionSet, Equatable, Sendable {
            public let rawValue: UInt8
            @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }
            // Computed and inlinable, not `static let`: the glue (another module) tests these on
            // every message, and a stored static is reached through a lazy global's addressor.
            /// Drop the endpoint's incomplete message (`discardIncompleteMessage`).
            @inlinable public static var discardIncompleteMessage: Kind { Kind(rawValue: 1 << 0) }
            /// Tell the application we fail the connection with `code` (and `closeReason`).
            @inlinable public static var willFail: Kind { Kind(rawValue: 1 << 1) }
            /// Hand the event just received to the application.
            @inlinable public static var deliver: Kind { Kind(rawValue: 1 << 2) }
            /// Answer the ping just received with a pong carrying its payload.
            @inlinable public static var sendPong: Kind { Kind(rawValue: 1 << 3) }
            /// Send an empty keepalive ping.
            @inlinable public static var sendPing: Kind { Kind(rawValue: 1 << 4) }
            /// Send our close frame: `code` and the machine's `closeReason`.
            @inlinable public static var sendClose: Kind { Kind(rawValue: 1 << 5) }
            /// Send the peer's close code back, with no reason.
            @inlinable public static var echoClose: Kind { Kind(rawValue: 1 << 6) }
        }

        /// How the transport is to close.
        public enum TransportClose: Equatable, Sendable {
            /// The close handshake is done: write what is queued (our close frame), then close.
            case afterFlush
            /// A protocol failure: our close frame (if any) is queued, then close.
            case protocolError(WebSocketCloseCode)
            /// A deadline passed (close answer, pong): close without flushing.
            case timedOut
            /// The peer ended the TCP stream.
            case peerClosed
        }

        /// One action, for tests and descriptions (the driver reads the fields).
        public enum Action: Equatable, Sendable {
            case discardIncompleteMessage, willFail(WebSocketCloseCode), deliver, sendPong, sendPing
            case sendClose(WebSocketCloseCode), echoClose(WebSocketCloseCode), armTimer(Duration), closeTransport(TransportClose)
        }

        public private(set) var kinds: Kind
        /// The code of `willFail`, `sendClose` or `echoClose`.
        public private(set) var code = WebSocketCloseCode.abnormal
        /// When set, (re)arm the connection's one timer to this delay.
        public private(set) var timer: Duration?
        /// Set when the transport is to close, after everything else.
        public private(set) var closeTransport: TransportClose?

        @usableFromInline init(_ kinds: Kind = []) { self.kinds = kinds }

        public var isEmpty: Bool { kinds.isEmpty && timer == nil && closeTransport == nil }

        public func contains(_ kind: Kind) -> Bool { kinds.contains(kind) }

        mutating func insert(_ kind: Kind, _ code: WebSocketCloseCode? = nil) {
            kinds.insert(kind)
            if let code { self.code = code }
        }

        mutating func arm(_ delay: Duration) { timer = delay }

        mutating func closeTransport(_ how: TransportClose) { closeTransport = how }

        /// The actions in the order the driver performs them.
        public var list: [Action] {
            var out: [Action] = []
            if contains(.discardIncompleteMessage) { out.append(.discardIncompleteMessage) }
            if contains(.willFail) { out.append(.willFail(code)) }
            if contains(.deliver) { out.append(.deliver) }
            if contains(.sendPong) { out.append(.sendPong) }
            if contains(.sendPing) { out.append(.sendPing) }
            if contains(.sendClose) { out.append(.sendClose(code)) }
            if contains(.echoClose) { out.append(.echoClose(code)) }
            if let timer { out.append(.armTimer(timer)) }
            if let closeTransport { out.append(.closeTransport(closeTransport)) }
            return out
        }
    }

    /// The timings a connection runs with, in milliseconds packed into 20 bytes rather than the
    /// configuration's Durations.
    public struct Timings: Equatable, Sendable {
        private let pingMilliseconds: UInt32  // 0: no keepalive
        private let pongMilliseconds: UInt32
        private let closeMilliseconds: UInt32
        private let messageMilliseconds: UInt32
        /// Not a timing, but packed here for the same reason (see `WebSocketConfiguration`).
        public let compressionThreshold: UInt32

        /// The defaults are `WebSocketConfiguration`'s (which builds these with `init(_:)`).
        public init(pingInterval: Duration? = .seconds(30), pongTimeout: Duration = .seconds(20), closeTimeout: Duration = .seconds(5),
                    messageTimeout: Duration = .seconds(30), compressionThreshold: Int = 1024) {
            pingMilliseconds = pingInterval.map { Self.milliseconds($0) } ?? 0
            pongMilliseconds = Self.milliseconds(pongTimeout)
            closeMilliseconds = Self.milliseconds(closeTimeout)
            messageMilliseconds = Self.milliseconds(messageTimeout)
            self.compressionThreshold = UInt32(clamping: compressionThreshold)
        }

        /// Send a ping after this long without hearing from the peer; nil: no keepalive.
        public var pingInterval: Duration? { pingMilliseconds == 0 ? nil : .milliseconds(pingMilliseconds) }
        public var pongTimeout: Duration { .milliseconds(pongMilliseconds) }
        public var closeTimeout: Duration { .milliseconds(closeMilliseconds) }
        public var messageTimeout: Duration { .milliseconds(messageMilliseconds) }

        /// Whole milliseconds, at least 1 (0 means "off" for the ping interval).
        private static func milliseconds(_ d: Duration) -> UInt32 {
            let (seconds, attoseconds) = d.components
            return UInt32(clamping: max(1, seconds * 1000 + attoseconds / 1_000_000_000_000_000))
        }
    }
}
