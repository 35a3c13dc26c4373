/// Why a session ended.
public enum EngineIOCloseReason: Sendable, Hashable, CustomStringConvertible {
    /// The client closed it (a `1` packet), its WebSocket closed, or it abandoned a long poll.
    case transportClose
    /// The client broke the transport's rules (two long polls at once, say).
    case transportError
    /// No pong within `pingTimeout` of a ping.
    case pingTimeout
    /// A packet or payload that does not decode.
    case parseError
    /// A POST body larger than `maxPayload`.
    case payloadTooLarge
    /// The server closed it (`EngineIOSession.close()`).
    case forcedClose
    /// The loop is shutting down.
    case serverShutdown

    /// The reason's name as Socket.IO servers report it.
    public var description: String {
        switch self {
        case .transportClose: "transport close"
        case .transportError: "transport error"
        case .pingTimeout: "ping timeout"
        case .parseError: "parse error"
        case .payloadTooLarge: "payload too large"
        case .forcedClose: "forced close"
        case .serverShutdown: "server shutting down"
        }
    }
}
