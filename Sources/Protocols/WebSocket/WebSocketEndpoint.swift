/// Limits of one WebSocket endpoint. Every one is a parameter with a safe default.
public struct WebSocketLimits: Equatable, Sendable {
    /// Largest single frame payload (a larger frame closes with 1009); at most 4 GiB - 1 (a
    /// larger one is taken as that: the frame decoder, in every idle socket, keeps it in 32 bits).
    public var maxFrameSize = 16 * 1024 * 1024
    /// Largest message, all its fragments together (a larger one closes with 1009).
    public var maxMessageSize = 16 * 1024 * 1024
    /// Bytes that the incomplete messages of all the sockets of one loop may hold together between
    /// reads: reassembly buffers (their capacity), and the decompressor of a compressed message
    /// still arriving. A socket whose message would cross it is failed with 1013 (try again
    /// later). Without it, N sockets could each hold `maxMessageSize`: 200 sockets sending one
    /// unfinished 16 KiB fragment that inflates to 16 MiB would pin 3.2 GiB. The count lives in
    /// the loop's `WebSocketMessageBudget`; each socket checks it against its own limit here.
    public var incompleteMessageBudget = 64 * 1024 * 1024

    public init() {}
}

/// What the peer sent. Payloads are borrowed (from the input or the endpoint's reassembly
/// buffer) and valid only during the callback that receives the event.
public enum WebSocketEvent {
    /// A complete text message, already validated as UTF-8.
    case text(UnsafeRawBufferPointer)
    /// A complete binary message.
    case binary(UnsafeRawBufferPointer)
    case ping(UnsafeRawBufferPointer)
    case pong(UnsafeRawBufferPointer)
    /// The peer's close frame (code `.noStatus` when it carried none); the reason is valid UTF-8.
    case close(WebSocketCloseCode, reason: UnsafeRawBufferPointer)
    /// The peer broke the protocol: close with this code (1002, 1007, 1009, ...).
    case failure(WebSocketCloseCode, reason: String)
}

/// The message layer of RFC 6455, sans-I/O and for either role: reassembles fragmented messages
/// (control frames may arrive between fragments), validates text incrementally so bad UTF-8 fails
/// fast, enforces the message size, and checks close frames. It never writes: answering pings
/// and closes is the glue's job, which keeps this testable without a socket.
///
/// A message that arrives as one frame in one read is delivered straight from the input, with no
/// copy; only fragmented or split messages are gathered in the reassembly buffer, which is released
/// after each message so an idle connection holds nothing.
///
/// What an incomplete message holds between reads (the reassembly buffer's capacity, and the
/// decompressor while a compressed message arrives) is charged to `budget`, shared by the loop's
/// sockets, when `process` returns: a message whose holding would cross
/// `limits.incompleteMessageBudget` fails with 1013. Within one call a message may grow past the
/// budget only as far as one read brings it (and `maxMessageSize` allows); a message that ends in
/// the read is delivered and released before the call returns, so it is never charged. A
/// compressed piece that leaves its message incomplete stops inflating at the budget, so an
/// inflation bomb is not inflated to `maxMessageSize` first.
public struct WebSocketEndpoint {
    // Word-sized fields first, then the small ones packed together: one endpoint lives in every
    // idle socket (62 bytes; issue 18).

    /// Decompresses RSV1 messages once permessage-deflate is negotiated (see `enableDeflate`).
    /// Set only through `enableDeflate`, which also lets the decoder accept RSV1.
    package private(set) var inflater: (any WebSocketInflating)?
    /// The limits and the budget, shared with the other sockets of the configuration.
    public let settings: WebSocketSettings
    private var assembly: [UInt8] = []
    /// The frame rules under the message rules.
    private var decoder: WebSocketFrameDecoder
    /// Bytes charged to `budget` now: 32 bits (a message that would hold 4 GiB or more between
    /// reads is refused as over the budget, whatever the budget).
    private var charged: UInt32 = 0
    private var utf8 = UTF8Validator()
    private var messageOpcode: WebSocketOpcode?  // text or binary while a message is in progress
    private var messageCompressed = false
    private var frameOpcode = WebSocketOpcode.continuation
    private var frameFin = false
    private var failed = false

