import Protocols
import Reactor

/// An emit to many sockets of a namespace: all of them, those in some rooms, minus those in
/// others. Built by `namespace.to(_:)`, `socket.to(_:)` (which excludes the socket itself),
/// `socket.broadcast`, and chained:
///
///     io.of("/chat").to("r1").to("r2").except("muted").emit("news", "hello")
///
/// The packet is encoded once; each of its Engine.IO messages is then encoded once per
/// transport (one shared WebSocket frame, one polling packet) however many sockets receive it.
///
/// When the server relays broadcasts (`SocketIOServer.relayBroadcasts(through:)`), an emit also
/// goes, as that encoded packet with its rooms and except-rooms (`SocketIOBroadcastEnvelope`), to
/// the servers of the other loops and processes, which deliver it to their own sockets the same
/// way, each encoding its frames once. `.local` keeps an emit on this loop.
public struct SocketIOBroadcast {
    public let namespace: SocketIONamespace
    public private(set) var rooms: Set<String> = []
    public private(set) var exceptRooms: Set<String> = []
    /// Whether the emit stays on this loop (`.local`).
    public private(set) var isLocal = false
    /// Whether a socket whose transport is not writable now is skipped (`.volatile`).
    public private(set) var isVolatile = false
    /// Whether the packet may be compressed (`compress(false)`: not).
    public private(set) var isCompressed = true

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

    /// The same broadcast, reaching only this loop's sockets, not the other loops and processes the
    /// server relays to.
    public var local: SocketIOBroadcast {
        var copy = self
        copy.isLocal = true
        return copy
    }

    /// The same broadcast, dropped rather than queued for each socket whose transport is not
    /// writable now (a long poll not waiting, a WebSocket with bytes unwritten), as
    /// `socket.volatile` does for one socket: the reference's `io.volatile.emit`. A client that
    /// does not read then misses these packets, and its queue does not grow with them; on the
    /// other loops and processes the same rule applies to their sockets.
    public var volatile: SocketIOBroadcast {
        var copy = self
        copy.isVolatile = true
        return copy
    }

    /// The same broadcast, with `false` sent without compression: its poll answers are not
    /// compressed for it (its WebSocket frame, shared by every recipient, is never compressed).
    /// The reference's `io.compress(false).emit`.
    public func compress(_ compress: Bool) -> SocketIOBroadcast {
        var copy = self
        copy.isCompressed = compress
        return copy
    }

    private var flags: SocketIOBroadcastEnvelope.Flags { .init(volatile: isVolatile, compress: isCompressed) }

    /// This loop's sockets this broadcast reaches, in no particular order.
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
        let hub = isLocal ? nil : namespace.server.hub.flatMap { $0.reachesOtherLoops ? $0 : nil }
        // With recovery on, a broadcast is logged even when it reaches no one connected here: a
        // dropped member may come back for it.
        guard !targets.isEmpty || hub != nil || namespace.recordsForRecovery else { return }
        var data: [JSONValue] = [.string(event)]
        data += args.values
        let packet = SocketIOPacket(.event, namespace: namespace.name, data: .array(data), attachments: args.attachments)
        let plain = EngineIOMessage(counters: namespace.server.engine.counters) { SocketIOPacketEncoder.write(packet, into: &$0) }
        // With recovery on, the packet as logged, its offset appended: what every loop sends.
        let text = recorded(plain, attachments: packet.attachments) ?? plain
        send(text, attachments: packet.attachments, to: targets)
        for socket in targets { socket.notifyOutgoing(event, args) }
        guard let hub else { return }
        // The packet's text as just encoded, less Engine.IO's type digit: no second JSON encoding.
        let envelope = text.packet.withUnsafeBytes { bytes in
            SocketIOBroadcastEnvelope.encode(namespace: namespace.name, rooms: rooms, except: exceptRooms,
                                             packet: UnsafeRawBufferPointer(rebasing: bytes.dropFirst()), attachments: packet.attachments,
                                             flags: flags)
        }
        hub.broadcastElsewhere(SharedBytes(envelope), on: namespace.relayChannel)
        namespace.relayedOut += 1
    }

    /// Delivers a packet encoded elsewhere (its text part, and its attachments) to every socket
    /// reached: a relayed broadcast.
    /// (With recovery on, the loop that made it logged it in the store the loops share, and its
    /// text carries its offset already.)
    func deliver(text: [UInt8], attachments: [[UInt8]]) {
        let targets = sockets
        guard !targets.isEmpty else { return }
        send(EngineIOMessage(counters: namespace.server.engine.counters) { $0 += text }, attachments: attachments, to: targets)
    }

    /// With recovery on, `text` logged in the loops' shared store, with its offset appended; nil
    /// with recovery off.
    private func recorded(_ text: EngineIOMessage, attachments: [[UInt8]]) -> EngineIOMessage? {
        guard namespace.recordsForRecovery else { return nil }
        return text.packet.withUnsafeBytes { bytes in
            namespace.recordEvent(UnsafeRawBufferPointer(rebasing: bytes.dropFirst()), attachments: attachments, rooms: rooms, except: exceptRooms)
        }
    }

    /// One text message and one binary message per attachment, each shared by every target, and
    /// handed to each through its connection's slow-consumer gate (SocketIOBroadcastDelivery.swift).
    private func send(_ text: EngineIOMessage, attachments: [[UInt8]], to targets: [SocketIOSocket]) {
        guard !targets.isEmpty else { return }
        var messages = [text]
        for attachment in attachments { messages.append(EngineIOMessage(binary: attachment, counters: namespace.server.engine.counters)) }
        if !isCompressed { for m in messages { m.compress = false } }
        for socket in targets { socket.connection.deliver(broadcast: messages, volatile: isVolatile) }
    }
}
