import Connections
import Protocols
import Reactor

/// The Socket.IO demo on `/socket.io/` and the raw Engine.IO echo on `/engine.io/`.
///
/// Socket.IO contract, the same on the namespaces `/`, `/chat` and `/custom`, and on every dynamic
/// namespace `/dyn-<word>` (a word of 1 to 64 letters, digits, `_` or `-`: a child made on first
/// connect, with its own sockets and rooms, dropped when its last socket leaves):
///
///   on connect                 emit `auth` with the CONNECT packet's auth payload (`{}` when none);
///                              a socket recovered by connection state recovery (`--sio-recovery`)
///                              gets `recovered` first
///   join {room}                join, emit `joined {room}` to the socket, ack `{ok: true, room}`;
///                              a room named like a socket id (another socket's private room), too
///                              long, or past the socket's room limit: ack `{ok: false, error}`
///   leave {room}               leave, emit `left {room}`, ack `{ok: true}`
///   chat {room, text}          emit `chat {room, text, from: <sender id>}` to the room, sender excluded
///   shout {text}               emit `announcement {text}` to the whole namespace, sender included
///   echo <any>                 ack with the same value(s)
///   message ...args            emit `message-back` with the same args to the sender (binary stays binary)
///   message-with-ack ...args   ack with the same args
///
/// Beyond the contract, for the conformance suite:
///
///   disconnect-me              the server disconnects the socket from the namespace
///   ask {room, question}       the server emits `question` with the question to the room (the asker
///                              included if a member) asking each client for an ack, and acks the
///                              asker with `{ok: true, answers}` once every client answered, or
///                              `{ok: false, error: "timeout", answers}` after 2 s (broadcast acks,
///                              across loops too)
///   server-ack ...args         the server emits `ack-request` with the args and asks for an ack; it
///                              then emits `ack-response` with the client's reply, or `ack-error`
///                              with "timeout" (5 s) — acknowledgements in the other direction
///   multi                      three handlers, in order: the first adds "on", a `once` handler
///                              "once" (the first time only), the last acks the list
///   multi-off                  removes the first `multi` handler (`off`); acks `{ok}`, false when
///                              it was already gone
///   stats                      the first one adds catch-all counters (`onAny`, `onAnyOutgoing`) and
///                              acks `{incoming: 0, outgoing: 0, last_out: ""}`; the next ones ack the
///                              events received (themselves included) and sent since
///   on disconnecting           emits `member-leaving {id, rooms, reason}` to the other members of
///                              each room it is in (it still is, then), and logs its rooms
///   namespace-info             acks `{name, sockets, rooms, children}`: its namespace, its socket
///                              and room counts on this loop, and this loop's dynamic namespaces
///   shout-all {text}           in a dynamic namespace: emits `announcement-all {text, from}` (from:
///                              the sender's namespace) to every dynamic namespace of this loop
///                              (a broadcast on the parent)
///   big {size, compress}       emits `big` with a string of `size` (at most 1 MB) `x`s to the
///                              sender, with `compress(false)` when `compress` is false
///   volatile-ticks {count, size}
///                              emits `tick [i, <size x's>]` to the namespace as a volatile
///                              broadcast, one every millisecond, `count` times (at most 5000, size
///                              at most 16384, one run per socket at once), then `ticks-done
///                              {count}` to the namespace (not volatile) and acks
///
/// With `--sio-token T`, a middleware of each namespace (an async one) lets in only clients whose
/// auth payload is `{token: T}`; the others get CONNECT_ERROR `{"message": "unauthorized", "data":
/// {"reason": …}}`.
///
/// With `--sio-packet-filter`, packet middlewares on every socket (`socket.use`): `forbidden` fails
/// and the socket emits `packet-refused {message}`; `dropped` never reaches its handler (which would
/// emit `not-dropped`); `slow` is held 300 ms, then its handler emits `slow-done` (at most
/// `--sio-pending-packets` held at once, the others dropped).
///
/// Cluster-wide, across loops (`--threads N`) and processes (`--redis`), for the conformance suites:
///
///   set-data <any>             sets `socket.data` (what fetchSockets shows); acks `{ok: true}`
///   fetch {room?}              `fetchSockets` (2 s) of the namespace or a room; acks `{ok: true,
///                              sockets: [{id, rooms, data}]}`, or `{ok: false, error: "timeout", sockets}`
///   sockets-join {room?, rooms}, sockets-leave {room?, rooms}, disconnect-sockets {room?, close?}
///                              `socketsJoin`/`socketsLeave`/`disconnectSockets` on the namespace or a
///                              room; acks `{ok: true}`
///   server-emit {event, args?} `serverSideEmitWithAck` (2 s) to every other server; acks `{ok: true,
///                              answers}` or `{ok: false, error: "timeout", answers}`. The demo's
///                              servers answer `whoami` with `{process, loop}` (not with
///                              `--sio-silent-server`) and on `note {text}` emit `server-note {text}`
///                              to their own sockets
///
///   handshake                  acks `{url, query, headers, secure, issued, address}`: the request
///                              that opened the session, as middlewares and handlers see it
///
/// With `--eio-allow-request-delay MS`, an `allowRequestLater` on /socket.io/ decides every
/// handshake after MS ms: one whose query has `deny=REASON` is refused (403, REASON), one with
/// `hang=1` is never decided (it gets 503 after `--eio-allow-request-timeout`).
///
/// Engine.IO contract: every message is sent back, text as text, binary as binary.
///
/// Broadcasts (`chat` to a room, `shout` to the namespace) go through `hub`'s relay too: with
/// `--threads N` they reach the sockets of every loop, with `--redis` those of every process.
///
/// With `--threads N` both endpoints' servers join a group of loops (`groups`): a polling request
/// or an upgrade that lands on another loop than its session's is handed to that loop, so clients
/// need no sticky sessions inside the process.
func installSocketIODemo(on router: HTTPRouter, loop: EventLoop, options: Options, log: Log, hub: PubSub,
                         groups: (SocketIODemoShared, index: Int)? = nil) {
    var engine = EngineIOConfiguration()
    engine.pingInterval = .milliseconds(options.pingIntervalMilliseconds)
    engine.pingTimeout = .milliseconds(options.pingTimeoutMilliseconds)
    engine.maxPayload = options.maxPayload
    engine.origins = options.origins
    engine.maxQueuedBytes = options.maxSessionQueueBytes
    engine.upgradeTimeout = .milliseconds(options.upgradeTimeoutMilliseconds)
    engine.transports = options.engineTransports
    engine.allowUpgrades = options.allowUpgrades
    engine.perMessageDeflate = options.engineDeflate ? EngineIOCompression() : nil
    engine.httpCompression = options.pollingCompression ? EngineIOCompression() : nil
    engine.cookie = options.engineCookie.map { EngineIOCookie(name: $0) }
    engine.webSocket.limits.incompleteMessageBudget = options.webSocketMessageBudget
    options.configureWebSocket(&engine.webSocket)

    var configuration = SocketIOConfiguration()
    configuration.engine = engine
    configuration.connectTimeout = .milliseconds(options.connectTimeoutMilliseconds)
    configuration.maxRoomsPerSocket = options.maxRoomsPerSocket
    configuration.maxRoomNameBytes = options.maxRoomNameBytes
    configuration.maxPendingPacketsPerSocket = options.maxPendingPacketsPerSocket
    configuration.maxChildNamespaces = options.maxChildNamespaces
    configuration.maxNamespacesPerClient = options.maxNamespacesPerClient
    configuration.engine.maxPendingHandshakes = options.maxPendingHandshakes
    configuration.engine.allowRequestTimeout = .milliseconds(options.allowRequestTimeoutMilliseconds)
    // One value for every loop: its store is shared, so a client recovers on any loop.
    configuration.connectionStateRecovery = groups?.0.recovery ?? SocketIODemoShared.recovery(options)
    let io = SocketIOServer(loop: loop, configuration: configuration)
    io.log = RateLimitedLog(sink: log, level: .debug, label: "socket.io: ", loop: loop)
    // The demo's own line per leaving socket names its rooms, which its peer chose: rate-limited
    // and capped like every line about peers (a thousand sockets leaving at once, each in a
    // hundred long-named rooms, wrote megabytes, and stalled the loop on a log nobody read).
    let socketLines = RateLimitedLog(sink: log, level: .info, label: "socket.io: ", loop: loop)
    for name in ["/", "/chat", "/custom"] {
        if let token = options.socketIOToken { SocketIODemo.requireToken(token, on: io.of(name)) }
        io.of(name).on("connection") { [filter = options.socketIOPacketFilter] socket in
            if filter { SocketIODemo.filterPackets(socket) }
            SocketIODemo.connected(socket, log: socketLines)
            SocketIODemo.cluster(socket)
        }
        SocketIODemo.serverSide(io.of(name), hub: hub, silent: options.socketIOSilentServer)
    }
    // Dynamic namespaces: each loop makes the children its clients ask for; a broadcast on one
    // reaches its sockets on the other loops through the relay (the child's own channel).
    let dynamic = io.of(matching: { name, _ in SocketIODemo.isDynamicName(name) })
    if let token = options.socketIOToken { SocketIODemo.requireToken(token, on: dynamic) }
    dynamic.on("connection") { [filter = options.socketIOPacketFilter] socket in
        if filter { SocketIODemo.filterPackets(socket) }
        SocketIODemo.connected(socket, log: socketLines)
        socket.on("shout-all") { [unowned socket] args, _ in
            let message: JSONValue = ["text": args[0]?["text"] ?? .null, "from": .string(socket.namespace.name)]
            socket.namespace.parent?.emit("announcement-all", message)
        }
    }
    if let delay = options.allowRequestDelayMilliseconds {
        io.engine.allowRequestLater = { request, decide in
            let items = request.queryItems
            if items["hang"] == "1" { return }  // never decided: the timeout answers
            _ = loop.schedule(after: .milliseconds(delay)) { decide(items["deny"]) }
        }
    }
    io.relayBroadcasts(through: hub)
    if let (groups, index) = groups { io.engine.join(groups.socketIO, index: index) }
    io.install(on: router, path: "/socket.io/")

    let raw = EngineIOServer(loop: loop, configuration: engine)
    raw.log = RateLimitedLog(sink: log, level: .debug, label: "engine.io: ", loop: loop)
    let echo = EngineIOEcho()
    raw.onConnection = { session in session.delegate = echo }
    if let (groups, index) = groups { raw.join(groups.engineIO, index: index) }
    raw.install(on: router, path: "/engine.io/")
}

