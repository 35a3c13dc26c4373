/// The seven Socket.IO v5 packet types, by their wire digit.
public enum SocketIOPacketType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case connect = 0, disconnect, event, ack, connectError, binaryEvent, binaryAck

    public var digit: UInt8 { 0x30 + rawValue }

    public init?(digit: UInt8) {
        guard digit >= 0x30, let type = SocketIOPacketType(rawValue: digit &- 0x30) else { return nil }
        self = type
    }

    /// BINARY_EVENT and BINARY_ACK: followed by their attachments.
    public var isBinary: Bool { self == .binaryEvent || self == .binaryAck }

    public var description: String {
        switch self {
        case .connect: "CONNECT"
        case .disconnect: "DISCONNECT"
        case .event: "EVENT"
        case .ack: "ACK"
        case .connectError: "CONNECT_ERROR"
        case .binaryEvent: "BINARY_EVENT"
        case .binaryAck: "BINARY_ACK"
        }
    }
}

/// One Socket.IO packet, with its binary attachments once they have all arrived.
///
/// On the wire a packet is one Engine.IO text message,
///
///     <type>[<attachments>-][<namespace>,][<ack id>][<JSON data>]
///     2["hello",1]            0/admin,{"token":"1"}          452-/chat,7["file",{"_placeholder":true,"num":0}]
///
/// followed, for the binary types, by one Engine.IO binary message per attachment. The JSON keeps
/// `{"_placeholder":true,"num":n}` where attachment `n` belongs: `SocketIOArguments` reads and
/// writes them.
public struct SocketIOPacket: Hashable, Sendable, CustomStringConvertible {
    public var type: SocketIOPacketType
    /// `/` unless the packet names another namespace.
    public var namespace: String
    /// The acknowledgement id: on an event, the sender wants an ACK with this id.
    public var id: UInt64?
    public var data: JSONValue?
    public var attachments: [[UInt8]]

    public init(_ type: SocketIOPacketType, namespace: String = "/", id: UInt64? = nil, data: JSONValue? = nil, attachments: [[UInt8]] = []) {
        self.type = type
        self.namespace = namespace
        self.id = id
        self.data = data
        self.attachments = attachments
    }

    public var description: String {
        var s = "\(type) \(namespace)"
        if let id { s += " id=\(id)" }
        if let data { s += " \(data)" }
        if !attachments.isEmpty { s += " +\(attachments.count) attachments" }
        return s
    }
}

/// Why a Socket.IO packet was rejected. Each one closes the Engine.IO session ("parse error"),
/// as the reference server does.
public enum SocketIOProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    case empty
    case unknownPacketType(UInt8)
    /// A binary packet without a valid `<n>-` prefix.
    case invalidAttachmentCount
    /// More attachments than the limit.
    case tooManyAttachments(Int)
    case invalidNamespace
    /// An acknowledgement id that is not a number that fits 64 bits.
    case invalidAckID
    case invalidJSON(JSONError)
    /// Well-formed JSON of the wrong shape for the packet type (an event that is not an array
    /// starting with its name, a CONNECT payload that is not an object, ...).
    case invalidPayload(SocketIOPacketType)
    /// A placeholder whose `num` names no attachment.
    case invalidPlaceholder
    /// A text packet while attachments were still expected.
    case unexpectedText
    /// A binary message when no attachment was expected.
    case unexpectedBinary

    public var description: String {
        switch self {
        case .empty: "empty packet"
        case .unknownPacketType(let b): "unknown packet type byte \(b)"
        case .invalidAttachmentCount: "invalid attachment count"
        case .tooManyAttachments(let n): "too many attachments (\(n))"
        case .invalidNamespace: "invalid namespace"
        case .invalidAckID: "invalid acknowledgement id"
        case .invalidJSON(let e): "invalid JSON: \(e)"
        case .invalidPayload(let t): "invalid payload for \(t)"
        case .invalidPlaceholder: "placeholder without a matching attachment"
        case .unexpectedText: "text packet while binary attachments were expected"
        case .unexpectedBinary: "binary message without a packet expecting it"
        }
    }
}
