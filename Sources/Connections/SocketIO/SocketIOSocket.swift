import Protocols
import Reactor

/// What a client sent when it connected to a namespace: its CONNECT packet's `auth`, and the HTTP
/// request that opened its Engine.IO session (the reference's `socket.handshake`).
public struct SocketIOHandshake: Sendable {
    /// The CONNECT packet's payload (`{}` when the client sent none).
    public let auth: JSONValue
    /// The request that opened the Engine.IO session: headers, URL, query, address, time.
    public let request: EngineIOHandshakeRequest

    public init(auth: JSONValue, request: EngineIOHandshakeRequest) {
        self.auth = auth
        self.request = request
    }

    /// The header fields, names lowercased (`cookie` included).
    public var headers: [String: String] { request.headers }
    /// The cookies of the `cookie` header, by name.
    public var cookies: [String: String] { request.cookies }
    /// The undecoded query of the request that opened the Engine.IO session.
    public var query: String { request.query }
    /// The query's items, decoded.
    public var queryItems: [String: String] { request.queryItems }
    /// The request target (path and query).
    public var url: String { request.url }
    /// The client's address.
    public var address: SocketAddress? { request.address }
    /// Whether the connection is TLS (false until the server speaks TLS).
    public var secure: Bool { request.secure }
    /// When the Engine.IO session was opened, in milliseconds since 1970.
    public var issued: Int64 { request.issued }
}

/// An incoming event as a packet middleware (`socket.use`) sees it.
public struct SocketIOIncomingEvent {
    public let event: String
    public let args: SocketIOArguments
    /// The ack the client asked for, if it did.
    public let ack: SocketIOAck?
}

/// One client in one namespace: its event handlers, its rooms, emits to it and from it.
///
/// A socket lives from its namespace CONNECT until it disconnects (either side, or its Engine.IO
/// session ends); after that, emits are ignored and `connected` is false. Use it on the loop's
/// thread.
public final class SocketIOSocket {
    /// An event's handler. Unlike the layers below it, what it gets is owned, not borrowed: the
    /// arguments are decoded JSON values and attachment byte arrays (`SocketIOArguments`), the ack
    /// a small value. Keep them as long as needed; nothing points into a buffer the loop reuses.
    public typealias EventHandler = (SocketIOArguments, SocketIOAck?) -> Void
    /// A handler of every event (`onAny`, `onAnyOutgoing`): the event's name, then its arguments,
    /// and for incoming events the ack the client asked for.
    public typealias AnyHandler = (String, SocketIOArguments, SocketIOAck?) -> Void

    /// The socket id: random, distinct from the Engine.IO session id, one per namespace.
    public let id: String
    public let namespace: SocketIONamespace
    public let handshake: SocketIOHandshake
    /// Room for the application's per-socket state.
    public var context: AnyObject?
    /// The application's data about this socket (the reference's `socket.data`), in its wire
    /// form: `fetchSockets` describes the socket with it on this loop and from any other loop or
    /// process, so it is kept as the project's JSON (`JSONValue`) rather than as a Swift value
    /// only this process could read. `.null` until set. For a typed value, use `setData(_:)` and
    /// `data(as:)`, which encode to and decode from this.
    public var data: JSONValue = .null
    /// False until the namespace's middlewares have let the socket in, and again once it has
    /// disconnected.
    public private(set) var connected = false
    /// The rooms this socket is in, its own id room included.
    public private(set) var rooms: Set<String> = []
    /// Whether this socket is one that dropped and came back with its id, rooms and missed
    /// packets (connection state recovery), rather than a new one.
    public let recovered: Bool
    /// The private session id the client recovers with (never shared, unlike `id`); nil with
    /// recovery off.
    let pid: String?

