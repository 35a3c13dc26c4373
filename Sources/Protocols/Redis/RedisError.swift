/// Why a Redis command did not get a reply, or got an error for one.
public enum RedisError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The client is not connected (Redis is down, or the handshake is not done); nothing was
    /// sent. The text is the reason the last attempt failed, if there was one.
    case notConnected(String?)
    /// The connection dropped with the command sent and unanswered: it may or may not have run.
    case connectionLost(String)
    /// Redis answered with an error reply (`-ERR ...`, `!...`); the text is the error.
    case server(String)
    /// The command cannot be sent on this connection (a RESP2 connection in subscribed mode
    /// accepts only subscribe-family commands and PING).
    case invalidCommand(String)
    /// The client was closed (by its owner or a loop shutdown).
    case closed

    public var description: String {
        switch self {
        case .notConnected(let why): "not connected to redis" + (why.map { ": \($0)" } ?? "")
        case .connectionLost(let why): "connection to redis lost before the reply: \(why)"
        case .server(let e): "redis error: \(e)"
        case .invalidCommand(let why): why
        case .closed: "redis client closed"
        }
    }
}

/// How a Redis connection talks and how it copes with a server that goes away. Defaults suit a
/// broker on the same network.
public struct RedisConfiguration: Sendable {
    /// Speak RESP3 (`HELLO 3`): pushes are typed, and one connection can subscribe and run
    /// commands. A server older than Redis 6 refuses HELLO and the client falls back to RESP2.
    public var preferRESP3 = true
    /// Bound on one connect attempt.
    public var connectTimeout: Duration = .seconds(2)
    /// A reply taking longer than this (with the connection otherwise silent) means the server or
    /// the path to it is gone even if TCP has not noticed: the connection is dropped and retried.
    public var replyTimeout: Duration = .seconds(10)
    /// After this long with nothing pending, the client sends PING, so a dead peer is found
    /// within `healthCheckInterval + replyTimeout` even on a connection that only listens.
    public var healthCheckInterval: Duration = .seconds(5)
    /// Delays between reconnect attempts.
    public var backoff = ReconnectBackoff()
    public var limits = RESPLimits.default
    /// Sent as the connection's name (`CLIENT LIST` shows it), if set.
    public var clientName: String?

    public init() {}
}
