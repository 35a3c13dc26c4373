/// A frame header as read from the wire.
public struct WebSocketFrameHeader: Hashable, Sendable {
    public var fin: Bool
    /// RSV1 (permessage-deflate's "compressed" bit), RSV2, RSV3 as the top three bits.
    public var reservedBits: UInt8
    public var opcode: WebSocketOpcode
    public var maskKey: UInt32?
    public var payloadLength: Int

    public var rsv1: Bool { reservedBits & 0x4 != 0 }
}

/// What `WebSocketFrameDecoder.next` found.
public enum WebSocketFrameEvent {
    /// Not enough bytes for the next step: keep the unconsumed bytes and call again with more.
    case needMoreData
    /// A frame header and the first piece of its payload (possibly empty), unmasked in place.
    /// `isFrameComplete` tells whether the payload ends with this piece.
    case frame(WebSocketFrameHeader, payload: Range<Int>, isFrameComplete: Bool)
    /// A further piece of the current frame's payload, unmasked in place.
    case payload(Range<Int>, isFrameComplete: Bool)
    /// The bytes break RFC 6455: close the connection with `code`.
    case error(WebSocketCloseCode, reason: StaticString)
}

/// Splits a byte stream into frames, sans-I/O, with no copies: payload ranges point into the
/// input, unmasked in place (so the input must be writable: the reactor's receive buffer is).
///
/// Only consumed bytes are ever unmasked, so bytes handed back unconsumed (an incomplete header,
/// an incomplete control frame) are presented again unchanged, as the reactor's contract requires.
/// Control frames are returned whole (they are at most 127 bytes); data frames in pieces as the
/// input allows, so a 16 MiB frame never has to fit in a buffer here.
///
/// Frame-level rules are checked here: reserved bits (unless an extension allows RSV1), reserved
/// opcodes, masking by role, control frame length and fragmentation, non-minimal lengths, the
/// frame size limit. Message-level rules (continuation order, UTF-8, message size) belong to
/// `WebSocketEndpoint`.
public struct WebSocketFrameDecoder {
    public enum Role: Sendable { case server, client }

    // 16 bytes: a decoder lives in every idle WebSocket (issue 18), so sizes are 32-bit (no frame
    // over `maxFrameSize` is ever taken, and that is at most 4 GiB - 1) and the mask key is not an
    // Optional (0 stands for none: masking with 0 changes nothing, so it is the same thing).
    /// Payload bytes of the current frame not yet returned.
    private var remainingBytes: UInt32 = 0
    private var frameLimit: UInt32
    private var maskKey: UInt32 = 0
    private var maskOffset: UInt8 = 0
    private var inPayload = false
    /// Set when permessage-deflate is negotiated: RSV1 is then legal on a message's first frame.
    public var allowsRSV1 = false
    public let role: Role

    /// Largest frame payload taken (larger: 1009). Values over 4 GiB - 1 mean 4 GiB - 1.
    public var maxFrameSize: Int {
        get { Int(frameLimit) }
        set { frameLimit = UInt32(clamping: newValue) }
    }
    private var remaining: Int {
        get { Int(remainingBytes) }
        set { remainingBytes = UInt32(truncatingIfNeeded: newValue) }  // 0 ... maxFrameSize
    }
    /// Data frames up to this size are delivered whole (it must stay well below the reactor's
    /// receive buffer, which bounds unconsumed input).
    public static let wholeFrameLimit = 32 * 1024
    private var wholeFrameLimit: Int { Self.wholeFrameLimit }

    public init(role: Role, maxFrameSize: Int = 16 * 1024 * 1024) {
        self.role = role
        self.frameLimit = UInt32(clamping: maxFrameSize)
    }

    public mutating func next(_ input: UnsafeMutableRawBufferPointer) -> (event: WebSocketFrameEvent, consumed: Int) {
        if inPayload {
            let n = min(remaining, input.count)
            guard n > 0 else { return (.needMoreData, 0) }
            unmask(input, 0..<n)
            remaining -= n
            if remaining == 0 { inPayload = false }
            return (.payload(0..<n, isFrameComplete: remaining == 0), n)
        }
        return nextHeader(input)
    }

