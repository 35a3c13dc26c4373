import Protocols
import Reactor

/// Options of a Socket.IO server. The defaults are the reference server's.
public struct SocketIOConfiguration: Sendable {
    /// The Engine.IO layer: heartbeats, `maxPayload`, upgrades.
    public var engine = EngineIOConfiguration()
    /// A client that has joined no namespace this long after its session opened is closed.
    public var connectTimeout: Duration = .milliseconds(45_000)
    /// Packet decoding limits (attachments per packet, JSON depth).
    public var decoder = SocketIOPacketDecoder()
    /// Most rooms one socket may be in, its own id room included: a join past it is refused
    /// (`join` returns false), so a client that joins whatever it is sent cannot grow the
    /// namespace's room table without bound.
    public var maxRoomsPerSocket = 1_000
    /// Longest room name in UTF-8 bytes: a longer one is refused by `join`.
    public var maxRoomNameBytes = 256
    /// Most incoming events of one socket its packet middlewares (`socket.use`) may hold at once,
    /// not yet answered: past it, an event is dropped (and logged), so a client cannot grow what
    /// a slow middleware holds. The reference has no such bound.
    public var maxPendingPacketsPerSocket = 100
    /// Most counted cluster requests (broadcasts asking for acks, `serverSideEmitWithAck`,
    /// `fetchSockets`) one namespace of one loop may have waiting for answers at once: past it, a
    /// new one fails at once with no answers (and a log line), so neither callers nor peers
    /// answering slowly can grow the table without bound. The reference has no such bound.
    public var maxPendingClusterRequests = 1_000
    /// Most bytes of answers (JSON text and attachments) one cluster request keeps: past it,
    /// answers still count toward completion but are dropped (and a line is logged), so a reply
    /// from a peer (a `fetchSockets` of a process with many sockets) cannot grow it without bound.
    public var maxClusterAnswerBytes = 8 << 20
    /// Connection state recovery (the reference's `connectionStateRecovery`): nil, off, as the
    /// reference's default.
    public var connectionStateRecovery: SocketIOConnectionStateRecovery?
    /// Most children the dynamic namespaces (`of(matching:)`) of one server (one loop) may have
    /// at once: a client asking for a new name past it gets CONNECT_ERROR "Too many namespaces".
    /// Clients choose the names, so without it one could make a namespace (a table entry, a relay
    /// channel) per name it tries. The reference has no such bound.
    public var maxChildNamespaces = 1_000
    /// Longest namespace name a client may make a child of, in UTF-8 bytes: a longer one matches
    /// no rule ("Invalid namespace"), and no rule ever sees it.
    public var maxNamespaceNameBytes = 256
    /// Most namespaces one client may be in, or asking to join, at once: a CONNECT past it gets
    /// CONNECT_ERROR "Too many namespaces". The reference has no such bound.
    public var maxNamespacesPerClient = 100
    /// Whether a child namespace left with no socket is dropped (its sockets gone, its rooms with
    /// them), so names tried once do not hold places under `maxChildNamespaces`: the reference's
    /// `cleanupEmptyChildNamespaces`, which is off there; on here, as the bound needs it.
    public var cleanupEmptyChildNamespaces = true

    public init() {}
}

/// Connection state recovery as Socket.IO 4.6 defines it (SocketIORecoveryStore.swift): a client
/// that dropped (transport close, ping timeout, ...) and reconnects within
/// `maxDisconnectionDuration` with its private session id and last offset gets its socket id, its
/// rooms and every packet it missed back, and `socket.recovered` is true. The reference's
/// defaults: 2 minutes, middlewares skipped on recovery.
///
/// The state lives in `stores`, which every copy of this value shares: give the servers of every
/// loop the same value (made once, before the loops' setups) and a client recovers whichever loop
/// its new connection lands on (SocketIORecoveryStores.swift).
public struct SocketIOConnectionStateRecovery: Sendable {
    /// The window, and the bounds on what each namespace keeps (packets and dropped sessions,
    /// by count and bytes).
    public var limits = SocketIORecoveryStore.Limits()
    /// Whether a recovered socket skips the namespace's middlewares (`use`).
    public var skipMiddlewares = true
    /// The packets and dropped sessions of every namespace, shared by every copy of this value.
    public let stores = SocketIORecoveryStores()

    public var maxDisconnectionDuration: Duration {
        get { limits.maxDisconnectionDuration }
        set { limits.maxDisconnectionDuration = newValue }
    }

    public init(maxDisconnectionDuration: Duration = .seconds(120), skipMiddlewares: Bool = true) {
        self.limits.maxDisconnectionDuration = maxDisconnectionDuration
        self.skipMiddlewares = skipMiddlewares
    }
}