    let connection: SocketIOConnection
    // Read on every event in and out. Unchecked: a checked class `var` costs a run-time
    // exclusivity check per access (about 130 instructions each, 4 per echoed event), and no
    // access to these overlaps another: each call here returns (a copy of the handlers to run)
    // before any handler runs, so a handler that adds or removes one starts a fresh access.
    @exclusivity(unchecked) private var handlers = SocketIOListenerTable<EventHandler>()
    @exclusivity(unchecked) private var anyHandlers = SocketIOListenerList<AnyHandler>()
    @exclusivity(unchecked) private var anyOutgoingHandlers = SocketIOListenerList<AnyHandler>()
    private var disconnectingHandlers = SocketIOListenerList<(String) -> Void>()
    private var disconnectHandlers = SocketIOListenerList<(String) -> Void>()
    private var errorHandlers = SocketIOListenerList<(any Error) -> Void>()
    @exclusivity(unchecked) private var packetMiddlewares: [SocketIOMiddlewareRun<SocketIOIncomingEvent, any Error>.Middleware] = []
    /// Events held by packet middlewares that have not answered (bounded by
    /// `maxPendingPacketsPerSocket`).
    private var pendingPackets = 0
    private var loggedPendingPackets = false
    private var lastListenerID: UInt64 = 0
    /// Set while `disconnecting` handlers run: the socket is still in its rooms, and a second
    /// close from one of them is ignored.
    private var closing = false
    private var pendingAcks: [UInt64: (timer: TimerID?, callback: (Result<SocketIOArguments, SocketIOAckError>) -> Void)] = [:]
    /// Whether a refused join was logged: once per socket, so a client asking for rooms in a loop
    /// writes one line, not one per request.
    private var loggedRefusedJoin = false

    init(id: String, namespace: SocketIONamespace, connection: SocketIOConnection, handshake: SocketIOHandshake,
         pid: String? = nil, recovered: Bool = false) {
        self.id = id
        self.pid = pid
        self.recovered = recovered
        self.namespace = namespace
        self.connection = connection
        self.handshake = handshake
    }

    /// The auth payload of the CONNECT packet (`{}` when none).
    public var auth: JSONValue { handshake.auth }

    /// The Engine.IO session this socket rides on (shared by the client's other namespaces).
    public var session: EngineIOSession { connection.session }

    // MARK: Handlers (Node's EventEmitter semantics; SocketIOListeners.swift)

    private func nextListenerID() -> SocketIOListenerID {
        lastListenerID &+= 1
        return SocketIOListenerID(value: lastListenerID)
    }

    /// Runs `handler` for each `event` from the client, after the handlers added before it (an
    /// event may have several, run in order). `ack` is non-nil when the client asked for an
    /// acknowledgement; call it once with the reply. Returns the id `off` removes it with.
    @discardableResult
    public func on(_ event: String, _ handler: @escaping EventHandler) -> SocketIOListenerID {
        let id = nextListenerID()
        handlers.add(event, .init(id: id, once: false, handler: handler))
        return id
    }

    /// Runs `handler` for the next `event` only.
    @discardableResult
    public func once(_ event: String, _ handler: @escaping EventHandler) -> SocketIOListenerID {
        let id = nextListenerID()
        handlers.add(event, .init(id: id, once: true, handler: handler))
        return id
    }

    /// Like `on`, but runs `handler` before the event's other handlers (Node's `prependListener`).
    @discardableResult
    public func prepend(_ event: String, _ handler: @escaping EventHandler) -> SocketIOListenerID {
        let id = nextListenerID()
        handlers.add(event, .init(id: id, once: false, handler: handler), prepend: true)
        return id
    }

    /// Removes the handler `id` (of any kind: `on`, `once`, `onAny`, `onAnyOutgoing`,
    /// `onDisconnecting`, `onDisconnect`). Returns whether it was there.
    @discardableResult
    public func off(_ id: SocketIOListenerID) -> Bool {
        handlers.remove(id) || anyHandlers.remove(id) || anyOutgoingHandlers.remove(id)
            || disconnectingHandlers.remove(id) || disconnectHandlers.remove(id) || errorHandlers.remove(id)
    }

    /// Removes every handler of `event` (Node's `removeAllListeners(event)`).
    public func off(_ event: String) { handlers.removeAll(event) }

    /// How many handlers `event` has.
    public func listenerCount(_ event: String) -> Int { handlers.count(event) }

    /// Runs `handler` for every event from the client, before the event's own handlers.
    @discardableResult
    public func onAny(_ handler: @escaping AnyHandler) -> SocketIOListenerID {
        let id = nextListenerID()
        anyHandlers.add(.init(id: id, once: false, handler: handler))
        return id
    }

    /// Like `onAny`, but runs `handler` before the other catch-all handlers.
    @discardableResult
    public func prependAny(_ handler: @escaping AnyHandler) -> SocketIOListenerID {
        let id = nextListenerID()
        anyHandlers.add(.init(id: id, once: false, handler: handler), prepend: true)
        return id
    }

