import Protocols
import Reactor

/// Events between the servers of a cluster (the reference's `serverSideEmit`): sent by one
/// server to every other loop and process the server relays to, never to itself, and handled
/// there by the namespace's `onServerSideEmit` handler, which may answer.
extension SocketIONamespace {
    /// Handles `event` when another server sends it with `serverSideEmit` (one handler per event;
    /// a second replaces the first). `ack` is non-nil when the sender asked for answers: call it
    /// once (later calls are ignored); a handler that never calls it leaves the sender to its
    /// timeout. A server with no handler for the event tells a sender asking for answers that it
    /// has none to give.
    public func onServerSideEmit(_ event: String, _ handler: @escaping ServerSideHandler) {
        serverSideHandlers[event] = handler
    }

    public typealias ServerSideHandler = (SocketIOArguments, _ ack: ((SocketIOArguments) -> Void)?) -> Void

    /// Sends `event` to the other servers (every other loop of this process and, through Redis,
    /// every loop of every other process); not handled here. Without a relay, nothing happens.
    public func serverSideEmit(_ event: String, _ args: SocketIOArguments = []) {
        guard let hub = server.hub, hub.reachesOtherLoops else { return }
        let json = JSONValue.array([.string(event)] + args.values).serializedBytes()
        let message = SocketIOClusterMessage(namespace: name, operation: .serverSideEmit(json: json, attachments: args.attachments, wantsAck: false))
        hub.broadcastElsewhere(SharedBytes(message.encoded), on: relayChannel)
        relayedOut += 1
    }

    /// `serverSideEmit`, asking every other server for an answer (the reference's
    /// `serverSideEmitWithAck` / `timeout(ms).serverSideEmit(…, callback)`): `callback` runs once,
    /// with one answer per server whose handler answered, as soon as every server has (a server
    /// without a handler for the event counts as answered, with nothing), or with
    /// `SocketIOBroadcastAckTimeout` and the answers that came after `timeout` (a silent handler,
    /// a process that died). Without other servers, at once with none.
    public func serverSideEmitWithAck(_ event: String, _ args: SocketIOArguments = [], timeout: Duration = .seconds(5),
                                      _ callback: @escaping (Result<[SocketIOArguments], SocketIOBroadcastAckTimeout>) -> Void) {
        let hub = server.hub.flatMap { $0.reachesOtherLoops ? $0 : nil }
        guard let (id, request, me) = startClusterRequest(hub: hub, timeout: timeout, callback) else { return }
        if let hub {
            let json = JSONValue.array([.string(event)] + args.values).serializedBytes()
            let message = SocketIOClusterMessage(id: id, timeoutMilliseconds: SocketIOBroadcast.milliseconds(timeout), namespace: name,
                                                 operation: .serverSideEmit(json: json, attachments: args.attachments, wantsAck: true))
            hub.broadcastElsewhere(SharedBytes(message.encoded), on: relayChannel) { [weak request] n in request?.reached(remoteProcesses: n) }
            relayedOut += 1
        }
        // This server is not asked: it answers with nothing.
        request.announce(me, answers: 0)
    }

    /// A server-side event from another server: its handler runs; when the sender asks for
    /// answers, `announce` says how many will come (1 with a handler, else 0) and `ack` sends one.
    func receiveServerSideEvent(_ event: String, _ args: SocketIOArguments, ack: ((SocketIOArguments) -> Void)?, announce: ((Int) -> Void)?) {
        guard let handler = serverSideHandlers[event] else {
            announce?(0)
            return
        }
        announce?(1)
        guard let ack else { return handler(args, nil) }
        var answered = false
        handler(args) { answer in
            guard !answered else { return }
            answered = true
            ack(answer)
        }
    }
}
