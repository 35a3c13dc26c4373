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
    /// The transports clients may use (`transports`): a request naming another one gets error 0,
    /// "Transport unknown", and the handshake offers the upgrade only when `.websocket` is here.
    public var transports: [EngineIOTransport] = [.polling, .websocket]
    /// permessage-deflate on the WebSocket transport (`perMessageDeflate`): off by default, as in
    /// the reference server, so a client that offers it gets no extension in the answer. Some
    /// clients (Node's `ws`) compress asynchronously once it is agreed and can reorder their
    /// upgrade packets against concurrent polls; and compression costs CPU on every large
    /// message. On, messages of `threshold` bytes or more are compressed.
    public var perMessageDeflate: EngineIOCompression? = nil
    /// Compression of long-poll answers (`httpCompression`): on by default, as in the reference
    /// server. An answer of `threshold` bytes or more goes out gzip- or deflate-coded when the
    /// request's `Accept-Encoding` takes one (gzip preferred at equal weight). The compressed
    /// body is never larger than the plain one (past it the plain one is sent), and the zlib
    /// state is one per loop, shared by every session.
    public var httpCompression: EngineIOCompression? = EngineIOCompression()
    /// The cookie that names the session id on the handshake answer (`cookie`): off by default,
    /// as in the reference server. Load balancers that route by cookie use it for sticky sessions.
    public var cookie: EngineIOCookie? = nil
    /// Which browser origins may open and use sessions, on both transports. Others get 403
    /// (`Forbidden`, code 4); allowed cross-origin pages get CORS answers, preflights included
    /// (the reference server's `cors` option, with credentials). Default: only pages this server
    /// served, and clients that send no `Origin`.
    public var origins = OriginPolicy.sameOrigin
    /// Whether CORS answers to allowed cross-origin pages carry `Access-Control-Allow-Credentials:
    /// true` (cookies and HTTP authentication ride along). On by default: `origins` already names
    /// the pages trusted, and a cookie-routed load balancer (`cookie`) needs it. The reference's
    /// `cors` option leaves it to `cors.credentials` (false unless set).
    public var corsCredentials = true
    /// Most handshakes waiting at once for a `allowRequestLater` decision (per server, so per
    /// loop): past it a handshake is answered 503 at once, without asking, so clients cannot pile
    /// up connections (and the requests kept for them) behind a slow decision. The reference has
    /// no such bound.
    public var maxPendingHandshakes = 1_000
    /// How long a handshake waits for `allowRequestLater` to decide: then it is answered 503
    /// (and a later decision is ignored).
    public var allowRequestTimeout: Duration = .milliseconds(10_000)
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
        c.permessageDeflate = perMessageDeflate != nil
        c.compressionThreshold = perMessageDeflate?.threshold ?? c.compressionThreshold
        return c
    }
}

/// When a compression applies (`EngineIOConfiguration.perMessageDeflate`, `.httpCompression`).
public struct EngineIOCompression: Sendable, Hashable {
    /// Messages and answers shorter than this go out uncompressed: compressing them costs more
    /// CPU than the bytes it saves. The reference server's default, 1024 bytes.
    public var threshold: Int

    public init(threshold: Int = 1024) { self.threshold = threshold }
}

/// The session cookie of the handshake answer, with the reference server's attributes
/// (`io`, `Path=/`, `HttpOnly`, `SameSite=Lax`).
public struct EngineIOCookie: Sendable, Hashable {
    public var name: String
    public var path: String
    public var httpOnly: Bool
    public var sameSite: String

    public init(name: String = "io", path: String = "/", httpOnly: Bool = true, sameSite: String = "Lax") {
        self.name = name
        self.path = path
        self.httpOnly = httpOnly
        self.sameSite = sameSite
    }

    /// The `Set-Cookie` value naming session `sid` (ids are URL-safe base64: no quoting needed).
    public func headerValue(sid: String) -> String {
        var value = "\(name)=\(sid); Path=\(path)"
        if httpOnly { value += "; HttpOnly" }
        if !sameSite.isEmpty { value += "; SameSite=\(sameSite)" }
        return value
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

    /// A new session id that names loop `loop` of a group (`EngineIOLoopGroup`), so a request
    /// that lands on another loop can be handed to the session's: the same 20 characters, the
    /// first two of which carry the loop's index (0 ..< `maxLoops`) instead of random bits (108
    /// random bits remain). Nothing trusts the index: a client that edits it names a loop where
    /// its id is unknown (or no loop), and gets "Session ID unknown" as for any unknown id.
    public static func makeSessionID(loop: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return makeSessionID(loop: loop, using: &generator)
    }

    public static func makeSessionID<G: RandomNumberGenerator>(loop: Int, using generator: inout G) -> String {
        precondition((0..<maxLoops).contains(loop), "a loop index in a session id is 0 ..< \(maxLoops)")
        var id = Array(makeSessionID(using: &generator).utf8)
        id[0] = alphabet[loop >> 6]
        id[1] = alphabet[loop & 63]
        return String(decoding: id, as: UTF8.self)
    }

    /// The loop index a session id made by `makeSessionID(loop:)` carries; nil when `sid` does not
    /// have that shape (any other length, or a character outside the alphabet).
    public static func loopIndex(ofSessionID sid: String) -> Int? {
        var utf8 = sid.utf8.makeIterator()
        guard sid.utf8.count == 20, let c0 = utf8.next(), let c1 = utf8.next(),
              let high = alphabetValue(c0), let low = alphabetValue(c1) else { return nil }
        return high << 6 | low
    }

    /// How many loops a session id can name (two characters of 64).
    public static let maxLoops = 4096

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    private static func alphabetValue(_ c: UInt8) -> Int? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): Int(c - UInt8(ascii: "A"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): Int(c - UInt8(ascii: "a")) + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(c - UInt8(ascii: "0")) + 52
        case UInt8(ascii: "-"): 62
        case UInt8(ascii: "_"): 63
        default: nil
        }
    }

    /// A session id drawn from `generator` (tests pass a seeded one).
    public static func makeSessionID<G: RandomNumberGenerator>(using generator: inout G) -> String {
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