/// A Socket.IO v5 server (`io`) on one loop, on top of an `EngineIOServer`.
///
///     let io = SocketIOServer(loop: loop)
///     io.install(on: router)                       // serves /socket.io/
///     io.of("/chat").on("connection") { socket in
///         socket.on("msg") { args, ack in
///             socket.to("r1").emit("msg", args)    // everyone in r1 but the sender
///             ack?("ok")
///         }
///         socket.join("r1")
///     }
///
/// Namespaces exist once `of(_:)` has named them, or, for a dynamic namespace (`of(matching:)`),
/// once a client connects to a name its rule accepts; a client asking for another one gets
/// CONNECT_ERROR "Invalid namespace". Everything runs on the loop's thread.
///
/// One server belongs to one loop: its sessions and rooms live there. Loops that share a port
/// (SO_REUSEPORT) each see only some of a polling client's requests: join each loop's server to
/// one `EngineIOLoopGroup` (`io.engine.join(group, index:)`) and a request that lands on another
/// loop than its session's is handed to that loop, so no sticky sessions are needed inside the
/// process (across processes they still are). Broadcasts reach the sockets of other loops and
/// processes once the server relays them through a hub (`relayBroadcasts(through:)`).
public final class SocketIOServer {
    public let loop: EventLoop
    public let configuration: SocketIOConfiguration
    public let engine: EngineIOServer
    /// One line per rejected packet or failed client: the engine's log, shared by both layers.
    public var log: RateLimitedLog {
        get { engine.log }
        set { engine.log = newValue }
    }
    private var namespaces: [String: SocketIONamespace] = [:]
    /// The dynamic namespaces' parents, in the order their rules are asked.
    private var parents: [SocketIOParentNamespace] = []
    /// Children of every parent, together (bounded by `maxChildNamespaces`).
    public private(set) var childNamespaceCount = 0
    /// The hub whose relay carries broadcasts to the servers of other loops and processes.
    public private(set) var hub: PubSub?

    public init(loop: EventLoop, configuration: SocketIOConfiguration = SocketIOConfiguration()) {
        self.loop = loop
        self.configuration = configuration
        self.engine = EngineIOServer(loop: loop, configuration: configuration.engine)
        engine.log = RateLimitedLog(sink: .standardError(), level: .info, label: "socket.io: ", loop: loop)
        // The main namespace always exists, as in the reference server.
        namespaces["/"] = SocketIONamespace(name: "/", server: self)
        // Strong: the engine (kept by the router) keeps the Socket.IO layer alive with it.
        engine.onConnection = { [self] session in
            session.delegate = SocketIOConnection(server: self, session: session)
        }
    }

    /// Serves Socket.IO on every path under `path`.
    public func install(on router: HTTPRouter, path: String = "/socket.io/") {
        engine.install(on: router, path: path)
    }

    /// The namespace named `name` (`/chat`; a missing leading slash is added), created on first use.
    public func of(_ name: String) -> SocketIONamespace {
        let name = name.hasPrefix("/") ? name : "/" + name
        if let ns = namespaces[name] { return ns }
        let ns = SocketIONamespace(name: name, server: self)
        namespaces[name] = ns
        if let hub { listen(ns, on: hub) }
        return ns
    }

    /// A dynamic namespace: every name `predicate` accepts (a client's CONNECT to a namespace that
    /// does not exist yet, its `auth` beside it) becomes a child of the returned parent on first
    /// connect (SocketIOParentNamespace.swift): the reference's `io.of(/regex/)`.
    public func of(matching predicate: @escaping (_ name: String, _ auth: JSONValue) -> Bool) -> SocketIOParentNamespace {
        of(matching: { name, auth, next in next(predicate(name, auth)) })
    }

    /// A dynamic namespace whose rule answers later: it calls `next` once, on the loop, with
    /// whether `name` belongs here (the reference's `io.of((name, auth, next) => …)`). A rule that
    /// has not answered within `connectTimeout` refuses the name ("Invalid namespace").
    public func of(matching predicate: @escaping SocketIOParentNamespace.Predicate) -> SocketIOParentNamespace {
        let parent = SocketIOParentNamespace(server: self, index: parents.count, predicate: predicate)
        parents.append(parent)
        return parent
    }

    /// Whether any dynamic namespace exists (else an unknown name is refused at once).
    var hasDynamicNamespaces: Bool { !parents.isEmpty }

    /// Asks the parents' rules, in order, whether `name` is one of theirs; `done` gets the first
    /// that says yes, or nil. Each rule's `next` counts once.
    func matchParent(_ name: String, auth: JSONValue, _ done: @escaping (SocketIOParentNamespace?) -> Void) {
        guard name.utf8.count <= configuration.maxNamespaceNameBytes else { return done(nil) }
        func ask(_ index: Int) {
            guard index < parents.count else { return done(nil) }
            let parent = parents[index]
            var answered = false
            parent.predicate(name, auth) { accepted in
                guard !answered else { return }
                answered = true
                if accepted { done(parent) } else { ask(index + 1) }
            }
        }
        ask(0)
    }

