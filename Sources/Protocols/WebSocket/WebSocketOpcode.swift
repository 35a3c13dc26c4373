/// A frame's opcode (RFC 6455 5.2).
public struct WebSocketOpcode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    // Computed and inlinable, not `static let`: the glue (another module) names them on every
    // message, and a stored static is reached through a lazy global's addressor.
    @inlinable public static var continuation: WebSocketOpcode { WebSocketOpcode(rawValue: 0x0) }
    @inlinable public static var text: WebSocketOpcode { WebSocketOpcode(rawValue: 0x1) }
    @inlinable public static var binary: WebSocketOpcode { WebSocketOpcode(rawValue: 0x2) }
    @inlinable public static var close: WebSocketOpcode { WebSocketOpcode(rawValue: 0x8) }
    @inlinable public static var ping: WebSocketOpcode { WebSocketOpcode(rawValue: 0x9) }
    @inlinable public static var pong: WebSocketOpcode { WebSocketOpcode(rawValue: 0xA) }

    /// Close, ping and pong: at most 125 bytes of payload, never fragmented.
    @inlinable public var isControl: Bool { rawValue & 0x8 != 0 }
    /// One of the six opcodes RFC 6455 defines; the others are reserved.
    /// (A bit per opcode: 0, 1, 2, 8, 9 and 10 are set in 0x0707.)
    @inlinable public var isKnown: Bool { rawValue < 16 && (UInt16(0x0707) >> UInt16(rawValue)) & 1 != 0 }

    public var description: String {
        switch rawValue {
        case 0x0: "continuation"
        case 0x1: "text"
        case 0x2: "binary"
        case 0x8: "close"
        case 0x9: "ping"
        case 0xA: "pong"
        default: "reserved(\(rawValue))"
        }
    }
}

/// Close status codes (RFC 6455 7.4).
public struct WebSocketCloseCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let normal = WebSocketCloseCode(rawValue: 1000)
    public static let goingAway = WebSocketCloseCode(rawValue: 1001)
    public static let protocolError = WebSocketCloseCode(rawValue: 1002)
    public static let unsupportedData = WebSocketCloseCode(rawValue: 1003)
    /// Never sent: reported when a close frame carried no code.
    public static let noStatus = WebSocketCloseCode(rawValue: 1005)
    /// Never sent: reported when the connection dropped without a close frame.
    public static let abnormal = WebSocketCloseCode(rawValue: 1006)
    public static let invalidPayload = WebSocketCloseCode(rawValue: 1007)
    public static let policyViolation = WebSocketCloseCode(rawValue: 1008)
    public static let messageTooBig = WebSocketCloseCode(rawValue: 1009)
    public static let mandatoryExtension = WebSocketCloseCode(rawValue: 1010)
    public static let internalError = WebSocketCloseCode(rawValue: 1011)
    /// IANA-registered: the server is short of a shared resource for now (a loop's budget for
    /// incomplete messages); the client may retry later.
    public static let tryAgainLater = WebSocketCloseCode(rawValue: 1013)

    /// Whether a peer may send this code in a close frame: the RFC's defined codes that are not
    /// reserved for local use, and the registered (3000-3999) and private (4000-4999) ranges.
    public var isValidOnTheWire: Bool {
        switch rawValue {
        case 1000...1003, 1007...1011: true
        case 3000...4999: true
        default: false
        }
    }

    public var description: String { "\(rawValue)" }
}