    /// Removes the catch-all handler `id`, or all of them.
    public func offAny(_ id: SocketIOListenerID? = nil) {
        if let id { anyHandlers.remove(id) } else { anyHandlers.removeAll() }
    }

    /// Runs `handler` for every event sent to this client: its own emits (`emit`, `emitWithAck`,
    /// with a nil ack) and the broadcasts made on this loop that reach it. Broadcasts relayed from
    /// other loops or processes arrive encoded and are not decoded for it.
    @discardableResult
    public func onAnyOutgoing(_ handler: @escaping AnyHandler) -> SocketIOListenerID {
        let id = nextListenerID()
        anyOutgoingHandlers.add(.init(id: id, once: false, handler: handler))
        return id
    }

    /// Like `onAnyOutgoing`, but runs `handler` before the other outgoing catch-all handlers.
    @discardableResult
    public func prependAnyOutgoing(_ handler: @escaping AnyHandler) -> SocketIOListenerID {
        let id = nextListenerID()
        anyOutgoingHandlers.add(.init(id: id, once: false, handler: handler), prepend: true)
        return id
    }

    /// Removes the outgoing catch-all handler `id`, or all of them.
    public func offAnyOutgoing(_ id: SocketIOListenerID? = nil) {
        if let id { anyOutgoingHandlers.remove(id) } else { anyOutgoingHandlers.removeAll() }
    }

    /// Runs `handler` with the reason when the socket is about to disconnect, while it is still in
    /// its rooms (`rooms` is intact, emits to it still go out if its transport is open): the
    /// reference's `disconnecting` event.
    @discardableResult
    public func onDisconnecting(_ handler: @escaping (String) -> Void) -> SocketIOListenerID {
        let id = nextListenerID()
        disconnectingHandlers.add(.init(id: id, once: false, handler: handler))
        return id
    }

    /// Runs `handler` with the reason once the socket has disconnected and left its rooms. The
    /// reasons are the reference's: "client namespace disconnect", "server namespace disconnect"
    /// (`disconnect()`, with or without `close`), "transport close", "transport error",
    /// "ping timeout", "parse error", "forced close", "server shutting down"; and
    /// "payload too large", ours, for a POST over `maxPayload`.
    @discardableResult
    public func onDisconnect(_ handler: @escaping (String) -> Void) -> SocketIOListenerID {
        let id = nextListenerID()
        disconnectHandlers.add(.init(id: id, once: false, handler: handler))
        return id
    }

    // MARK: Packet middlewares

    /// Adds a packet middleware (the reference's `socket.use`): it sees each incoming event before
    /// the handlers (`onAny` included) and calls `next` once, now or later: with nil to let it
    /// through, with an error to drop it and run the `onError` handlers with that error. Not
    /// calling `next` (and letting it go) drops the event silently. While `next` is held the event
    /// is too: at most `maxPendingPacketsPerSocket` of them per socket, the next ones dropped.
    public func use(_ middleware: @escaping (SocketIOIncomingEvent, _ next: @escaping ((any Error)?) -> Void) -> Void) {
        packetMiddlewares.append(middleware)
    }

    /// Adds a packet middleware that answers at once: nil lets the event through, an error drops
    /// it and goes to the `onError` handlers.
    public func use(_ middleware: @escaping (SocketIOIncomingEvent) -> (any Error)?) {
        packetMiddlewares.append { event, next in next(middleware(event)) }
    }

    /// Runs `handler` with the error a packet middleware failed an event with (the reference's
    /// `socket.on("error")`).
    @discardableResult
    public func onError(_ handler: @escaping (any Error) -> Void) -> SocketIOListenerID {
        let id = nextListenerID()
        errorHandlers.add(.init(id: id, once: false, handler: handler))
        return id
    }

    /// Runs the outgoing catch-all handlers for an event sent to this client.
    @inline(__always)
    func notifyOutgoing(_ event: String, _ args: SocketIOArguments) {
        guard !anyOutgoingHandlers.isEmpty else { return }
        for entry in anyOutgoingHandlers.firing() { entry.handler(event, args, nil) }
    }

    // MARK: Emitting

    /// Emits `event` to this client.
    public func emit(_ event: String, _ args: JSONValue...) { emit(event, SocketIOArguments(args)) }

    public func emit(_ event: String, _ args: SocketIOArguments) { emit(event, args, compress: true) }

