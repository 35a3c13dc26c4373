import Protocols
import Reactor

/// What a client sent when it connected to a namespace.
public struct SocketIOHandshake: Sendable {
    /// The CONNECT packet's payload (`{}` when the client sent none).
    public let auth: JSONValue
    /// The undecoded query of the request that opened the Engine.IO session.
    public let query: String
    /// The client's address.
    public let address: SocketAddress?
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

    /// The socket id: random, distinct from the Engine.IO session id, one per namespace.
    public let id: String
    public let namespace: SocketIONamespace
    public let handshake: SocketIOHandshake
    /// Room for the application's per-socket state.
    public var context: AnyObject?
    public private(set) var connected = true
    /// The rooms this socket is in, its own id room included.
    public private(set) var rooms: Set<String> = []
    /// Whether this socket is one that dropped and came back with its id, rooms and missed
    /// packets (connection state recovery), rather than a new one.
    public let recovered: Bool
    /// The private session id the client recovers with (never shared, unlike `id`); nil with
    /// recovery off.
    let pid: String?

    let connection: SocketIOConnection
    private var handlers: [String: EventHandler] = [:]
    private var anyHandlers: [(String, SocketIOArguments, SocketIOAck?) -> Void] = []
    private var disconnectHandlers: [(String) -> Void] = []
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

    // MARK: Handlers

    /// Runs `handler` for each `event` from the client. `ack` is non-nil when the client asked
    /// for an acknowledgement; call it once with the reply.
    public func on(_ event: String, _ handler: @escaping EventHandler) {
        handlers[event] = handler
    }

    /// Runs `handler` for every event (before the event's own handler).
    public func onAny(_ handler: @escaping (String, SocketIOArguments, SocketIOAck?) -> Void) {
        anyHandlers.append(handler)
    }

    /// Runs `handler` with the reason when the socket disconnects ("client namespace disconnect",
    /// "server namespace disconnect", "transport close", "ping timeout", ...).
    public func onDisconnect(_ handler: @escaping (String) -> Void) {
        disconnectHandlers.append(handler)
    }

    // MARK: Emitting

    /// Emits `event` to this client.
    public func emit(_ event: String, _ args: JSONValue...) { emit(event, SocketIOArguments(args)) }

    public func emit(_ event: String, _ args: SocketIOArguments) {
        guard connected else { return }
        let packet = eventPacket(event, args, id: nil)
        if namespace.recordsForRecovery {
            // Logged for recovery, to this socket's own room, with its offset (as the reference
            // sends a socket's emits through its adapter when recovery is on).
            var plain: [UInt8] = []
            SocketIOPacketEncoder.write(packet, into: &plain)
            if let message = plain.withUnsafeBytes({ namespace.recordEvent($0, attachments: packet.attachments, rooms: [id], except: []) }) {
                connection.session.send(message)
                for attachment in packet.attachments { connection.session.send(binary: attachment) }
                return
            }
        }
        connection.send(packet)
    }

    /// Emits `event` and asks for an acknowledgement: `callback` runs once, with the client's
    /// reply, or `.timeout` after `timeout` (a timer in the loop's wheel), or `.disconnected`.
    public func emitWithAck(
        _ event: String, _ args: SocketIOArguments = [], timeout: Duration,
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
        connection.send(eventPacket(event, args, id: ackID))
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
            connection.session.close()  // disconnects every socket of the client
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
        for handler in anyHandlers { handler(event, args, ack) }
        handlers[event]?(args, ack)
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
        guard connected else { return }
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
        let onDisconnect = disconnectHandlers
        handlers.removeAll()
        anyHandlers.removeAll()
        disconnectHandlers.removeAll()
        for handler in onDisconnect { handler(reason) }
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
