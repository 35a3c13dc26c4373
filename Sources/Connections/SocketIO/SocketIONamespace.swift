import Protocols
import Reactor

/// A connection refusal from namespace middleware: sent to the client as CONNECT_ERROR
/// `{"message":…,"data":…}`.
public struct SocketIOConnectError: Error, Sendable, Hashable {
    public var message: String
    public var data: JSONValue?
    public init(_ message: String, data: JSONValue? = nil) {
        self.message = message
        self.data = data
    }

    var json: JSONValue {
        var object: JSONObject = ["message": .string(message)]
        if let data { object["data"] = data }
        return .object(object)
    }
}

/// A namespace: its connection handlers and middleware, its sockets, and their rooms.
///
/// Rooms are sets of socket ids, created on the first join and dropped with their last member.
/// Every socket is in the room named after its own id, so a room name can address one socket.
public final class SocketIONamespace {
    /// Namespace-level events a handler can be registered for. Written as a string literal:
    /// `ns.on("connection") { socket in ... }` (`"connect"` is the same event).
    public struct Event: ExpressibleByStringLiteral, Hashable, Sendable {
        let name: String
        public static let connection = Event(name: "connection")

        init(name: String) { self.name = name }

        public init(stringLiteral value: String) {
            precondition(value == "connection" || value == "connect",
                         "a namespace emits only \"connection\" (alias \"connect\"), not \"\(value)\"")
            self = .connection
        }
    }

    public let name: String
    public unowned let server: SocketIOServer
    private var connectionHandlers: [(SocketIOSocket) -> Void] = []
    private(set) var middlewares: [SocketIOMiddlewareRun<SocketIOSocket, SocketIOConnectError>.Middleware] = []
    private(set) var sockets: [String: SocketIOSocket] = [:]
    private(set) var rooms: [String: Set<String>] = [:]
    /// Connection state recovery, when it is on (its state is shared by the loops: `stores`).
    let recovery: SocketIOConnectionStateRecovery?
    /// Whether recovery is on: a plain flag for the emit paths, which must not touch the store
    /// (an optional struct of collections) when it is off.
    let recordsForRecovery: Bool
    /// The parent whose rule made this namespace (a dynamic namespace's child), nil for a
    /// namespace named by `of(_:)`.
    public internal(set) weak var parent: SocketIOParentNamespace?
    /// Clients being let in (their middlewares running): a child is not dropped while it has any.
    private var admissions = 0

    init(name: String, server: SocketIOServer) {
        self.name = name
        self.server = server
        self.recovery = server.configuration.connectionStateRecovery
        self.recordsForRecovery = recovery != nil
    }

    // MARK: Connection state recovery

    /// What recovery keeps now: packets and their bytes, dropped sessions and their bytes.
    public var recoveryState: (packets: Int, packetBytes: Int, sessions: Int, sessionBytes: Int)? {
        recovery.flatMap { $0.stores.state(of: name) ?? (0, 0, 0, 0) }
    }

    /// With recovery on, logs an EVENT packet (`plain`: its Socket.IO text, without Engine.IO's
    /// type digit or an offset) sent to `rooms` but not `except`, and returns the message to send
    /// instead, the offset appended as its last argument; nil with recovery off.
    func recordEvent(_ plain: UnsafeRawBufferPointer, attachments: [[UInt8]], rooms: Set<String>, except: Set<String>) -> EngineIOMessage? {
        guard let recovery else { return nil }
        let now = server.loop.now
        let text = recovery.stores.with(name, limits: recovery.limits) {
            $0.record(plain: plain, attachments: attachments, rooms: Array(rooms), except: Array(except), now: now)
        }
        return text.map { text in EngineIOMessage(counters: server.engine.counters) { $0 += text } }
    }

    /// Keeps a socket that dropped for a recoverable reason.
    func persist(_ socket: SocketIOSocket, reason: String) {
        guard let recovery, let pid = socket.pid, SocketIORecoveryStore.isRecoverable(reason) else { return }
        let (sid, rooms, now) = (socket.id, Array(socket.rooms), server.loop.now)
        recovery.stores.with(name, limits: recovery.limits) { $0.persist(sid: sid, pid: pid, rooms: rooms, now: now) }
    }

    /// The dropped session `pid` names and what it missed since `offset`, if it can come back.
    func restore(pid: String, offset: String) -> SocketIORecoveryStore.Restored? {
        guard let recovery else { return nil }
        let now = server.loop.now
        guard let restored = recovery.stores.with(name, limits: recovery.limits, { $0.restore(pid: pid, offset: offset, now: now) }),
              sockets[restored.session.sid] == nil else { return nil }
        return restored
    }

