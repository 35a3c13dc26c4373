import Protocols
import Reactor
import Synchronization

/// The Engine.IO servers of one endpoint on several loops of a process (one per loop, all
/// serving the same path), so a client needs no sticky sessions inside the process: each session
/// id names the loop its session lives on (`EngineIOHandshake.makeSessionID(loop:)`), and a
/// request that lands on another loop (the kernel spreads SO_REUSEPORT connections, not clients)
/// is handed to that loop through its handle:
///
/// - a long poll or a POST is forwarded with its body (at most `maxPayload` bytes, the bound the
///   session enforces anyway; a larger one travels as its length alone and gets the session's
///   413), and the answer comes back to the loop that holds the request (`EngineIOForwarding`);
/// - the WebSocket upgrade of a polling session is accepted where it lands, and its messages
///   cross to the session's loop and back (`EngineIORemoteWebSocket`): one copy and one queued
///   hop per message for those sessions only. Sessions opened on a WebSocket stay on the loop
///   that accepted them and never cross.
///
/// Make one group per endpoint before the loops' setups run (it only needs their number), and
/// `join` each loop's server to it on that loop. Across processes this does not help: use sticky
/// sessions there, as socket.io's documentation says.
///
///     let group = EngineIOLoopGroup(count: 4)
///     let service = try Service(threads: 4) { context in
///         let io = SocketIOServer(loop: context.loop)
///         io.engine.join(group, index: context.index)
///         ...
///     }
public final class EngineIOLoopGroup: Sendable {
    /// How many loops the group spans.
    public let count: Int
    /// Each member loop's handle, set when its server joins (a request that names a loop yet to
    /// join finds nil and gets "Session ID unknown"). Read once per forwarded request, off the
    /// hot path of a loop's own sessions.
    private let handles: Mutex<[EventLoopHandle?]>

    public init(count: Int) {
        precondition((1...EngineIOHandshake.maxLoops).contains(count), "a group spans 1 ... \(EngineIOHandshake.maxLoops) loops")
        self.count = count
        self.handles = Mutex(Array(repeating: nil, count: count))
    }

    /// Records `server` as loop `index`'s member: called by `EngineIOServer.join`, on its loop.
    func register(_ server: EngineIOServer, index: Int) {
        handles.withLock { $0[index] = server.loop.handle }
        server.loop.local(EngineIOGroupMembers.self) { EngineIOGroupMembers() }.servers[ObjectIdentifier(self)] = server
    }

    /// The handle of member `index`, if it has joined.
    func handle(of index: Int) -> EventLoopHandle? {
        guard (0..<count).contains(index) else { return nil }
        return handles.withLock { $0[index] }
    }

    /// Runs `body` on loop `index` with the group's server there (nil when that loop has no
    /// member any more). Returns false when no such loop has joined or it has closed.
    @discardableResult
    func onMember(_ index: Int, _ body: @escaping @Sendable (EngineIOServer?) -> Void) -> Bool {
        guard let handle = handle(of: index) else { return false }
        let key = ObjectIdentifier(self)
        return handle.execute { loop in
            body(loop.local(EngineIOGroupMembers.self) { EngineIOGroupMembers() }.servers[key])
        }
    }
}

/// A loop's members of every group it serves, by group: how a handed-over request finds its
/// server on the session's loop. Loop-local (`EventLoop.local`), so touched only on that loop.
final class EngineIOGroupMembers {
    var servers: [ObjectIdentifier: EngineIOServer] = [:]
}