    func emit(_ event: String, _ args: SocketIOArguments, compress: Bool) {
        guard connected else { return }
        notifyOutgoing(event, args)
        let packet = eventPacket(event, args, id: nil)
        if namespace.recordsForRecovery {
            // Logged for recovery, to this socket's own room, with its offset (as the reference
            // sends a socket's emits through its adapter when recovery is on).
            var plain: [UInt8] = []
            SocketIOPacketEncoder.write(packet, into: &plain)
            if let message = plain.withUnsafeBytes({ namespace.recordEvent($0, attachments: packet.attachments, rooms: [id], except: []) }) {
                message.compress = compress
                connection.session.send(message)
                for attachment in packet.attachments { connection.session.send(binary: attachment, compress: compress) }
                return
            }
        }
        if compress { connection.send(packet) } else { connection.send(packet, compress: false) }
    }

    /// Emits that are dropped rather than queued when the client's transport is not writable
    /// now (a long poll not waiting, a WebSocket with bytes unwritten): the reference's
    /// `socket.volatile.emit`, for data that is stale by the time it could be delivered.
    public var volatile: SocketIOSocketEmit { SocketIOSocketEmit(socket: self, isVolatile: true, timeout: nil) }

    /// Emits whose callback gets the client's ack, or `.timeout` after `timeout`: the
    /// reference's `socket.timeout(ms).emit(event, ..., callback)`.
    public func timeout(_ timeout: Duration) -> SocketIOSocketEmit {
        SocketIOSocketEmit(socket: self, isVolatile: false, timeout: timeout)
    }

    /// Emits sent plain with `false`: no permessage-deflate for their frames when the WebSocket
    /// agreed it, and no compression asked for the poll answer that carries them (the reference's
    /// `socket.compress(false).emit`). `true` is every emit's default: compressed from the
    /// threshold on.
    public func compress(_ compress: Bool) -> SocketIOSocketEmit {
        SocketIOSocketEmit(socket: self, isVolatile: false, timeout: nil, compress: compress)
    }

    /// Emits `event` and asks for an acknowledgement: `callback` runs once, with the client's
    /// reply, or `.timeout` after `timeout` (a timer in the loop's wheel), or `.disconnected`.
    public func emitWithAck(
        _ event: String, _ args: SocketIOArguments = [], timeout: Duration,
        _ callback: @escaping (Result<SocketIOArguments, SocketIOAckError>) -> Void
    ) {
        emitWithAck(event, args, timeout: timeout, compress: true, callback)
    }

    func emitWithAck(
        _ event: String, _ args: SocketIOArguments, timeout: Duration, compress: Bool,
        _ callback: @escaping (Result<SocketIOArguments, SocketIOAckError>) -> Void
    ) {
        guard connected else {
            callback(.failure(.disconnected))
            return
        }
        let ackID = namespace.nextAckID()
        let timer = connection.server.loop.schedule(after: timeout) { [weak self] in
            guard let self, let pending = self.pendingAcks.removeValue(forKey: ackID) else { return }
            pending.callback(.failure(.timeout))
        }
        pendingAcks[ackID] = (timer, callback)
        notifyOutgoing(event, args)
        connection.send(eventPacket(event, args, id: ackID), compress: compress)
    }

    /// Waits for the client's answer to ack id `id` (a broadcast's, sent by the caller): false
    /// when the socket is disconnected.
    func expectAck(_ id: UInt64, _ callback: @escaping (Result<SocketIOArguments, SocketIOAckError>) -> Void) -> Bool {
        guard connected else { return false }
        pendingAcks[id] = (nil, callback)
        return true
    }

    /// Stops waiting for ack id `id` (its broadcast's timeout passed).
    func forgetAck(_ id: UInt64) {
        pendingAcks[id] = nil
    }

    /// A broadcast to `room`, excluding this socket.
    public func to(_ room: String) -> SocketIOBroadcast { SocketIOBroadcast(namespace: namespace).to(room).except(id) }

    /// Same as `to`.
    public func `in`(_ room: String) -> SocketIOBroadcast { to(room) }

    /// A broadcast to every other socket of the namespace.
    public var broadcast: SocketIOBroadcast { SocketIOBroadcast(namespace: namespace).except(id) }

    func eventPacket(_ event: String, _ args: SocketIOArguments, id: UInt64?) -> SocketIOPacket {
        var data: [JSONValue] = [.string(event)]
        data += args.values
        return SocketIOPacket(.event, namespace: namespace.name, id: id, data: .array(data), attachments: args.attachments)
    }

