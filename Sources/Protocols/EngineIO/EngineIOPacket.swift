/// The seven Engine.IO v4 packet types. On the wire a text packet starts with the type's ASCII
/// digit (`4hello` is a message); a binary packet has no type byte and is always a message.
public enum EngineIOPacketType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case open = 0, close, ping, pong, message, upgrade, noop

    /// The ASCII digit that starts a text packet of this type.
    public var digit: UInt8 { 0x30 + rawValue }

    /// The type whose digit is `digit`, or nil for any other byte.
    public init?(digit: UInt8) {
        guard digit >= 0x30, let type = EngineIOPacketType(rawValue: digit &- 0x30) else { return nil }
        self = type
    }

    public var description: String {
        switch self {
        case .open: "open"
        case .close: "close"
        case .ping: "ping"
        case .pong: "pong"
        case .message: "message"
        case .upgrade: "upgrade"
        case .noop: "noop"
        }
    }
}

/// One Engine.IO packet with its data copied out: what the payload decoder returns and the tests
/// compare. The hot paths (a WebSocket frame, a polling body) decode into borrowed views instead.
public struct EngineIOPacket: Hashable, Sendable, CustomStringConvertible {
    public var type: EngineIOPacketType
    /// The bytes after the type digit (text), or the whole message (binary).
    public var data: [UInt8]
    /// Binary data: sent as a binary WebSocket frame, or as `b<base64>` in a polling payload.
    /// Only messages can be binary.
    public var isBinary: Bool

    public init(_ type: EngineIOPacketType, data: [UInt8] = [], isBinary: Bool = false) {
        precondition(!isBinary || type == .message, "only messages carry binary data")
        self.type = type
        self.data = data
        self.isBinary = isBinary
    }

    /// A text packet: `type` with UTF-8 `text` after its digit.
    public static func text(_ type: EngineIOPacketType, _ text: String = "") -> EngineIOPacket {
        EngineIOPacket(type, data: Array(text.utf8))
    }

    /// A binary message.
    public static func binary(_ bytes: [UInt8]) -> EngineIOPacket {
        EngineIOPacket(.message, data: bytes, isBinary: true)
    }

    /// The data as text (binary data decoded as UTF-8 with replacements, for logs).
    public var text: String { String(decoding: data, as: UTF8.self) }

    public var description: String {
        isBinary ? "binary(\(data.count) bytes)" : "\(type.digit - 0x30)\(text)"
    }

    /// Decodes one text packet (a WebSocket text frame, or a polling segment not starting with
    /// `b`): the type digit, then the data. The data view borrows from `bytes`.
    public static func decodeText(_ bytes: UnsafeRawBufferPointer) throws(EngineIOProtocolError)
        -> (type: EngineIOPacketType, data: UnsafeRawBufferPointer)
    {
        guard let first = bytes.first else { throw .emptyPacket }
        guard let type = EngineIOPacketType(digit: first) else { throw .unknownPacketType(first) }
        return (type, UnsafeRawBufferPointer(rebasing: bytes[1...]))
    }

    /// Appends this packet as one WebSocket message payload would carry it: text with its digit,
    /// binary as is (Engine.IO v4 puts no type byte in binary frames).
    public func writeWebSocketPayload(into out: inout [UInt8]) {
        if !isBinary { out.append(type.digit) }
        out += data
    }
}

/// Why an Engine.IO packet or payload was rejected. Each one ends the session (HTTP 400 for a
/// polling body; the WebSocket is closed), as the protocol's reference server does.
public enum EngineIOProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    /// An empty packet (an empty body, or two separators in a row).
    case emptyPacket
    /// A text packet whose first byte is not a type digit 0...6.
    case unknownPacketType(UInt8)
    /// A `b` packet whose rest is not base64.
    case invalidBase64
    /// A polling body that is not UTF-8 text.
    case invalidUTF8
    /// More packets in one payload than the decoder allows.
    case tooManyPackets

    public var description: String {
        switch self {
        case .emptyPacket: "empty packet"
        case .unknownPacketType(let b): "unknown packet type byte \(b)"
        case .invalidBase64: "binary packet is not valid base64"
        case .invalidUTF8: "payload is not valid UTF-8"
        case .tooManyPackets: "too many packets in one payload"
        }
    }
}
