import Protocols

/// What a session tells its owner (the Socket.IO layer, or an application speaking raw
/// Engine.IO). All calls come on the loop's thread.
///
/// Payloads are borrowed for the call only: they point into the request body of a polling POST or
/// into a WebSocket message, both reused by the next request or message. Copy what must outlive
/// the call with `String(text)` or `[UInt8](data)` (the convention for every borrowed view: see
/// Protocols' OwnedCopies.swift). The Socket.IO layer does: its handlers get owned values.
public protocol EngineIOSessionDelegate: AnyObject {
    /// A text message (the data after the `4`).
    func engineIOSession(_ session: EngineIOSession, didReceiveText text: UnsafeRawBufferPointer)
    /// A binary message.
    func engineIOSession(_ session: EngineIOSession, didReceiveBinary data: UnsafeRawBufferPointer)
    /// The session is closed; nothing sent from now on is delivered.
    func engineIOSessionDidClose(_ session: EngineIOSession, reason: EngineIOCloseReason)
}

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
