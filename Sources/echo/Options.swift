import Glibc
import Connections
import Protocols

/// The demo's command line. Parsed by hand: the demo depends on nothing but the two libraries.
struct Options {
    enum Mode { case tcpEcho, web }

    var mode: Mode = .web
    var hosts: [String] = ["127.0.0.1", "::1"]
    var hostGiven = false
    var port: UInt16 = 8000
    var maxConnections = 100_000
    var maxMessageSize = 16 * 1024 * 1024
    /// HTTP header-read and keep-alive idle timeouts, in milliseconds.
    var headerTimeoutMilliseconds = 10_000
    var idleTimeoutMilliseconds = 60_000
    /// Socket.IO and Engine.IO (/socket.io/, /engine.io/): the reference server's defaults.
    var pingIntervalMilliseconds = 25_000
    var pingTimeoutMilliseconds = 20_000
    var maxPayload = 1_000_000
    /// Bytes of released input-tail blocks each loop keeps for reuse.
    var tailPoolBytes = 1024 * 1024  // EventLoopConfiguration's default
    /// Request-body buffer capacity a keep-alive connection keeps between requests.
    var retainedBodyCapacity = HTTPServerConfiguration().retainedBodyCapacity
    var connectTimeoutMilliseconds = 45_000
    /// WebSocket: bytes the incomplete messages of one loop may hold together, the deadline for
    /// finishing a message, and whether permessage-deflate keeps context between messages.
    var webSocketMessageBudget = WebSocketLimits().incompleteMessageBudget
    /// Bytes of received messages `/echo-async` holds for its reader before it stops reading.
    var asyncInboundBytes = 1 << 20
    var webSocketMessageTimeoutMilliseconds = 30_000
    var webSocketContextTakeover = false
    /// Socket.IO: rooms per socket, room name length, bytes queued per session.
    var maxRoomsPerSocket = SocketIOConfiguration().maxRoomsPerSocket
    var maxRoomNameBytes = SocketIOConfiguration().maxRoomNameBytes
    var maxSessionQueueBytes = EngineIOConfiguration().maxQueuedBytes
    /// Socket.IO connection state recovery: its window (nil: off) and the bytes each namespace
    /// keeps for it, packets and dropped sessions each.
    var recoveryWindowMilliseconds: Int?
    var recoveryBytes = SocketIORecoveryStore.Limits().maxPacketBytes
    /// Socket.IO: the token a client must send as `auth.token` (nil: none asked).
    var socketIOToken: String?
    /// Socket.IO: the demo's packet middlewares (`--sio-packet-filter`), and what each socket's
    /// may hold (`maxPendingPacketsPerSocket`).
    var socketIOPacketFilter = false
    /// Socket.IO: this server's `whoami` server-side handler never answers (`--sio-silent-server`),
    /// so a peer asking with `serverSideEmitWithAck` waits for its timeout.
    var socketIOSilentServer = false
    var maxPendingPacketsPerSocket = SocketIOConfiguration().maxPendingPacketsPerSocket
    /// Socket.IO dynamic namespaces (`/dyn-<word>`): children per loop, namespaces per client.
    var maxChildNamespaces = SocketIOConfiguration().maxChildNamespaces
    var maxNamespacesPerClient = SocketIOConfiguration().maxNamespacesPerClient
    /// Engine.IO: the demo's `allowRequestLater` (nil: none), deciding after this many ms; the
    /// handshakes it may hold at once, and for how long.
    var allowRequestDelayMilliseconds: Int?
    var maxPendingHandshakes = EngineIOConfiguration().maxPendingHandshakes
    var allowRequestTimeoutMilliseconds = 10_000
    /// Engine.IO: upgrade deadline, transports, compression of either transport, session cookie
    /// (the reference server's `upgradeTimeout`, `transports`, `allowUpgrades`,
    /// `perMessageDeflate`, `httpCompression`, `cookie`).
    var upgradeTimeoutMilliseconds = 10_000
    var engineTransports = EngineIOConfiguration().transports
    var allowUpgrades = true
    var engineDeflate = false
    var pollingCompression = true
    var engineCookie: String?
    /// Event loops (one per thread); nil: one per core.
    var threads: Int? = 1
    var logLevel = LogLevel.info
    /// Chat rooms: what each loop keeps for replay, and how much a history read answers.
    var pubsub = PubSub.Limits()
    /// An event stream that cannot keep up is held this many messages and bytes (oldest dropped).
    var ssePending = 256
    var ssePendingBytes = 1 << 20
    /// Rooms shared with other processes through this Redis (nil: this process alone).
    var redis: RedisEndpoint?
    /// Browser origins allowed besides the server's own, on the WebSocket routes, `POST /send`
    /// and Socket.IO/Engine.IO (`--allow-origin`).
    var origins = OriginPolicy.sameOrigin
    /// `--tls-cert` and `--tls-key`, in pairs (none: plain TCP). The first pair is the default
    /// certificate, the others are picked by the name a client asks for (SNI).
    var tlsCertificates: [String] = []
    var tlsKeys: [String] = []
    var tlsEnabled: Bool { !tlsCertificates.isEmpty }
    var tlsHandshakeTimeoutMilliseconds = 10_000
    var tlsKeepRecordBuffers = false