    // MARK: Rooms

    /// Joins `room` (created if needed). Returns false, and joins nothing, when the socket is
    /// disconnected, the name is longer than `maxRoomNameBytes`, or the socket is already in
    /// `maxRoomsPerSocket` rooms (a room it is already in is joined again at no cost).
    @discardableResult
    public func join(_ room: String) -> Bool {
        guard connected else { return false }
        if rooms.contains(room) { return true }
        let limits = namespace.server.configuration
        guard room.utf8.count <= limits.maxRoomNameBytes, rooms.count < limits.maxRoomsPerSocket else {
            if !loggedRefusedJoin {
                loggedRefusedJoin = true
                namespace.server.log("socket \(id): join refused (\(rooms.count) rooms, name of \(room.utf8.count) bytes; limits \(limits.maxRoomsPerSocket) rooms, \(limits.maxRoomNameBytes) bytes); further refusals not logged")
            }
            return false
        }
        rooms.insert(room)
        namespace.addToRoom(room, id)
        return true
    }

    /// The middlewares let it in.
    func didConnect() { connected = true }

    /// Joins the room named by the socket's id, which every socket is in whatever the limits.
    func joinOwnRoom() {
        guard connected, rooms.insert(id).inserted else { return }
        namespace.addToRoom(id, id)
    }

    /// Leaves `room` (dropped with its last member).
    public func leave(_ room: String) {
        guard rooms.remove(room) != nil else { return }
        namespace.removeFromRoom(room, id)
    }

    // MARK: Disconnecting

    /// Disconnects this socket from its namespace (the client gets DISCONNECT). With `close`,
    /// the whole Engine.IO session closes, and every namespace of the client with it.
    public func disconnect(close: Bool = false) {
        guard connected else { return }
        if close {
            // As the reference (`client._disconnect()`): every socket of the client is
            // disconnected from its namespace (DISCONNECT, "server namespace disconnect"), then
            // the session closes.
            connection.disconnectAllSockets()
            connection.session.close()
            return
        }
        connection.send(SocketIOPacket(.disconnect, namespace: namespace.name))
        closed(reason: "server namespace disconnect")
    }

    // MARK: From the connection

    func receiveEvent(_ packet: SocketIOPacket) {
        guard connected, case .array(let data)? = packet.data, let first = data.first else { return }
        let event = first.stringValue ?? first.serialized()
        let args = SocketIOArguments(Array(data.dropFirst()), attachments: packet.attachments)
        let ack = packet.id.map { SocketIOAck(socket: self, id: $0) }
        if packetMiddlewares.isEmpty { return dispatch(event, args, ack) }
        guard pendingPackets < namespace.server.configuration.maxPendingPacketsPerSocket else {
            if !loggedPendingPackets {
                loggedPendingPackets = true
                namespace.server.log("socket \(id): event dropped, \(pendingPackets) held by packet middlewares already; further drops not logged")
            }
            return
        }
        pendingPackets += 1
        let run = SocketIOMiddlewareRun(packetMiddlewares, subject: SocketIOIncomingEvent(event: event, args: args, ack: ack)) { [weak self] failure in
            guard let self, self.connected else { return }
            if let failure {
                for entry in self.errorHandlers.firing() { entry.handler(failure) }
            } else {
                self.dispatch(event, args, ack)
            }
        }
        run.onRelease = { [weak self] in self?.pendingPackets -= 1 }
        run.start()
    }

    /// Runs the catch-all handlers, then the event's.
    private func dispatch(_ event: String, _ args: SocketIOArguments, _ ack: SocketIOAck?) {
        if !anyHandlers.isEmpty {
            for entry in anyHandlers.firing() { entry.handler(event, args, ack) }
        }
        for entry in handlers.firing(event) {
            guard connected else { return }  // a handler disconnected it
            entry.handler(args, ack)
        }
    }

    func receiveAck(_ packet: SocketIOPacket) {
        guard let ackID = packet.id, let pending = pendingAcks.removeValue(forKey: ackID) else { return }
        if let timer = pending.timer { connection.server.loop.cancel(timer) }
        let values = packet.data?.arrayValue ?? []
        pending.callback(.success(SocketIOArguments(values, attachments: packet.attachments)))
    }

