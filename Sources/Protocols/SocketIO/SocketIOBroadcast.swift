/// An emit to many sockets of a namespace: all of them, those in some rooms, minus those in
/// others. Built by `namespace.to(_:)`, `socket.to(_:)` (which excludes the socket itself),
/// `socket.broadcast`, and chained:
///
///     io.of("/chat").to("r1").to("r2").except("muted").emit("news", "hello")
///
/// The packet is encoded once; each of its Engine.IO messages is then encoded once per
/// transport (one shared WebSocket frame, one polling packet) however many sockets receive it.
public struct SocketIOBroadcast {
    public let namespace: SocketIONamespace
    public private(set) var rooms: Set<String> = []
    public private(set) var exceptRooms: Set<String> = []

    init(namespace: SocketIONamespace) {
        self.namespace = namespace
    }

    /// Adds `room` to the rooms addressed (no room at all means the whole namespace).
    public func to(_ room: String) -> SocketIOBroadcast {
        var copy = self
        copy.rooms.insert(room)
        return copy
    }

    /// Same as `to`.
    public func `in`(_ room: String) -> SocketIOBroadcast { to(room) }

    /// Leaves out the sockets in `room` (a socket id names a one-socket room).
    public func except(_ room: String) -> SocketIOBroadcast {
        var copy = self
        copy.exceptRooms.insert(room)
        return copy
    }

    /// The sockets this broadcast reaches, in no particular order.
    public var sockets: [SocketIOSocket] {
        var excluded = Set<String>()
        for room in exceptRooms { excluded.formUnion(namespace.socketIDs(in: room)) }
        let ids: Set<String>
        if rooms.isEmpty {
            ids = Set(namespace.sockets.keys)
        } else if rooms.count == 1 {
            ids = namespace.socketIDs(in: rooms.first!)
        } else {
            var union = Set<String>()
            for room in rooms { union.formUnion(namespace.socketIDs(in: room)) }
            ids = union
        }
        return ids.subtracting(excluded).compactMap { namespace.socket(id: $0) }
    }

    /// Emits `event` to every socket reached.
    public func emit(_ event: String, _ args: JSONValue...) { emit(event, SocketIOArguments(args)) }

    public func emit(_ event: String, _ args: SocketIOArguments) {
        let targets = sockets
        guard !targets.isEmpty else { return }
        var data: [JSONValue] = [.string(event)]
        data += args.values
        let packet = SocketIOPacket(.event, namespace: namespace.name, data: .array(data), attachments: args.attachments)
        let counters = namespace.server.engine.counters
        // One text message and one binary message per attachment, each shared by every target.
        var messages = [EngineIOMessage(counters: counters) { SocketIOPacketEncoder.write(packet, into: &$0) }]
        for attachment in packet.attachments { messages.append(EngineIOMessage(binary: attachment, counters: counters)) }
        for socket in targets {
            for message in messages { socket.session.send(message) }
        }
    }

    /// Disconnects every socket reached (with `close`, their whole sessions).
    public func disconnectSockets(close: Bool = false) {
        for socket in sockets { socket.disconnect(close: close) }
    }

    /// Makes every socket reached join `room`.
    public func socketsJoin(_ room: String) {
        for socket in sockets { socket.join(room) }
    }

    /// Makes every socket reached leave `room`.
    public func socketsLeave(_ room: String) {
        for socket in sockets { socket.leave(room) }
    }
}