    static let usage = """
    usage: echo [options]

    The Reactor demo server. By default it serves the web demo on http://localhost:8000
    (loopback, IPv4 and IPv6).

    options:
      --tcp                raw TCP echo server instead of the web demo (every byte is sent back)
      --host ADDR          numeric address to listen on (repeatable; default 127.0.0.1 and ::1;
                           use 0.0.0.0 or :: for every interface)
      --port N             port to listen on (default 8000; 0 picks a free port)
      --threads N|auto     event loops, one per thread, sharing the port (default 1; auto: one per core)
      --max-connections N  accept no more than N connections at once (default 100000)
      --max-message-size N largest WebSocket message in bytes (default 16777216; larger: close 1009)
      --ws-message-budget N
                           bytes all unfinished WebSocket messages of one loop may hold together
                           (default 67108864; a socket whose message would cross it: close 1013)
      --ws-async-inbound N bytes of received messages /echo-async keeps for its reader before it stops
                           reading the socket (default 1048576; reading resumes at a quarter)
      --ws-message-timeout MS
                           a WebSocket message begun must end within MS ms, else close 1008 (default 30000)
      --ws-deflate-context-takeover
                           let permessage-deflate keep context between messages: better ratio on
                           small messages, about 115 KiB of zlib state per socket (default off)
      --header-timeout MS  a request head must arrive within MS ms of its first byte, else 408 (default 10000)
      --idle-timeout MS    idle keep-alive connections close after MS ms (default 60000)
      --ping-interval MS   Socket.IO/Engine.IO heartbeat: ping every MS ms (default 25000)
      --ping-timeout MS    close a session whose pong is MS ms late (default 20000)
      --max-payload N      largest Engine.IO POST body or WebSocket message in bytes (default 1000000)
      --connect-timeout MS close a Socket.IO client that joins no namespace within MS ms (default 45000)
      --upgrade-timeout MS cancel a Socket.IO/Engine.IO transport upgrade not done within MS ms (default 10000)
      --eio-transports LIST
                           Socket.IO/Engine.IO transports clients may use: polling,websocket (the
                           default), polling or websocket
      --eio-no-upgrades    do not offer polling sessions the upgrade to WebSocket
      --eio-permessage-deflate
                           let Socket.IO/Engine.IO WebSockets negotiate permessage-deflate, compressing
                           messages of 1024 bytes or more (default off, as the reference server)
      --eio-no-http-compression
                           send Socket.IO/Engine.IO long-poll answers uncompressed (default: gzip or
                           deflate from 1024 bytes when the client accepts it, as the reference server)
      --eio-cookie NAME    set a cookie NAME=<session id> on Socket.IO/Engine.IO handshakes, for load
                           balancers that route by cookie (default none)
      --tail-pool-bytes N  bytes of released input-tail buffers each loop keeps for reuse (default 1048576)
      --retained-body-capacity N
                           request-body buffer bytes a keep-alive connection keeps between requests
                           (default 1024; a larger body's buffer is freed once it is answered)
      --replay-messages N  messages each chat room keeps for resuming clients (default 1000)
      --room-replay-bytes N bytes each chat room keeps for resuming clients (default 4194304)
      --replay-bytes N     bytes every chat room keeps together, per loop; past it the least recently
                           used room's oldest messages go (default 67108864)
      --max-rooms N        chat rooms keeping a history, per loop; past it the least recently used
                           room's history goes (default 10000; with --redis the relay remembers
                           the order of twice as many)
      --page-messages N    most messages one /messages or /poll answer holds (default 1000)
      --page-bytes N       bytes of text after which a /messages or /poll answer stops (default 65536)
      --sse-pending N      messages held for an event stream that cannot keep up, oldest dropped
                           (default 256)
      --sse-pending-bytes N bytes held for an event stream that cannot keep up (default 1048576)
      --max-socket-rooms N rooms one Socket.IO socket may be in, its own included (default 1000)
      --max-socket-room-name N
                           longest Socket.IO room name in bytes (default 256)
      --max-session-queue N
                           bytes an Engine.IO/Socket.IO session may hold for a client that does not
                           read or poll; past it the session closes (default 2097152)
      --sio-recovery MS    Socket.IO connection state recovery: a client that drops and comes back
                           within MS ms gets its id, rooms and missed packets (default off; the
                           reference's window is 120000)
      --sio-recovery-bytes N
                           bytes each Socket.IO namespace keeps for recovery (shared by the loops):
                           its packet log, and its dropped sessions, each (default 4194304)
      --sio-token T        Socket.IO clients must send auth {token: T}; others are refused with the
                           connect error "unauthorized" (a namespace middleware; default: none)
      --sio-packet-filter  Socket.IO packet middlewares on every socket: `forbidden` fails (the socket
                           emits `packet-refused`), `dropped` is dropped, `slow` is held 300 ms
      --sio-silent-server  this server's handler of the server-side event `whoami` never answers
                           (the conformance suites' silent peer)
      --sio-pending-packets N
                           events one socket's packet middlewares may hold unanswered; more are
                           dropped (default 100)
      --sio-max-child-namespaces N
                           Socket.IO dynamic namespaces (/dyn-<word>) one loop may have at once;
                           a client asking for a new one past it gets "Too many namespaces"
                           (default 1000; an empty one is dropped)
      --sio-max-client-namespaces N
                           namespaces one Socket.IO client may be in or asking for at once
                           (default 100)
      --eio-allow-request-delay MS
                           an allowRequest that decides after MS ms (the reference's callback
                           form): a Socket.IO/Engine.IO handshake whose query has deny=REASON is
                           refused with 403 and REASON, hang=1 is never decided (default: none)
      --eio-max-pending-handshakes N
                           handshakes that may wait for that decision at once, per loop; more get
                           503 (default 1000)
      --eio-allow-request-timeout MS
                           a handshake not decided within MS ms gets 503 (default 10000)
      --redis URL          share chat rooms and Socket.IO broadcasts with other echo processes
                           through Redis pub/sub (redis://host:port[/db]; see docs/SCALING.md)
      --allow-origin ORIGIN  let pages from ORIGIN (scheme://host[:port], or * for any) open
                           WebSockets, POST /send and use Socket.IO (repeatable); by default only
                           this server's own pages and clients that send no Origin may (else 403)
      --tls-cert FILE      serve everything (page, https, wss, SSE, long polling, Socket.IO) over TLS
                           on the same port, with this PEM certificate chain (leaf first); needs
                           --tls-key. TLS 1.2 and 1.3 only. A certificate for trying it locally:
                             openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \\
                               -days 30 -subj /CN=localhost -keyout key.pem -out cert.pem
      --tls-key FILE       the PEM private key of --tls-cert. Both are repeatable, in pairs: the
                           first pair is the default certificate, the others are served to clients
                           that ask for a name they cover (SNI). SIGHUP reads the files again
                           (renewed certificates) for new connections; open ones keep theirs
      --tls-handshake-timeout MS
                           close a connection whose TLS handshake is not done within MS ms (default 10000)
      --tls-keep-record-buffers
                           keep OpenSSL's record buffers (about 34 KiB) on idle TLS connections
                           instead of freeing them when empty: fewer allocations per message, more
                           memory per connection (default: freed)
      --log-level LEVEL    error, warning (or warn), info or debug (default info)
      -h, --help           show this help
    """