    public init(role: WebSocketFrameDecoder.Role, settings: WebSocketSettings) {
        self.settings = settings
        self.decoder = WebSocketFrameDecoder(role: role, maxFrameSize: settings.limits.maxFrameSize)
    }

    /// An endpoint with settings of its own.
    public init(role: WebSocketFrameDecoder.Role, limits: WebSocketLimits = WebSocketLimits(), budget: WebSocketMessageBudget? = nil) {
        self.init(role: role, settings: WebSocketSettings(limits: limits, budget: budget))
    }

    public var limits: WebSocketLimits { settings.limits }
    /// The loop-wide count of bytes held by incomplete messages; nil: only `maxMessageSize` bounds them.
    public var budget: WebSocketMessageBudget? { settings.budget }
    private var maxMessageSize: Int { settings.limits.maxMessageSize }
    private var incompleteMessageBudget: Int { settings.limits.incompleteMessageBudget }

    /// Accepts RSV1 on a message's first frame and inflates such messages.
    public mutating func enableDeflate(_ inflater: any WebSocketInflating) {
        self.inflater = inflater
        decoder.allowsRSV1 = true
    }

    /// Whether a protocol failure was reported; further input is then ignored.
    public var hasFailed: Bool { failed }

    /// Whether a message has begun and not ended (its fragments, or its one frame, still arriving).
    public var isMessageIncomplete: Bool { messageOpcode != nil }

    /// Bytes this endpoint holds charged to the loop's budget.
    public var chargedBytes: Int { Int(charged) }

    /// Drops an incomplete message and refunds what it held to the budget (the socket closed).
    public mutating func discardIncompleteMessage() {
        assembly = []
        if messageCompressed && messageOpcode != nil { inflater?.discardMessage() }
        messageOpcode = nil
        refund()
    }

    /// Processes as much of `input` as possible, calling `onEvent` for each event, and returns the
    /// bytes consumed (the rest must be presented again, with more bytes after it).
    public mutating func process(_ input: UnsafeMutableRawBufferPointer, _ onEvent: (WebSocketEvent) -> Void) -> Int {
        var offset = 0
        while !failed {
            let rest = UnsafeMutableRawBufferPointer(rebasing: input[offset...])
            let (event, consumed) = decoder.next(rest)
            offset += consumed
            switch event {
            case .needMoreData:
                if messageOpcode != nil && budget != nil { chargeIncompleteMessage(onEvent) }
                return offset
            case .error(let code, let reason):
                fail(code, "\(reason)", onEvent)
            case .frame(let header, let range, let complete):
                startFrame(header, onEvent)
                if !failed { piece(UnsafeRawBufferPointer(rebasing: rest[range]), complete: complete, onEvent) }
            case .payload(let range, let complete):
                piece(UnsafeRawBufferPointer(rebasing: rest[range]), complete: complete, onEvent)
            }
        }
        return input.count
    }

    private mutating func startFrame(_ h: WebSocketFrameHeader, _ onEvent: (WebSocketEvent) -> Void) {
        frameOpcode = h.opcode
        frameFin = h.fin
        if h.opcode.isControl { return }
        if h.opcode == .continuation {
            guard messageOpcode != nil else { return fail(.protocolError, "continuation frame without a message", onEvent) }
            if h.rsv1 { return fail(.protocolError, "RSV1 on a continuation frame", onEvent) }
        } else {
            guard messageOpcode == nil else { return fail(.protocolError, "new message before the previous one ended", onEvent) }
            messageOpcode = h.opcode
            messageCompressed = h.rsv1
            utf8.reset()
        }
    }