    /// Takes the handlers and middlewares `template` has now (a child made by its parent).
    func inherit(from template: SocketIONamespace) {
        connectionHandlers = template.connectionHandlers
        middlewares = template.middlewares
    }

    /// A client began or ended being let in (a child counts them, so as not to be dropped under
    /// one whose middlewares still run).
    func admissionStarted() { admissions += 1 }

    func admissionEnded() {
        admissions -= 1
        releaseIfUnused()
    }

    /// A child with no socket and none being let in leaves its server (when
    /// `cleanupEmptyChildNamespaces` is on).
    private func releaseIfUnused() {
        guard parent != nil, sockets.isEmpty, admissions == 0 else { return }
        server.childBecameUnused(self)
    }

    /// Runs `handler` for every socket that connects to this namespace.
    public func on(_ event: Event, _ handler: @escaping (SocketIOSocket) -> Void) {
        connectionHandlers.append(handler)
    }

    /// Adds connection middleware: it sees each socket (its `handshake`: headers, cookies, query,
    /// `auth`, address) before the connection handlers and may refuse it by returning an error,
    /// which the client gets as CONNECT_ERROR `{"message":…,"data":…}`. Middlewares run in the
    /// order they were added; the socket is not connected yet (`connected` is false, emits to it
    /// are dropped).
    public func use(_ middleware: @escaping (SocketIOSocket) -> SocketIOConnectError?) {
        middlewares.append { socket, next in next(middleware(socket)) }
    }

    /// Adds connection middleware that answers later: it calls `next` once, on the loop, with nil
    /// to let the socket through or an error to refuse it (the reference's `use((socket, next) =>
    /// …)`). A socket whose middlewares have not all answered within `connectTimeout` is refused
    /// with "connect timeout", and a later `next` is ignored.
    public func use(_ middleware: @escaping (SocketIOSocket, _ next: @escaping (SocketIOConnectError?) -> Void) -> Void) {
        middlewares.append(middleware)
    }

    /// Adds connection middleware written as an async function: it runs in a task on the loop
    /// (`await` what you need: a lookup, a token check) and returns nil or the refusal. The same
    /// timeout applies; the task is not cancelled by it, its answer is ignored.
    public func useAsync(_ middleware: @escaping (SocketIOSocket) async -> SocketIOConnectError?) {
        let loop = server.loop
        middlewares.append { socket, next in
            let bound = LoopBound((middleware, socket, next), on: loop)
            Task(executorPreference: loop.handle) {
                let (middleware, socket, next) = bound.value
                let refusal = await middleware(socket)
                bound.handle.checkIsolated()
                next(refusal)
            }
        }
    }

    /// Connected sockets.
    public var socketCount: Int { sockets.count }

    /// The connected socket with this id.
    public func socket(id: String) -> SocketIOSocket? { sockets[id] }

    /// The ids of the sockets in `room` (empty if the room does not exist).
    public func socketIDs(in room: String) -> Set<String> { rooms[room] ?? [] }

    /// Existing rooms (own-id rooms included).
    public var roomNames: [String] { Array(rooms.keys) }

    // MARK: Emitting

    /// Emits to every socket of the namespace.
    public func emit(_ event: String, _ args: JSONValue...) { emit(event, SocketIOArguments(args)) }

    public func emit(_ event: String, _ args: SocketIOArguments) { SocketIOBroadcast(namespace: self).emit(event, args) }

    /// Emits to every socket of the namespace and collects one answer per client (see
    /// `SocketIOBroadcast.emitWithAck`).
    public func emitWithAck(_ event: String, _ args: SocketIOArguments = [], timeout: Duration,
                            _ callback: @escaping (Result<[SocketIOArguments], SocketIOBroadcastAckTimeout>) -> Void) {
        SocketIOBroadcast(namespace: self).emitWithAck(event, args, timeout: timeout, callback)
    }

    /// A broadcast to the sockets in `room` (chain `to` for more rooms, `except` to exclude).
    public func to(_ room: String) -> SocketIOBroadcast { SocketIOBroadcast(namespace: self).to(room) }

    /// Same as `to`.
    public func `in`(_ room: String) -> SocketIOBroadcast { to(room) }

    /// A broadcast to every socket not in `room`.
    public func except(_ room: String) -> SocketIOBroadcast { SocketIOBroadcast(namespace: self).except(room) }

    /// A broadcast to this loop's sockets only, even when the server relays broadcasts elsewhere.
    public var local: SocketIOBroadcast { SocketIOBroadcast(namespace: self).local }

    /// A broadcast dropped for each socket whose transport is not writable now (`volatile`).
    public var volatile: SocketIOBroadcast { SocketIOBroadcast(namespace: self).volatile }

