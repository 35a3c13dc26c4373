import Protocols
import Reactor

/// A family of namespaces named by a rule rather than one by one: the reference's dynamic
/// namespaces, `io.of(/^\/dyn-\w+$/)` or `io.of((name, auth, next) => …)`.
///
///     let dynamic = io.of(matching: { name, _ in name.hasPrefix("/dyn-") })
///     dynamic.use { socket in nil }                        // runs in every child
///     dynamic.on("connection") { socket in
///         socket.namespace.name                            // "/dyn-lobby": the child
///     }
///     dynamic.emit("news", "hi")                           // every child's sockets
///
/// When a client connects to a name no namespace has, the server asks its parents' rules in the
/// order the parents were made; the first that accepts creates the child of that name (its own
/// sockets and rooms), which takes the parent's middlewares and connection handlers as they are
/// then, as the reference's `createChild` does, and stays in the server's table: the next client
/// for that name goes straight to it. A name no rule accepts gets CONNECT_ERROR "Invalid
/// namespace".
///
/// Peers choose the names, so children are bounded (`SocketIOConfiguration.maxChildNamespaces`
/// per server, `maxNamespaceNameBytes` per name, `maxNamespacesPerClient` per client), and a child
/// left without sockets is dropped (`cleanupEmptyChildNamespaces`, on by default here).
///
/// Each loop's server makes its own children, as its clients ask for them; a broadcast on a child
/// reaches that child's sockets on the other loops through the relay (its channel is the
/// child's). A broadcast on the parent goes to the children this loop has, and through them to
/// their sockets elsewhere, as the reference's `ParentNamespace.emit` does.
public final class SocketIOParentNamespace {
    /// Decides whether `name` (with the client's CONNECT `auth`) belongs to this parent: calls
    /// `next` once, now or later, on the loop.
    public typealias Predicate = (_ name: String, _ auth: JSONValue, _ next: @escaping (Bool) -> Void) -> Void

    public unowned let server: SocketIOServer
    let predicate: Predicate
    /// Holds the handlers and middlewares each child copies when it is made; never connected to,
    /// never in the server's table (its name, `/_<n>`, is the reference's for parents).
    let template: SocketIONamespace
    /// The children this server has now, by name.
    public private(set) var children: [String: SocketIONamespace] = [:]

    init(server: SocketIOServer, index: Int, predicate: @escaping Predicate) {
        self.server = server
        self.predicate = predicate
        self.template = SocketIONamespace(name: "/_\(index)", server: server)
    }

    /// Runs `handler` for every socket that connects to any child (copied into children made from
    /// now on).
    public func on(_ event: SocketIONamespace.Event, _ handler: @escaping (SocketIOSocket) -> Void) {
        template.on(event, handler)
    }

    /// Connection middleware of every child made from now on (`SocketIONamespace.use`).
    public func use(_ middleware: @escaping (SocketIOSocket) -> SocketIOConnectError?) { template.use(middleware) }

    public func use(_ middleware: @escaping (SocketIOSocket, _ next: @escaping (SocketIOConnectError?) -> Void) -> Void) {
        template.use(middleware)
    }

    public func useAsync(_ middleware: @escaping (SocketIOSocket) async -> SocketIOConnectError?) { template.useAsync(middleware) }

    // MARK: Broadcasting to every child

    /// Emits to every socket of every child.
    public func emit(_ event: String, _ args: JSONValue...) { broadcast.emit(event, SocketIOArguments(args)) }

    public func emit(_ event: String, _ args: SocketIOArguments) { broadcast.emit(event, args) }

    /// A broadcast to the sockets in `room` of every child.
    public func to(_ room: String) -> SocketIOParentBroadcast { broadcast.to(room) }

    /// A broadcast to every socket of every child not in `room`.
    public func except(_ room: String) -> SocketIOParentBroadcast { broadcast.except(room) }

    /// A broadcast dropped for the sockets whose transport is not writable now.
    public var volatile: SocketIOParentBroadcast { broadcast.volatile }

    /// A broadcast sent with or without compression.
    public func compress(_ compress: Bool) -> SocketIOParentBroadcast { broadcast.compress(compress) }

    /// A broadcast kept on this loop.
    public var local: SocketIOParentBroadcast { broadcast.local }

    private var broadcast: SocketIOParentBroadcast { SocketIOParentBroadcast(parent: self) }

    // MARK: Children (called by the server)

    func adopt(_ child: SocketIONamespace) {
        children[child.name] = child
    }

    func release(_ child: SocketIONamespace) {
        if children[child.name] === child { children[child.name] = nil }
    }
}

/// A broadcast on a parent namespace: the same rooms and modifiers applied in each child.
public struct SocketIOParentBroadcast {
    public let parent: SocketIOParentNamespace
    private var apply: [(SocketIOBroadcast) -> SocketIOBroadcast] = []

    init(parent: SocketIOParentNamespace) { self.parent = parent }

    private func adding(_ step: @escaping (SocketIOBroadcast) -> SocketIOBroadcast) -> SocketIOParentBroadcast {
        var copy = self
        copy.apply.append(step)
        return copy
    }

    public func to(_ room: String) -> SocketIOParentBroadcast { adding { $0.to(room) } }
    public func `in`(_ room: String) -> SocketIOParentBroadcast { to(room) }
    public func except(_ room: String) -> SocketIOParentBroadcast { adding { $0.except(room) } }
    public var volatile: SocketIOParentBroadcast { adding { $0.volatile } }
    public func compress(_ compress: Bool) -> SocketIOParentBroadcast { adding { $0.compress(compress) } }
    public var local: SocketIOParentBroadcast { adding { $0.local } }

    /// The broadcast as it applies to `child`.
    public func broadcast(in child: SocketIONamespace) -> SocketIOBroadcast {
        apply.reduce(SocketIOBroadcast(namespace: child)) { $1($0) }
    }

    /// Emits `event` in every child this loop has (each encodes its own packet: the namespace is
    /// part of it).
    public func emit(_ event: String, _ args: JSONValue...) { emit(event, SocketIOArguments(args)) }

    public func emit(_ event: String, _ args: SocketIOArguments) {
        // A copy: an emit may run handlers that drop a child.
        for child in Array(parent.children.values) { broadcast(in: child).emit(event, args) }
    }
}