    /// The child `name` of `parent`: the one that exists (a rule answered late, after another
    /// client made it), or a new one with the parent's handlers; nil past `maxChildNamespaces`.
    func child(of parent: SocketIOParentNamespace, named name: String) -> SocketIONamespace? {
        if let existing = namespaces[name] { return existing }
        guard childNamespaceCount < configuration.maxChildNamespaces else { return nil }
        let child = SocketIONamespace(name: name, server: self)
        child.inherit(from: parent.template)
        child.parent = parent
        namespaces[name] = child
        parent.adopt(child)
        childNamespaceCount += 1
        if let hub { listen(child, on: hub) }
        return child
    }

    /// A child has no socket left, and none coming: dropped, when `cleanupEmptyChildNamespaces`
    /// says so (a reference to it still works, and reaches no one).
    func childBecameUnused(_ child: SocketIONamespace) {
        guard configuration.cleanupEmptyChildNamespaces, let parent = child.parent, namespaces[child.name] === child else { return }
        namespaces[child.name] = nil
        parent.release(child)
        childNamespaceCount -= 1
        if let hub {
            hub.unlisten(channel: child.relayChannel)
            hub.unlisten(channel: child.ackChannel)
        }
    }

    /// Makes every broadcast (`emit` on a namespace or its rooms, `socket.to`, `socket.broadcast`;
    /// not `.local` ones) also reach the sockets of the Socket.IO servers that relay through the
    /// other hubs of `hub`'s relay: this process's other loops, and other processes when the relay
    /// goes through Redis. Each namespace has a channel of its own; a server receives only the
    /// namespaces it has (`of`), and delivers to its sockets there, leaving out the except-rooms
    /// (the sender), as if the emit had been made here. A broadcast asking for acks
    /// (`emitWithAck`) travels too, and its answers come back (SocketIOBroadcastAck.swift). Call
    /// it once, on the loop; without a relay (one loop, no broker) nothing changes.
    public func relayBroadcasts(through hub: PubSub) {
        precondition(self.hub == nil, "relayBroadcasts(through:) is called once")
        precondition(hub.loop === loop, "the hub must belong to the server's loop")
        self.hub = hub
        for ns in namespaces.values { listen(ns, on: hub) }
        hub.listenUnclaimed(prefix: SocketIONamespace.relayChannelPrefix) { [weak self] message, channel in
            self?.answerForMissingNamespace(message, channel: channel)
        }
    }

    /// A relayed message for a namespace this loop does not have: a dynamic namespace's child that
    /// only other loops made, or one dropped here while a broker keeps its channel subscribed. A
    /// counted request (a broadcast asking for acks, `fetchSockets`, `serverSideEmitWithAck`)
    /// counts on every loop's answer, so this loop answers at once as a namespace with no sockets
    /// and no handlers would (none, or an empty list), instead of leaving the asker to its
    /// timeout; the reference's Redis adapter gets the same by counting only the servers
    /// subscribed to the namespace. Anything else (a broadcast, a join) would reach no one here.
    private func answerForMissingNamespace(_ message: SharedBytes, channel: String) {
        let asks = message.withUnsafeBytes { SocketIOBroadcastAckWire.isRequest($0) || SocketIOClusterMessage.isMessage($0) }
        guard asks, let name = SocketIONamespace.namespaceName(ofRelayChannel: channel) else { return }
        SocketIONamespace(name: name, server: self).receiveRelayed(message)
    }

    private func listen(_ ns: SocketIONamespace, on hub: PubSub) {
        hub.listen(channel: ns.relayChannel) { [weak ns] message in ns?.receiveRelayed(message) }
        hub.listen(channel: ns.ackChannel) { [weak ns] message in ns?.receiveAckReply(message) }
    }

    /// The namespace named `name` if it exists.
    public func existingNamespace(_ name: String) -> SocketIONamespace? { namespaces[name] }

    /// The main namespace, `/`.
    public var sockets: SocketIONamespace { namespaces["/"]! }

    /// `on("connection")` on the main namespace.
    public func on(_ event: SocketIONamespace.Event, _ handler: @escaping (SocketIOSocket) -> Void) {
        sockets.on(event, handler)
    }

    /// Emits to every socket of the main namespace.
    public func emit(_ event: String, _ args: JSONValue...) { sockets.emit(event, SocketIOArguments(args)) }

    /// A broadcast to a room of the main namespace.
    public func to(_ room: String) -> SocketIOBroadcast { sockets.to(room) }

    /// A volatile broadcast on the main namespace (`io.volatile.emit`).
    public var volatile: SocketIOBroadcast { sockets.volatile }

    /// A broadcast on the main namespace, compressed or not (`io.compress(false).emit`).
    public func compress(_ compress: Bool) -> SocketIOBroadcast { sockets.compress(compress) }
}
