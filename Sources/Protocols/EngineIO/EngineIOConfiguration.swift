/// The Engine.IO server's timings and limits. The defaults are the reference server's.
public struct EngineIOConfiguration: Sendable {
    /// How often the server pings each session (`pingInterval` in the handshake).
    public var pingInterval: Duration = .milliseconds(25_000)
    /// How long the server waits for the pong before it closes the session (`pingTimeout`).
    public var pingTimeout: Duration = .milliseconds(20_000)
    /// Largest POST body and largest WebSocket message, in bytes (`maxPayload`). A larger POST is
    /// answered 413 and closes the session; a larger WebSocket message closes it with 1009.
    public var maxPayload = 1_000_000
    /// How long a probing WebSocket may take to send `5` (upgrade) after it opened.
    public var upgradeTimeout: Duration = .milliseconds(10_000)
    /// Most packets a session may hold for a client that is not polling (or is upgrading): past
    /// it the session closes as a slow consumer rather than grow without bound. (A WebSocket
    /// transport is bounded by its connection's own queue limit instead.)
    public var maxQueuedPackets = 10_000
    /// Most bytes a session may hold for a client that does not take them: packets waiting for a
    /// long poll, or, on the WebSocket transport, bytes its connection could not yet write. Past
    /// it the session closes as a slow consumer (logged), as a pub/sub room's `.disconnect`
    /// policy does, rather than hold up to the connection's 16 MiB (or 10,000 packets of any
    /// size). The default is two `maxPayload`s: one large message always fits.
    public var maxQueuedBytes = 2 * 1024 * 1024
    /// Whether sessions may upgrade from polling to WebSocket (`upgrades` in the handshake).
    public var allowUpgrades = true
    /// Which browser origins may open and use sessions, on both transports. Others get 403
    /// (`Forbidden`, code 4); allowed cross-origin pages get CORS answers, preflights included
    /// (the reference server's `cors` option, with credentials). Default: only pages this server
    /// served, and clients that send no `Origin`.
    public var origins = OriginPolicy.sameOrigin
    /// Options of the WebSocket transport. Its own keepalive pings are turned off (Engine.IO
    /// pings at its own layer) and its message limits follow `maxPayload`.
    public var webSocket = WebSocketConfiguration()

    public init() {}

    /// The WebSocket configuration a transport actually uses.
    package var effectiveWebSocket: WebSocketConfiguration {
        var c = webSocket
        c.pingInterval = nil
        c.origins = origins
        c.limits.maxMessageSize = maxPayload
        c.limits.maxFrameSize = maxPayload
        return c
    }
}

/// The open packet's data, and the session ids it carries.
public enum EngineIOHandshake {
    /// The JSON of the open packet: `{"sid":…,"upgrades":[…],"pingInterval":…,"pingTimeout":…,"maxPayload":…}`.
    public static func openPacketData(sid: String, upgrades: [String], configuration c: EngineIOConfiguration) -> [UInt8] {
        let value: JSONValue = [
            "sid": .string(sid),
            "upgrades": .array(upgrades.map { .string($0) }),
            "pingInterval": .int(milliseconds(c.pingInterval)),
            "pingTimeout": .int(milliseconds(c.pingTimeout)),
            "maxPayload": .int(Int64(c.maxPayload)),
        ]
        return value.serializedBytes()
    }

    static func milliseconds(_ d: Duration) -> Int64 {
        let (s, atto) = d.components
        return s * 1000 + atto / 1_000_000_000_000_000
    }

    /// A new random session id: 20 characters of the URL-safe base64 alphabet (120 random bits,
    /// from two draws of the system generator), safe in a query string without escaping.
    public static func makeSessionID() -> String {
        var generator = SystemRandomNumberGenerator()
        return makeSessionID(using: &generator)
    }

    /// A session id drawn from `generator` (tests pass a seeded one).
    public static func makeSessionID<G: RandomNumberGenerator>(using generator: inout G) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var bits = (UInt64.random(in: .min ... .max, using: &generator), UInt64.random(in: .min ... .max, using: &generator))
        var out = [UInt8]()
        out.reserveCapacity(20)
        for i in 0..<20 {
            // The first ten characters from the first word, the next ten from the second.
            if i < 10 {
                out.append(alphabet[Int(bits.0 & 63)])
                bits.0 >>= 6
            } else {
                out.append(alphabet[Int(bits.1 & 63)])
                bits.1 >>= 6
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