    private mutating func piece(_ bytes: UnsafeRawBufferPointer, complete: Bool, _ onEvent: (WebSocketEvent) -> Void) {
        if frameOpcode.isControl {
            // Control frames arrive whole (the decoder waits for them).
            return control(frameOpcode, bytes, onEvent)
        }
        guard let opcode = messageOpcode else { return }
        let endsMessage = complete && frameFin
        // Fast path: a whole uncompressed message in one piece is delivered from the input.
        if assembly.isEmpty && endsMessage && !messageCompressed {
            if opcode == .text {
                guard utf8.validate(bytes), utf8.isComplete else { return fail(.invalidPayload, "text message is not valid UTF-8", onEvent) }
                onEvent(.text(bytes))
            } else {
                onEvent(.binary(bytes))
            }
            messageOpcode = nil
            return
        }
        if messageCompressed {
            guard let inflater else { return fail(.protocolError, "compressed message without permessage-deflate", onEvent) }
            // A piece that leaves the message incomplete may only grow it as far as the budget
            // allows; an inflation bomb then stops at that, not at the message limit.
            var limit = maxMessageSize
            if !endsMessage, let budget {
                let room = Int(charged) + budget.available(under: incompleteMessageBudget) - inflater.heldBytes
                limit = min(limit, max(assembly.count, room))
            }
            switch inflater.inflate(bytes, endOfMessage: endsMessage, into: &assembly, limit: limit) {
            case .ok: break
            case .tooBig where limit < maxMessageSize: return failOverBudget(onEvent)
            case .tooBig: return fail(.messageTooBig, "message larger than the limit", onEvent)
            case .corrupt: return fail(.invalidPayload, "compressed data is corrupt", onEvent)
            }
            if opcode == .text && endsMessage {
                let valid = assembly.withUnsafeBytes { utf8.validate($0) } && utf8.isComplete
                if !valid { return fail(.invalidPayload, "text message is not valid UTF-8", onEvent) }
            }
        } else {
            if assembly.count + bytes.count > maxMessageSize {
                return fail(.messageTooBig, "message larger than the limit", onEvent)
            }
            // Validate each piece as it arrives, so bad UTF-8 fails at its first impossible byte.
            if opcode == .text && !utf8.validate(bytes) { return fail(.invalidPayload, "text message is not valid UTF-8", onEvent) }
            assembly.append(contentsOf: bytes)
            if opcode == .text && endsMessage && !utf8.isComplete {
                return fail(.invalidPayload, "text message ends inside a UTF-8 sequence", onEvent)
            }
        }
        guard endsMessage else { return }
        refund()
        assembly.withUnsafeBytes { onEvent(opcode == .text ? .text($0) : .binary($0)) }
        assembly = []  // release: an idle connection keeps no reassembly buffer
        messageOpcode = nil
    }

    /// The read ends with a message incomplete: charge what it holds until the next one.
    private mutating func chargeIncompleteMessage(_ onEvent: (WebSocketEvent) -> Void) {
        guard let budget else { return }
        let holding = assembly.capacity + (messageCompressed ? inflater?.heldBytes ?? 0 : 0)
        guard let held = UInt32(exactly: holding),
              budget.recharge(from: Int(charged), to: holding, limit: incompleteMessageBudget) else { return failOverBudget(onEvent) }
        charged = held
    }

    private mutating func refund() {
        guard charged > 0, let budget else { return }
        _ = budget.recharge(from: Int(charged), to: 0, limit: incompleteMessageBudget)
        charged = 0
    }

    private mutating func failOverBudget(_ onEvent: (WebSocketEvent) -> Void) {
        budget?.noteRefusal()
        fail(.tryAgainLater, "the server's memory for incomplete messages is in use: try again later", onEvent)
    }

    private mutating func control(_ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer, _ onEvent: (WebSocketEvent) -> Void) {
        switch opcode {
        case .ping: onEvent(.ping(payload))
        case .pong: onEvent(.pong(payload))
        case .close:
            if payload.count == 0 {
                onEvent(.close(.noStatus, reason: payload))
            } else if payload.count == 1 {
                fail(.protocolError, "close frame with a one-byte payload", onEvent)
            } else {
                let code = WebSocketCloseCode(rawValue: UInt16(payload[0]) << 8 | UInt16(payload[1]))
                guard code.isValidOnTheWire else { return fail(.protocolError, "invalid close code \(code.rawValue)", onEvent) }
                let reason = UnsafeRawBufferPointer(rebasing: payload[2...])
                var v = UTF8Validator()
                guard v.validate(reason), v.isComplete else { return fail(.invalidPayload, "close reason is not valid UTF-8", onEvent) }
                onEvent(.close(code, reason: reason))
            }
            failed = true  // nothing after a close frame is processed
        default:
            break
        }
    }

    private mutating func fail(_ code: WebSocketCloseCode, _ reason: String, _ onEvent: (WebSocketEvent) -> Void) {
        failed = true
        discardIncompleteMessage()
        onEvent(.failure(code, reason: reason))
    }
}