    private mutating func nextHeader(_ input: UnsafeMutableRawBufferPointer) -> (event: WebSocketFrameEvent, consumed: Int) {
        guard input.count >= 2 else { return (.needMoreData, 0) }
        let b0 = input[0], b1 = input[1]
        let fin = b0 & 0x80 != 0
        let reserved = (b0 >> 4) & 0x7
        let opcode = WebSocketOpcode(rawValue: b0 & 0x0F)
        let masked = b1 & 0x80 != 0
        let length7 = Int(b1 & 0x7F)

        if reserved & 0x3 != 0 || (reserved & 0x4 != 0 && !allowsRSV1) {
            return (.error(.protocolError, reason: "reserved bit set without a negotiated extension"), 0)
        }
        guard opcode.isKnown else { return (.error(.protocolError, reason: "reserved opcode"), 0) }
        if opcode.isControl {
            if !fin { return (.error(.protocolError, reason: "fragmented control frame"), 0) }
            if length7 > 125 { return (.error(.protocolError, reason: "control frame payload over 125 bytes"), 0) }
            if reserved != 0 { return (.error(.protocolError, reason: "reserved bit set on a control frame"), 0) }
        }
        switch role {
        case .server where !masked: return (.error(.protocolError, reason: "client frame not masked"), 0)
        case .client where masked: return (.error(.protocolError, reason: "server frame masked"), 0)
        default: break
        }

        var headerLength = 2
        var length = length7
        if length7 == 126 {
            guard input.count >= 4 else { return (.needMoreData, 0) }
            length = Int(input[2]) << 8 | Int(input[3])
            if length < 126 { return (.error(.protocolError, reason: "non-minimal 16-bit length"), 0) }
            headerLength = 4
        } else if length7 == 127 {
            guard input.count >= 10 else { return (.needMoreData, 0) }
            var l: UInt64 = 0
            for i in 2..<10 { l = l << 8 | UInt64(input[i]) }
            if l >> 63 != 0 { return (.error(.protocolError, reason: "64-bit length with the top bit set"), 0) }
            if l <= 0xFFFF { return (.error(.protocolError, reason: "non-minimal 64-bit length"), 0) }
            if l > UInt64(maxFrameSize) { return (.error(.messageTooBig, reason: "frame larger than the limit"), 0) }
            length = Int(l)
            headerLength = 10
        }
        if length > maxFrameSize { return (.error(.messageTooBig, reason: "frame larger than the limit"), 0) }
        var key: UInt32?
        if masked {
            guard input.count >= headerLength + 4 else { return (.needMoreData, 0) }
            key = UInt32(input[headerLength]) << 24 | UInt32(input[headerLength + 1]) << 16
                | UInt32(input[headerLength + 2]) << 8 | UInt32(input[headerLength + 3])
            headerLength += 4
        }
        let available = input.count - headerLength
        // Control frames are delivered whole; they are tiny, so waiting costs nothing. Data
        // frames up to `wholeFrameLimit` wait to be whole too: the reactor keeps the partial
        // frame (from a pooled buffer), and the whole one is then delivered from the input
        // with no reassembly copy. Larger frames stream through in pieces.
        if available < length && (opcode.isControl || length <= wholeFrameLimit) { return (.needMoreData, 0) }

        let header = WebSocketFrameHeader(fin: fin, reservedBits: reserved, opcode: opcode, maskKey: key, payloadLength: length)
        let piece = min(length, available)
        maskKey = key ?? 0
        maskOffset = 0
        let range = headerLength..<headerLength + piece
        unmask(input, range)
        remaining = length - piece
        inPayload = remaining > 0
        return (.frame(header, payload: range, isFrameComplete: remaining == 0), headerLength + piece)
    }

    private mutating func unmask(_ input: UnsafeMutableRawBufferPointer, _ range: Range<Int>) {
        guard maskKey != 0, !range.isEmpty else { return }
        webSocketApplyMask(UnsafeMutableRawBufferPointer(rebasing: input[range]), key: maskKey, offset: Int(maskOffset))
        maskOffset = UInt8((Int(maskOffset) + range.count) & 3)
    }
}