/// What the demo's loops share, made once before their setups: the loop groups of its two
/// Engine.IO endpoints, and Socket.IO's connection state recovery (its store).
struct SocketIODemoShared: Sendable {
    let socketIO: EngineIOLoopGroup
    let engineIO: EngineIOLoopGroup
    let recovery: SocketIOConnectionStateRecovery?

    init(count: Int, options: Options) {
        socketIO = EngineIOLoopGroup(count: count)
        engineIO = EngineIOLoopGroup(count: count)
        recovery = Self.recovery(options)
    }

    /// `--sio-recovery` and `--sio-recovery-bytes`, or nil (off).
    static func recovery(_ options: Options) -> SocketIOConnectionStateRecovery? {
        guard let window = options.recoveryWindowMilliseconds else { return nil }
        var recovery = SocketIOConnectionStateRecovery(maxDisconnectionDuration: .milliseconds(window))
        recovery.limits.maxPacketBytes = options.recoveryBytes
        recovery.limits.maxSessionBytes = options.recoveryBytes
        return recovery
    }
}

enum SocketIODemo {
    static func connected(_ socket: SocketIOSocket, log: RateLimitedLog) {
        listen(socket, log: log)
        if socket.recovered { socket.emit("recovered", .string(socket.id)) }
        socket.emit("auth", socket.auth)

        // Handlers run only while the socket is connected, and are dropped when it disconnects.
        socket.on("join") { [unowned socket] args, ack in
            guard let room = roomName(args[0]) else { return ack?(["ok": false, "error": "room required"]) ?? () }
            // Every socket is in a room named by its id, where messages meant for it alone go:
            // joining another's would let a client read them.
            if room != socket.id && looksLikeSocketID(room) {
                return ack?(["ok": false, "error": "room names shaped like socket ids are private"]) ?? ()
            }
            guard socket.join(room) else { return ack?(["ok": false, "error": "room refused: too many rooms or name too long"]) ?? () }
            socket.emit("joined", ["room": .string(room)])
            ack?(["ok": true, "room": .string(room)])
        }
        socket.on("leave") { [unowned socket] args, ack in
            guard let room = roomName(args[0]) else { return ack?(["ok": false, "error": "room required"]) ?? () }
            socket.leave(room)
            socket.emit("left", ["room": .string(room)])
            ack?(["ok": true])
        }
        socket.on("chat") { [unowned socket] args, _ in
            guard let room = roomName(args[0]) else { return }
            // The attachments travel along: a binary `text` stays binary for every member.
            let message: JSONValue = ["room": .string(room), "text": args[0]?["text"] ?? .null, "from": .string(socket.id)]
            socket.to(room).emit("chat", SocketIOArguments([message], attachments: args.attachments))
        }
        socket.on("shout") { [unowned socket] args, _ in
            let message: JSONValue = ["text": args[0]?["text"] ?? .null]
            socket.namespace.emit("announcement", SocketIOArguments([message], attachments: args.attachments))
        }
        socket.on("echo") { args, ack in ack?.send(args) }
        socket.on("handshake") { [unowned socket] _, ack in
            let h = socket.handshake
            ack?(["url": .string(h.url), "query": .object(JSONObject(h.queryItems.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) })),
                  "headers": .object(JSONObject(h.headers.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) })), "secure": .bool(h.secure),
                  "issued": .int(h.issued), "address": h.address.map { .string($0.ip) } ?? .null])
        }
        socket.on("message") { [unowned socket] args, _ in socket.emit("message-back", args) }
        socket.on("message-with-ack") { args, ack in ack?.send(args) }
        socket.on("disconnect-me") { [unowned socket] _, _ in socket.disconnect() }
        socket.on("namespace-info") { [unowned socket] _, ack in
            let ns = socket.namespace
            ack?(["name": .string(ns.name), "sockets": .int(Int64(ns.socketCount)), "rooms": .int(Int64(ns.roomNames.count)),
                  "children": .int(Int64(ns.server.childNamespaceCount))])
        }
        socket.on("big") { [unowned socket] args, _ in
            let size = max(0, min(args[0]?["size"]?.intValue ?? 0, 1 << 20))
            let text = JSONValue.string(String(repeating: "x", count: size))
            socket.compress(args[0]?["compress"]?.boolValue ?? true).emit("big", text)
        }
        socket.on("volatile-ticks") { [unowned socket] args, ack in
            VolatileTicks.start(on: socket, count: args[0]?["count"]?.intValue ?? 100, size: args[0]?["size"]?.intValue ?? 100, ack: ack)
        }
        socket.on("ask") { [unowned socket] args, ack in
            guard let room = roomName(args[0]) else { return ack?(["ok": false, "error": "room required"]) ?? () }
            socket.namespace.to(room).emitWithAck("question", [args[0]?["question"] ?? .null], timeout: .seconds(2)) { result in
                switch result {
                case .success(let answers):
                    ack?(["ok": true, "answers": .array(answers.map { .array($0.values) })])
                case .failure(let timeout):
                    ack?(["ok": false, "error": "timeout", "answers": .array(timeout.responses.map { .array($0.values) })])
                }
            }
        }
        socket.on("server-ack") { [unowned socket] args, _ in
            socket.emitWithAck("ack-request", args, timeout: .seconds(5)) { [weak socket] result in
                switch result {
                case .success(let reply): socket?.emit("ack-response", reply)
                case .failure(let error): socket?.emit("ack-error", .string(error == .timeout ? "timeout" : "disconnected"))
                }
            }
        }
    }

    /// The cluster-wide operations, for a test client to trigger.
    static func cluster(_ socket: SocketIOSocket) {
        func target(_ args: SocketIOArguments) -> SocketIOBroadcast {
            let room = args[0]?["room"]?.stringValue
            return room.map { socket.namespace.in($0) } ?? socket.namespace.all
        }
        func rooms(_ args: SocketIOArguments) -> [String] { (args[0]?["rooms"]?.arrayValue ?? []).compactMap(\.stringValue) }
        socket.on("set-data") { [unowned socket] args, ack in
            socket.data = args[0] ?? .null
            ack?(["ok": true])
        }
        socket.on("fetch") { args, ack in
            target(args).fetchSockets(timeout: .seconds(2)) { result in
                func list(_ sockets: [SocketIORemoteSocket]) -> JSONValue {
                    .array(sockets.sorted { $0.id < $1.id }.map { ["id": .string($0.id), "rooms": .array($0.rooms.sorted().map { .string($0) }), "data": $0.data] })
                }
                switch result {
                case .success(let sockets): ack?(["ok": true, "sockets": list(sockets)])
                case .failure(let timeout): ack?(["ok": false, "error": "timeout", "sockets": list(timeout.sockets)])
                }
            }
        }
        socket.on("sockets-join") { args, ack in
            target(args).socketsJoin(rooms(args))
            ack?(["ok": true])
        }
        socket.on("sockets-leave") { args, ack in
            target(args).socketsLeave(rooms(args))
            ack?(["ok": true])
        }
        socket.on("disconnect-sockets") { args, ack in
            // Acked first: the asker may be among the sockets disconnected.
            ack?(["ok": true])
            target(args).disconnectSockets(close: args[0]?["close"]?.boolValue ?? false)
        }
        socket.on("server-emit") { [unowned socket] args, ack in
            guard let event = args[0]?["event"]?.stringValue else { return ack?(["ok": false, "error": "event required"]) ?? () }
            socket.namespace.serverSideEmitWithAck(event, SocketIOArguments(args[0]?["args"]?.arrayValue ?? []), timeout: .seconds(2)) { result in
                switch result {
                case .success(let answers): ack?(["ok": true, "answers": .array(answers.map { .array($0.values) })])
                case .failure(let timeout): ack?(["ok": false, "error": "timeout", "answers": .array(timeout.responses.map { .array($0.values) })])
                }
            }
        }
    }

    /// The server-side events this server handles (from the other loops and processes).
    static func serverSide(_ namespace: SocketIONamespace, hub: PubSub, silent: Bool) {
        namespace.onServerSideEmit("whoami") { _, ack in
            guard !silent else { return }
            let me = hub.clusterServer
            ack?(SocketIOArguments([["process": .string(String(me.process, radix: 16)), "loop": .int(Int64(me.loop))]]))
        }
        namespace.onServerSideEmit("note") { [unowned namespace] args, ack in
            namespace.local.emit("server-note", ["text": args[0]?["text"] ?? .null])
            ack?([])
        }
    }

    /// `/dyn-<word>`: a word of 1 to 64 letters, digits, `_` or `-`.
    static func isDynamicName(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard utf8.starts(with: "/dyn-".utf8) else { return false }
        let word = utf8.dropFirst(5)
        return (1...64).contains(word.count) && word.allSatisfy { c in
            (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x5F
        }
    }

    /// `--sio-token`: an async middleware (where a real one would await a lookup) that lets in
    /// only clients sending the token.
    static func requireToken(_ token: String, on namespace: SocketIONamespace) {
        namespace.useAsync(tokenCheck(token))
    }

    static func requireToken(_ token: String, on parent: SocketIOParentNamespace) {
        parent.useAsync(tokenCheck(token))
    }

    private static func tokenCheck(_ token: String) -> (SocketIOSocket) async -> SocketIOConnectError? {
        { socket in
            switch socket.auth["token"] {
            case .string(let sent) where sent == token:
                return nil
            case nil:
                return SocketIOConnectError("unauthorized", data: ["reason": "auth.token missing"])
            default:
                return SocketIOConnectError("unauthorized", data: ["reason": "auth.token wrong"])
            }
        }
    }

    struct PacketRefusal: Error { let message: String }

    /// `--sio-packet-filter`: packet middlewares that fail, drop and hold events.
    static func filterPackets(_ socket: SocketIOSocket) {
        socket.use { packet in packet.event == "forbidden" ? PacketRefusal(message: "forbidden event") : nil }
        socket.use { packet, next in
            switch packet.event {
            case "dropped": return  // `next` let go: the event is dropped
            case "slow": _ = socket.namespace.server.loop.schedule(after: .milliseconds(300)) { next(nil) }
            default: next(nil)
            }
        }
        socket.onError { [unowned socket] error in
            socket.emit("packet-refused", ["message": .string((error as? PacketRefusal)?.message ?? "\(error)")])
        }
        socket.on("dropped") { [unowned socket] _, _ in socket.emit("not-dropped") }
        socket.on("slow") { [unowned socket] _, _ in socket.emit("slow-done") }
    }

    /// The demo of Node's listener semantics: catch-all counters, several handlers of one event,
    /// `once`, `off`, and `disconnecting` while the socket is still in its rooms.
    static func listen(_ socket: SocketIOSocket, log: RateLimitedLog) {
        final class Counts {
            var incoming = 0, outgoing = 0
            var lastOut = ""
        }
        // The catch-all counters start with the first `stats`, not with the connection: every
        // other client (and the gate's measured echo) pays nothing for them.
        var counts: Counts?
        socket.on("stats") { [unowned socket] _, ack in
            guard let c = counts else {
                let c = Counts()
                counts = c
                socket.onAny { _, _, _ in c.incoming += 1 }
                socket.onAnyOutgoing { event, _, _ in
                    c.outgoing += 1
                    c.lastOut = event
                }
                return ack?(["incoming": 0, "outgoing": 0, "last_out": ""]) ?? ()
            }
            ack?(["incoming": .int(Int64(c.incoming)), "outgoing": .int(Int64(c.outgoing)), "last_out": .string(c.lastOut)])
        }
        final class Ran { var names: [JSONValue] = [] }
        let ran = Ran()
        let first = socket.on("multi") { _, _ in ran.names = ["on"] }
        socket.once("multi") { _, _ in ran.names.append("once") }
        socket.on("multi") { _, ack in
            ack?(.array(ran.names + ["last"]))
            ran.names = []
        }
        socket.on("multi-off") { [unowned socket] _, ack in ack?(["ok": .bool(socket.off(first))]) }
        socket.onDisconnecting { [unowned socket] reason in
            let rooms = socket.rooms.sorted()
            log("socket \(socket.id) disconnecting (\(reason)), \(rooms.count) rooms: \(rooms.joined(separator: ", "))")
            let info: JSONValue = ["id": .string(socket.id), "rooms": .array(rooms.map { .string($0) }), "reason": .string(reason)]
            for room in rooms where room != socket.id { socket.to(room).emit("member-leaving", info) }
        }
    }

    /// Whether `name` has the shape of a socket id (`EngineIOHandshake.makeSessionID`: 20
    /// characters of the URL-safe base64 alphabet). The shape, not the ids this loop knows: with
    /// several loops or processes another socket's id may live elsewhere.
    static func looksLikeSocketID(_ name: String) -> Bool {
        name.utf8.count == 20 && name.utf8.allSatisfy { c in
            (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x5F
        }
    }

    /// `{room: "r1"}`, or a bare `"r1"`.
    static func roomName(_ value: JSONValue?) -> String? {
        let name = value?["room"]?.stringValue ?? value?.stringValue
        return name.flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// Sends every Engine.IO message back as it came: text as text, binary as binary.
final class EngineIOEcho: EngineIOSessionDelegate {
    func engineIOSession(_ session: EngineIOSession, didReceiveText text: UnsafeRawBufferPointer) {
        session.sendText { $0 += text }
    }

    func engineIOSession(_ session: EngineIOSession, didReceiveBinary data: UnsafeRawBufferPointer) {
        session.send(binary: data)
    }

    func engineIOSessionDidClose(_ session: EngineIOSession, reason: EngineIOCloseReason) {}
}
