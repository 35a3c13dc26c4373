/// The errors the Engine.IO server answers an HTTP request with, as the reference server does:
/// status 400 (403 for `forbidden`) and a JSON body `{"code":N,"message":"..."}`.
public enum EngineIORequestError: Int, Error, Sendable, CaseIterable, CustomStringConvertible {
    /// `transport` is missing or names no transport this server offers.
    case unknownTransport = 0
    /// `sid` names no live session (never issued, or closed since).
    case unknownSessionID = 1
    /// A handshake (no `sid`) that is not a GET.
    case badHandshakeMethod = 2
    /// Anything else the protocol forbids: a request for a transport the session is not on, a
    /// second upgrade, a WebSocket request without the upgrade handshake, a bad payload.
    case badRequest = 3
    /// Refused by the application.
    case forbidden = 4
    /// `EIO` is missing or not 4.
    case unsupportedProtocolVersion = 5

    /// The reference server's message for the code.
    public var message: String {
        switch self {
        case .unknownTransport: "Transport unknown"
        case .unknownSessionID: "Session ID unknown"
        case .badHandshakeMethod: "Bad handshake method"
        case .badRequest: "Bad request"
        case .forbidden: "Forbidden"
        case .unsupportedProtocolVersion: "Unsupported protocol version"
        }
    }

    /// The HTTP status code of the answer.
    public var statusCode: Int { self == .forbidden ? 403 : 400 }

    /// The JSON body of the answer.
    public var body: String { "{\"code\":\(rawValue),\"message\":\"\(message)\"}" }

    public var description: String { "\(message) (code \(rawValue))" }
}

/// The two transports.
public enum EngineIOTransport: String, Sendable {
    case polling
    case websocket
}

/// What an Engine.IO request asks for, decided from its method, query and upgrade header alone
/// (sans I/O): the server then looks the session up and acts.
public enum EngineIORoute: Hashable, Sendable {
    /// `GET ?EIO=4&transport=polling`: open a session on the polling transport.
    case openPolling
    /// A WebSocket handshake without `sid`: open a session on the WebSocket transport.
    case openWebSocket
    /// `GET ...&sid=S`: a long poll for the session's packets.
    case poll(sid: String)
    /// `POST ...&sid=S`: packets from the client.
    case post(sid: String)
    /// A WebSocket handshake with `sid`: a polling session probing the upgrade.
    case upgrade(sid: String)
    /// A request the protocol rejects.
    case reject(EngineIORequestError)

    /// Classifies a request. `eio`, `transport` and `sid` are the decoded query values (nil when
    /// absent); `isWebSocketUpgrade` is whether it carries `Upgrade: websocket`; a transport not
    /// in `enabled` is unknown (the reference server's `transports` option).
    ///
    /// The checks come in the reference server's order: transport, then protocol version, then
    /// the method and the handshake, so a request with several faults gets the same code there
    /// and here.
    public static func classify(
        method: HTTPMethod, eio: String?, transport: String?, sid: String?, isWebSocketUpgrade: Bool,
        enabled: [EngineIOTransport] = [.polling, .websocket]
    ) -> EngineIORoute {
        guard let name = transport, let transport = EngineIOTransport(rawValue: name), enabled.contains(transport) else {
            return .reject(.unknownTransport)
        }
        guard eio == "4" else { return .reject(.unsupportedProtocolVersion) }
        let sid = sid.flatMap { $0.isEmpty ? nil : $0 }
        switch (transport, isWebSocketUpgrade) {
        case (.websocket, true):
            guard method == .get else { return .reject(.badRequest) }
            return sid.map { .upgrade(sid: $0) } ?? .openWebSocket
        case (.websocket, false), (.polling, true):
            return .reject(.badRequest)
        case (.polling, false):
            guard let sid else { return method == .get ? .openPolling : .reject(.badHandshakeMethod) }
            switch method {
            case .get: return .poll(sid: sid)
            case .post: return .post(sid: sid)
            default: return .reject(.badRequest)
            }
        }
    }
}