    /// Leaves every room and the namespace, fails pending acks, runs the disconnect handlers and
    /// drops every handler (they often capture the socket: this breaks the cycle).
    func closed(reason: String) {
        guard connected, !closing else { return }
        closing = true
        // `disconnecting`: still connected, still in its rooms.
        for entry in disconnectingHandlers.firing() { entry.handler(reason) }
        namespace.persist(self, reason: reason)  // before its rooms go
        connected = false
        for room in rooms { namespace.removeFromRoom(room, id) }
        rooms.removeAll()
        namespace.remove(self)
        connection.socketDidClose(self)
        let acks = pendingAcks
        pendingAcks.removeAll()
        for (_, pending) in acks {
            if let timer = pending.timer { connection.server.loop.cancel(timer) }
            pending.callback(.failure(.disconnected))
        }
        let onDisconnect = disconnectHandlers.firing()
        handlers.removeAll()
        anyHandlers.removeAll()
        anyOutgoingHandlers.removeAll()
        disconnectingHandlers.removeAll()
        disconnectHandlers.removeAll()
        errorHandlers.removeAll()
        packetMiddlewares.removeAll()
        for entry in onDisconnect { entry.handler(reason) }
    }
}

/// An emit to one socket with the reference's modifiers (`socket.volatile`, `socket.timeout`,
/// `socket.compress`), chainable: `socket.volatile.timeout(.seconds(1)).emit("tick", []) { result in … }`.
public struct SocketIOSocketEmit {
    public let socket: SocketIOSocket
    public private(set) var isVolatile: Bool
    public private(set) var timeout: Duration?
    /// Whether the emit may be compressed (`compress(false)`: sent plain).
    public private(set) var isCompressed: Bool

    init(socket: SocketIOSocket, isVolatile: Bool, timeout: Duration?, compress: Bool = true) {
        self.socket = socket
        self.isVolatile = isVolatile
        self.timeout = timeout
        self.isCompressed = compress
    }

    public func compress(_ compress: Bool) -> SocketIOSocketEmit {
        var copy = self
        copy.isCompressed = compress
        return copy
    }

    public var volatile: SocketIOSocketEmit {
        var copy = self
        copy.isVolatile = true
        return copy
    }

    public func timeout(_ timeout: Duration) -> SocketIOSocketEmit {
        var copy = self
        copy.timeout = timeout
        return copy
    }

    /// Whether a volatile emit goes out now.
    private var passes: Bool { !isVolatile || socket.session.isWritable }

    /// Emits `event` (dropped, when volatile, if the transport is not writable).
    public func emit(_ event: String, _ args: JSONValue...) { emit(event, SocketIOArguments(args)) }

    public func emit(_ event: String, _ args: SocketIOArguments) {
        guard passes else { return }
        socket.emit(event, args, compress: isCompressed)
    }

    /// Emits `event` asking for an ack; `callback` gets the reply, or `.timeout` after the
    /// modifier's timeout (5 s without one). A volatile emit that is dropped fails at once
    /// with `.timeout`, as the reference's would once its timer ran out.
    public func emit(_ event: String, _ args: SocketIOArguments,
                     _ callback: @escaping (Result<SocketIOArguments, SocketIOAckError>) -> Void) {
        guard passes else { return callback(.failure(.timeout)) }
        socket.emitWithAck(event, args, timeout: timeout ?? .seconds(5), compress: isCompressed, callback)
    }
}

/// The acknowledgement a client asked for with an event: call it once with the reply.
///
///     socket.on("echo") { args, ack in ack?.send(args) }
///     socket.on("join") { args, ack in ack?(["ok": true]) }
public final class SocketIOAck {
    public let id: UInt64
    private weak var socket: SocketIOSocket?
    /// Whether the reply has been sent (a second call is ignored).
    public private(set) var isSent = false

    init(socket: SocketIOSocket, id: UInt64) {
        self.socket = socket
        self.id = id
    }

    /// Replies with `args`.
    public func send(_ args: SocketIOArguments) {
        guard !isSent, let socket, socket.connected else { return }
        isSent = true
        socket.connection.send(SocketIOPacket(.ack, namespace: socket.namespace.name, id: id,
                                              data: .array(args.values), attachments: args.attachments))
    }

    /// Replies with these values.
    public func callAsFunction(_ values: JSONValue...) { send(SocketIOArguments(values)) }
}