    /// A broadcast sent plain with `false` (`compress(false)`).
    public func compress(_ compress: Bool) -> SocketIOBroadcast { SocketIOBroadcast(namespace: self).compress(compress) }

    // MARK: Broadcasts from other loops and processes

    /// The hub channel of this namespace's broadcasts (`socket.io#<name>#`, as socket.io-redis-adapter
    /// names its Redis channels).
    var relayChannel: String { Self.relayChannelPrefix + name + "#" }
    static let relayChannelPrefix = "socket.io#"

    /// The namespace whose `relayChannel` is `channel`, or nil if it is not one.
    static func namespaceName(ofRelayChannel channel: String) -> String? {
        let utf8 = channel.utf8
        guard utf8.starts(with: relayChannelPrefix.utf8), utf8.count > relayChannelPrefix.utf8.count, utf8.last == UInt8(ascii: "#") else { return nil }
        return String(channel.dropFirst(relayChannelPrefix.count).dropLast())
    }

    /// Counts of relayed broadcasts: sent from here, received from elsewhere, and received but
    /// malformed (dropped, and logged).
    public internal(set) var relayedOut = 0
    public internal(set) var relayedIn = 0
    public internal(set) var relayedRejected = 0

    /// Ack ids of this namespace's emits asking for an ack (a socket's, a broadcast's): one
    /// sequence, so a broadcast's id never meets a socket's own pending one.
    private var lastAckID: UInt64 = 0
    func nextAckID() -> UInt64 {
        defer { lastAckID &+= 1 }
        return lastAckID
    }

    /// This loop's counted cluster requests (broadcasts with acks, ...) still collecting answers,
    /// by request id (SocketIOClusterRequest.swift); at most `maxPendingClusterRequests`.
    var clusterRequests: [UInt64: SocketIOClusterRequest] = [:]
    /// Counted cluster requests of this loop still waiting for answers.
    public var pendingClusterRequestCount: Int { clusterRequests.count }
    /// Handlers of server-side events (SocketIOServerSideEmit.swift), by event.
    var serverSideHandlers: [String: ServerSideHandler] = [:]

    /// A broadcast made on another loop or process: delivered to this loop's sockets it reaches.
    func receiveRelayed(_ message: SharedBytes) {
        if message.withUnsafeBytes({ SocketIOBroadcastAckWire.isRequest($0) }) {
            relayedIn += 1
            return message.withUnsafeBytes { receiveAckRequest($0) }
        }
        if message.withUnsafeBytes({ SocketIOClusterMessage.isMessage($0) }) {
            return message.withUnsafeBytes { receiveClusterMessage($0) }
        }
        let decoded = message.withUnsafeBytes { bytes -> Result<SocketIOBroadcastEnvelope, SocketIOBroadcastEnvelope.DecodingError> in
            do throws(SocketIOBroadcastEnvelope.DecodingError) { return .success(try SocketIOBroadcastEnvelope(decoding: bytes)) } catch { return .failure(error) }
        }
        let envelope: SocketIOBroadcastEnvelope
        switch decoded {
        case .success(let e):
            envelope = e
        case .failure(let error):
            relayedRejected += 1
            server.log("namespace \(name): relayed broadcast dropped: \(error)")
            return
        }
        guard envelope.namespace == name else {
            relayedRejected += 1
            server.log("namespace \(name): relayed broadcast for namespace \(envelope.namespace) dropped")
            return
        }
        relayedIn += 1
        var broadcast = SocketIOBroadcast(namespace: self)
        for room in envelope.rooms { broadcast = broadcast.to(room) }
        for room in envelope.except { broadcast = broadcast.except(room) }
        if envelope.flags.volatile { broadcast = broadcast.volatile }
        if !envelope.flags.compress { broadcast = broadcast.compress(false) }
        broadcast.deliver(text: envelope.packet, attachments: envelope.attachments)
    }

    // MARK: Membership (called by sockets)

    func add(_ socket: SocketIOSocket) {
        sockets[socket.id] = socket
        socket.didConnect()
        socket.joinOwnRoom()
    }

    func runConnectionHandlers(_ socket: SocketIOSocket) {
        for handler in connectionHandlers {
            guard socket.connected else { return }
            handler(socket)
        }
    }

    func remove(_ socket: SocketIOSocket) {
        sockets[socket.id] = nil
        releaseIfUnused()
    }

    func addToRoom(_ room: String, _ id: String) {
        rooms[room, default: []].insert(id)
    }

    func removeFromRoom(_ room: String, _ id: String) {
        guard var members = rooms[room] else { return }
        members.remove(id)
        rooms[room] = members.isEmpty ? nil : members
    }
}
