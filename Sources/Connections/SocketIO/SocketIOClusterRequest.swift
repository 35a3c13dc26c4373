import Protocols
import Reactor

/// A broadcast with an acknowledgement (or another counted cluster request) did not get every
/// answer within its timeout: the answers that came, as the reference's `io.timeout(ms).emitWithAck`
/// rejects with them. Also what a request refused at once gets (no answers): one made while
/// `SocketIOConfiguration.maxPendingClusterRequests` are pending.
public struct SocketIOBroadcastAckTimeout: Error {
    public let responses: [SocketIOArguments]
}

/// The answers to one counted cluster request (a broadcast asking clients for acks,
/// `serverSideEmitWithAck`, `fetchSockets`), on the loop that made it. Every server the request
/// reaches (this loop, the other loops of the process, every loop of every other process the relay
/// reached) announces how many answers it will send, naming itself; `ClusterTally` says when all
/// have come. Its timeout ends it otherwise, with what came (a server that died, a relay that
/// cannot count its processes).
///
/// What it keeps is bounded: answers past `maxAnswerBytes` (JSON text and attachments together)
/// still count toward completion but are not kept (and a line is logged).
final class SocketIOClusterRequest {
    typealias Callback = (Result<[SocketIOArguments], SocketIOBroadcastAckTimeout>) -> Void

    private var callback: Callback?
    private var responses: [SocketIOArguments] = []
    private var tally: ClusterTally
    private var keptBytes = 0
    private let maxAnswerBytes: Int
    private var timer: TimerID?
    private let loop: EventLoop
    /// Called once when it ends (the namespace forgets its request id then).
    var onFinish: (() -> Void)?
    /// Called once if an answer was not kept for the byte bound.
    var onOverflow: (() -> Void)?

    init(loop: EventLoop, tally: ClusterTally, timeout: Duration, maxAnswerBytes: Int, callback: @escaping Callback) {
        self.loop = loop
        self.tally = tally
        self.maxAnswerBytes = maxAnswerBytes
        self.callback = callback
        timer = loop.schedule(after: timeout) { [weak self] in
            guard let self else { return }
            self.timer = nil
            self.finish(.failure(SocketIOBroadcastAckTimeout(responses: self.responses)))
        }
    }

    /// The relay says how many other processes the request reached (nil: it cannot tell).
    func reached(remoteProcesses n: Int?) {
        guard callback != nil else { return }
        tally.reached(remoteProcesses: n)
        check()
    }

    /// `server` will send `count` answers; false when the tally refuses the announcement.
    @discardableResult
    func announce(_ server: ClusterServer, answers count: Int) -> Bool {
        guard callback != nil, tally.announce(server, items: count) else { return false }
        check()
        return true
    }

    func answer(_ args: SocketIOArguments) {
        guard callback != nil else { return }
        tally.item()
        var size = 0
        for value in args.values { size += value.serializedBytes().count }
        for a in args.attachments { size += a.count }
        if keptBytes + size <= maxAnswerBytes {
            keptBytes += size
            responses.append(args)
        } else if let overflow = onOverflow {
            onOverflow = nil
            overflow()
        }
        check()
    }

    private func check() {
        guard tally.isComplete else { return }
        finish(.success(responses))
    }

    private func finish(_ result: Result<[SocketIOArguments], SocketIOBroadcastAckTimeout>) {
        guard let callback else { return }
        self.callback = nil
        if let timer { loop.cancel(timer) }
        timer = nil
        let done = onFinish
        onFinish = nil
        done?()
        callback(result)
    }
}

extension SocketIONamespace {
    /// Starts a counted cluster request: its tally counts this loop's process (all its loops when
    /// `hub` relays, else this loop alone), and it is filed under a new request id (random, so ids
    /// of different loops and processes do not meet) until it finishes. Nil, after calling
    /// `callback` with no answers, when `maxPendingClusterRequests` are pending already.
    func startClusterRequest(hub: PubSub?, timeout: Duration, _ callback: @escaping SocketIOClusterRequest.Callback)
        -> (id: UInt64, request: SocketIOClusterRequest, me: ClusterServer)? {
        guard clusterRequests.count < server.configuration.maxPendingClusterRequests else {
            server.log("namespace \(name): \(clusterRequests.count) cluster requests pending (maxPendingClusterRequests); one more refused")
            callback(.failure(SocketIOBroadcastAckTimeout(responses: [])))
            return nil
        }
        let me = hub?.clusterServer ?? ClusterServer(process: 0, loop: 0, processLoops: 1)
        let request = SocketIOClusterRequest(loop: server.loop, tally: ClusterTally(ownProcess: me.process, ownLoops: me.processLoops),
                                             timeout: timeout, maxAnswerBytes: server.configuration.maxClusterAnswerBytes, callback: callback)
        var id = UInt64.random(in: .min ... .max)
        while clusterRequests[id] != nil { id = UInt64.random(in: .min ... .max) }
        clusterRequests[id] = request
        request.onFinish = { [weak self] in self?.clusterRequests[id] = nil }
        request.onOverflow = { [weak self] in
            guard let self else { return }
            server.log("namespace \(name): answers to a cluster request past maxClusterAnswerBytes dropped")
        }
        if hub == nil { request.reached(remoteProcesses: 0) }
        return (id, request, me)
    }
}