    static func parse(_ arguments: [String]) -> Result<Options, UsageError> {
        var o = Options()
        var i = 0
        func value(_ flag: String) throws(UsageError) -> String {
            i += 1
            guard i < arguments.count else { throw UsageError("\(flag) needs a value") }
            return arguments[i]
        }
        /// The flag's value as a whole number of at least `minimum`: a positive one unless said, in
        /// `unit`s when given ("--idle-timeout takes a positive number of milliseconds").
        func number(_ flag: String, of unit: String? = nil, minimum: Int = 1) throws(UsageError) -> Int {
            guard let n = Int(try value(flag)), n >= minimum else {
                let what = minimum > 0 ? "a positive number" : "a number"
                throw UsageError("\(flag) takes \(what)\(unit.map { " of \($0)" } ?? "")")
            }
            return n
        }
        do throws(UsageError) {
            while i < arguments.count {
                let a = arguments[i]
                switch a {
                case "-h", "--help": throw UsageError(nil)
                case "--tcp": o.mode = .tcpEcho
                case "--host":
                    let h = try value(a)
                    if !o.hostGiven { o.hosts = [] }
                    o.hostGiven = true
                    o.hosts.append(h)
                case "--port":
                    guard let p = UInt16(try value(a)) else { throw UsageError("--port takes a number from 0 to 65535") }
                    o.port = p
                case "--max-connections":
                    let n = try number(a)
                    o.maxConnections = n
                case "--threads":
                    let v = try value(a)
                    if v == "auto" {
                        o.threads = nil
                    } else {
                        guard let n = Int(v), (1...256).contains(n) else { throw UsageError("--threads takes a number from 1 to 256, or auto") }
                        o.threads = n
                    }
                case "--ws-message-budget":
                    let n = try number(a, of: "bytes")
                    o.webSocketMessageBudget = n
                case "--ws-async-inbound":
                    let n = try number(a, of: "bytes")
                    o.asyncInboundBytes = n
                case "--ws-message-timeout":
                    let n = try number(a, of: "milliseconds")
                    o.webSocketMessageTimeoutMilliseconds = n
                case "--ws-deflate-context-takeover": o.webSocketContextTakeover = true
                case "--max-socket-rooms", "--max-socket-room-name", "--max-session-queue":
                    let n = try number(a)
                    switch a {
                    case "--max-socket-rooms": o.maxRoomsPerSocket = n
                    case "--max-socket-room-name": o.maxRoomNameBytes = n
                    default: o.maxSessionQueueBytes = n
                    }
                case "--sio-recovery", "--sio-recovery-bytes":
                    let n = try number(a)
                    if a == "--sio-recovery" { o.recoveryWindowMilliseconds = n } else { o.recoveryBytes = n }
                case "--sio-token":
                    let token = try value(a)
                    guard !token.isEmpty else { throw UsageError("--sio-token takes a non-empty token") }
                    o.socketIOToken = token
                case "--sio-packet-filter": o.socketIOPacketFilter = true
                case "--sio-silent-server": o.socketIOSilentServer = true
                case "--sio-pending-packets":
                    let n = try number(a)
                    o.maxPendingPacketsPerSocket = n
                case "--sio-max-child-namespaces", "--sio-max-client-namespaces", "--eio-max-pending-handshakes", "--eio-allow-request-timeout":
                    let n = try number(a)
                    switch a {
                    case "--sio-max-child-namespaces": o.maxChildNamespaces = n
                    case "--sio-max-client-namespaces": o.maxNamespacesPerClient = n
                    case "--eio-max-pending-handshakes": o.maxPendingHandshakes = n
                    default: o.allowRequestTimeoutMilliseconds = n
                    }
                case "--eio-allow-request-delay":
                    let n = try number(a, of: "milliseconds", minimum: 0)
                    o.allowRequestDelayMilliseconds = n
                case "--max-message-size":
                    let n = try number(a)
                    o.maxMessageSize = n
                case "--header-timeout", "--idle-timeout":
                    let n = try number(a, of: "milliseconds")
                    if a == "--header-timeout" { o.headerTimeoutMilliseconds = n } else { o.idleTimeoutMilliseconds = n }
                case "--eio-transports":
                    var list: [EngineIOTransport] = []
                    for name in try value(a).split(separator: ",") {
                        guard let t = EngineIOTransport(rawValue: String(name)) else {
                            throw UsageError("--eio-transports takes polling, websocket or both, comma-separated")
                        }
                        if !list.contains(t) { list.append(t) }
                    }
                    guard !list.isEmpty else { throw UsageError("--eio-transports needs at least one transport") }
                    o.engineTransports = list
                case "--eio-no-upgrades": o.allowUpgrades = false
                case "--eio-permessage-deflate": o.engineDeflate = true
                case "--eio-no-http-compression": o.pollingCompression = false
                case "--eio-cookie":
                    let name = try value(a)
                    guard !name.isEmpty, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && !"()<>@,;:\\\"/[]?={}".utf8.contains($0) }) else {
                        throw UsageError("--eio-cookie takes a cookie name (a token)")
                    }
                    o.engineCookie = name
                case "--ping-interval", "--ping-timeout", "--connect-timeout", "--upgrade-timeout":
                    let n = try number(a, of: "milliseconds")
                    switch a {
                    case "--ping-interval": o.pingIntervalMilliseconds = n
                    case "--ping-timeout": o.pingTimeoutMilliseconds = n
                    case "--upgrade-timeout": o.upgradeTimeoutMilliseconds = n
                    default: o.connectTimeoutMilliseconds = n
                    }
                case "--max-payload":
                    let n = try number(a, of: "bytes")
                    o.maxPayload = n
                case "--tail-pool-bytes", "--retained-body-capacity":
                    let n = try number(a, of: "bytes", minimum: 0)
                    if a == "--tail-pool-bytes" { o.tailPoolBytes = n } else { o.retainedBodyCapacity = n }
                case "--replay-messages", "--room-replay-bytes", "--replay-bytes", "--max-rooms",
                     "--page-messages", "--page-bytes", "--sse-pending", "--sse-pending-bytes":
                    let n = try number(a)
                    switch a {
                    case "--replay-messages": o.pubsub.replayCapacity = n
                    case "--room-replay-bytes": o.pubsub.maxRoomReplayBytes = n
                    case "--replay-bytes": o.pubsub.maxReplayBytes = n
                    case "--max-rooms": o.pubsub.maxRooms = n
                    case "--page-messages": o.pubsub.maxPageMessages = n
                    case "--page-bytes": o.pubsub.maxPageBytes = n
                    case "--sse-pending": o.ssePending = n
                    default: o.ssePendingBytes = n
                    }
                case "--redis":
                    let url = try value(a)
                    do throws(RedisEndpointError) {
                        o.redis = try RedisEndpoint(url: url)
                    } catch {
                        throw UsageError("--redis: \(error.message)")
                    }
                case "--allow-origin":
                    let origin = try value(a)
                    guard origin == "*" || origin.contains("://") else {
                        throw UsageError("--allow-origin takes scheme://host[:port] or *")
                    }
                    o.origins.allow(origin)
                case "--tls-cert": o.tlsCertificates.append(try value(a))
                case "--tls-key": o.tlsKeys.append(try value(a))
                case "--tls-keep-record-buffers": o.tlsKeepRecordBuffers = true
                case "--tls-handshake-timeout":
                    let n = try number(a, of: "milliseconds")
                    o.tlsHandshakeTimeoutMilliseconds = n
                case "--log-level":
                    guard let l = LogLevel(name: try value(a)) else { throw UsageError("--log-level is one of error, warn, info, debug") }
                    o.logLevel = l
                default:
                    throw UsageError("unknown option \(a)")
                }
                i += 1
            }
            if o.tlsCertificates.count != o.tlsKeys.count { throw UsageError("--tls-cert and --tls-key go in pairs") }
        } catch {
            return .failure(error)
        }
        return .success(o)
    }
}

extension Options {
    /// The WebSocket options every demo route shares (the limits are set by the caller).
    func configureWebSocket(_ c: inout WebSocketConfiguration) {
        c.messageTimeout = .milliseconds(webSocketMessageTimeoutMilliseconds)
        c.deflateContextTakeover = webSocketContextTakeover
        c.origins = origins
    }
}

struct UsageError: Error {
    /// nil: help was asked for.
    let message: String?
    init(_ message: String?) { self.message = message }
}
