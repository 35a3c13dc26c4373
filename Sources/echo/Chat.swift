import Connections
import Protocols
import Reactor

/// The chat: one pub/sub whose rooms are reached from every transport, so a message sent from any
/// of them reaches subscribers on all of them. Wire contract (every message of a room gets the
/// room's next id, 1, 2, 3, ...; `room` defaults to "lobby"):
///
///   POST /send?room=R            body = the text (UTF-8) -> 200 {"id": n}; 403 for a browser page of
///        another origin than the server's (unless `--allow-origin`), as for the WebSocket routes
///   ws   /chat?room=R[&after=N]  each message as one text frame; each text frame sent is published
///        A frame carries no id. With `after=N` the socket first gets the room's messages after id
///        N, then the live ones, so frame k is message N+k and a client counting frames knows every
///        id (how the page resumes); when the log cannot give all of them (N older than the log, or
///        newer than the room after a server restart) the socket is closed with 4000 instead.
///   GET  /events?room=R          SSE: `id: n` + `data:` lines; honours Last-Event-ID
///   GET  /messages?room=R&cursor=N              polling: at once
///   GET  /poll?room=R&cursor=N[&timeout=S]      long polling: held until a message or S seconds
///        both answer {"cursor": <last id>, "messages": [{"id": n, "data": "text"}, ...]}
///        with an `X-Reactor-Instance` header naming this server process (see `processInstance`).
///        Paged: an answer holds at most `--page-messages` messages, and stops before the one that
///        would take its texts past `--page-bytes` (a larger first message comes alone). `cursor`
///        is the id of the answer's last message (the room's newest id when it has none), so
///        asking again with it gives the next page; a page that is not empty may have more after
///        it. A cursor the room is behind (a new history: a server restart, or a room dropped and
///        used again) is answered with the room's newest id, smaller than the cursor asked for.
///        Reading a room creates nothing: an unknown room answers {"cursor":0,"messages":[]}.
///
/// Rooms are kept while they have subscribers or history, within the bounds of `PubSub.Limits`
/// (messages and bytes per room, bytes and rooms per loop, least recently used evicted). A room
/// whose history was dropped starts again at id 1 when used: resuming clients see ids "from the
/// future" and get the reset answers below. SSE resumes and `after=N` replays are written as the
/// connection drains; one whose rest leaves the log first is ended (SSE) or closed 4000.
///
/// A resuming event stream whose Last-Event-ID is older than the replay log (or newer than the
/// room, after a server restart) first gets `event: reset` with `{"oldest":…,"last":…,"instance":…}`,
/// then everything the log still holds.
///
/// Ids alone cannot reveal every restart: a new server whose room has caught up past a client's
/// last id would resume it silently with another history. So a client may name the instance its
/// ids came from (`&instance=X` on /events and /chat): another instance means a reset, as above.
/// Rooms shared with other processes (through a broker) have no such single origin: then there is
/// no instance, and neither header nor parameter is used.
struct Chat {
    let pubsub: PubSub
    let webSocket: WebSocketConfiguration
    let metrics: DemoMetrics
    /// What an event stream that cannot keep up is held (`--sse-pending`, `--sse-pending-bytes`).
    let sseSlowConsumer: SlowConsumerPolicy
    /// The close code of a resuming chat socket whose history the room cannot replay.
    static let historyIncomplete = WebSocketCloseCode(rawValue: 4000)
    /// A random name for this server process: rooms live in memory, so a new process means new
    /// histories whose ids begin again at 1.
    static let processInstance = String(UInt64.random(in: 1...UInt64.max), radix: 16)
    /// Bytes a replay (or a history page) writes per loop turn and connection before it lets the
    /// others run (see `SSEStream.replayBurst`).
    static let replayBurst = 16 << 10
    static let maxLongPoll: Double = 120
    static let defaultLongPoll: Double = 25

    func install(on router: HTTPRouter) {
        let pubsub = self.pubsub
        let webSocket = self.webSocket
        let metrics = self.metrics
        let sseSlowConsumer = self.sseSlowConsumer
        let sockets = ChatSockets(metrics: metrics)
        // The loops of one process share its histories; other processes (a broker) do not.
        let instance = pubsub.relay == nil || pubsub.relay is LoopGroupRelay ? Self.processInstance : nil

        router.post("/send") { req, res in
            // A page of another site must not post in the name of a visitor's browser.
            guard webSocket.origins.verdict(req.head).isAllowed else {
                res.respond(.forbidden, contentType: "text/plain; charset=utf-8", body: "origin not allowed\n" as StaticString)
                return
            }
            guard let room = Self.room(req, res) else { return }
            guard UTF8Validator.isValid(req.body) else {
                res.respond(.badRequest, contentType: "text/plain; charset=utf-8", body: "the message must be UTF-8 text\n" as StaticString)
                return
            }
            metrics.received(.httpSend)
            // The id may come back later when the room is numbered on another loop or process.
            pubsub.topic(room).publish(SharedBytes(copying: req.body)) { id in
                res.respond(contentType: "application/json", body: "{\"id\":\(id)}")
            }
        }

        router.get("/events") { req, res in
            guard let room = Self.room(req, res) else { return }
            // EventSource sends Last-Event-ID when it reconnects; a page may pass it in the query
            // on its first connection (after a reload).
            let last = SSELastEventID.parse(req.header("last-event-id"))
                ?? req.queryValue("lastEventId").flatMap { UInt64($0) }
            let otherInstance = Self.isOtherInstance(req, instance)
            guard let stream = SSEStream(responder: res) else { return }
            let topic = pubsub.topic(room)
            metrics.opened(.sse)
            var replayFrom: UInt64?
            if let last {
                replayFrom = last
                // An id from the future, or from another process, means the room was reset (a
                // server restart, or a room dropped and used again); an id older than the log, that
                // some of it is gone: say so, and replay what the log has.
                if otherInstance || topic.isGap(after: last) {
                    let oldest = topic.oldestKeptID ?? topic.lastID + 1
                    stream.send(event: "reset", data: "{\"oldest\":\(oldest),\"last\":\(topic.lastID),\"instance\":\"\(instance ?? "")\"}")
                    replayFrom = oldest - 1
                }
            }
            // The replay is written as the connection takes it (a client that never reads holds
            // no more than its high watermark), then the stream goes live.
            stream.subscribe(to: topic, policy: sseSlowConsumer, replayingAfter: replayFrom, replayed: { _ in metrics.sent(.sse) })
            metrics.watch(topic, .sse)
            stream.onClose {
                metrics.closed(.sse)
                metrics.unwatch(topic, .sse)
            }
        }

        // History reads answer one page (the hub's maxPageMessages and maxPageBytes); its cursor
        // is the id of its last message, or the room's newest id when it has none. A room nobody
        // has named before is not created by reading it.
        router.get("/messages") { req, res in
            guard let room = Self.room(req, res), let cursor = Self.cursor(req, res) else { return }
            guard let topic = pubsub.existingTopic(room) else {
                Self.respondJSON(res, cursor: 0, [], instance: instance)
                return
            }
            let messages = topic.page(after: cursor).messages
            metrics.sent(.polling, messages.count)
            Self.respondPage(res, cursor: messages.last?.id ?? topic.lastID, messages, instance: instance)
        }

        router.get("/poll") { req, res in
            guard let room = Self.room(req, res), let cursor = Self.cursor(req, res) else { return }
            let topic = pubsub.topic(room)
            let pending = topic.page(after: cursor).messages
            if !pending.isEmpty || cursor > topic.lastID {
                metrics.sent(.longPoll, pending.count)
                Self.respondPage(res, cursor: pending.last?.id ?? topic.lastID, pending, instance: instance)
                return
            }
            var seconds = Self.defaultLongPoll
            if let t = req.queryValue("timeout") {
                guard let v = Double(t), v >= 0, v.isFinite else {
                    res.respond(.badRequest, contentType: "text/plain; charset=utf-8", body: "timeout must be a number of seconds\n" as StaticString)
                    return
                }
                seconds = min(v, Self.maxLongPoll)
            }
            metrics.opened(.longPoll)
            _ = LongPollSubscription(topic: topic, responder: res, timeout: .milliseconds(Int64(seconds * 1000))) { messages in
                metrics.closed(.longPoll)
                metrics.sent(.longPoll, messages.count)
                Self.respondJSON(res, cursor: messages.last?.id ?? topic.lastID, messages, instance: instance)
            }
            // Exactly one of the answer above and this runs.
            res.onAbandoned { metrics.closed(.longPoll) }
        }

        router.get("/chat") { req, res in
            guard let room = Self.room(req, res) else { return }
            // Held by the socket's context until it opens (a room named by an upgrade that never
            // completes goes with it).
            let topic = pubsub.topic(room)
            var after: UInt64?
            if req.queryValue("after") != nil {
                guard let n = Self.cursor(req, res, name: "after") else { return }
                after = n
            }
            let context: AnyObject = after.map {
                ChatSockets.Resume(topic: topic, after: $0, otherInstance: Self.isOtherInstance(req, instance))
            } ?? topic
            WebSocket.upgrade(req, res, configuration: webSocket, context: context, handler: sockets)
        }
    }

    /// The request's room name (400 when it is empty or over 128 bytes). Names create nothing:
    /// a room is kept once it has a subscriber or a message.
    static func room(_ req: HTTPRequest, _ res: HTTPResponder) -> String? {
        let room = req.queryValue("room") ?? "lobby"
        guard !room.isEmpty, room.utf8.count <= 128 else {
            res.respond(.badRequest, contentType: "text/plain; charset=utf-8", body: "room must be 1 to 128 bytes\n" as StaticString)
            return nil
        }
        return room
    }

    static func cursor(_ req: HTTPRequest, _ res: HTTPResponder, name: String = "cursor") -> UInt64? {
        guard let text = req.queryValue(name) else { return 0 }
        guard let n = UInt64(text) else {
            res.respond(.badRequest, contentType: "text/plain; charset=utf-8", body: "\(name) must be a message id (0 for all)\n")
            return nil
        }
        return n
    }

    /// Whether the client's ids come from another server process (`instance=X`, X not ours).
    static func isOtherInstance(_ req: HTTPRequest, _ instance: String?) -> Bool {
        guard let instance, let theirs = req.queryValue("instance") else { return false }
        return theirs != instance
    }

    /// Answers a history page: at once when small, else on the next loop turn. A client that
    /// pipelines history reads and never reads the answers would otherwise have page after page
    /// built in one callback (the kernel takes megabytes before the connection stops being
    /// writable); deferred, its next request waits for this answer, and the others run between.
    static func respondPage(_ res: HTTPResponder, cursor: UInt64, _ messages: [TopicMessage], instance: String?) {
        guard messages.reduce(0, { $0 + $1.text.count }) > replayBurst / 2 else {
            respondJSON(res, cursor: cursor, messages, instance: instance)
            return
        }
        res.connection.loop.schedule(after: .zero) {
            respondJSON(res, cursor: cursor, messages, instance: instance)
        }
    }

    static func respondJSON(_ res: HTTPResponder, cursor: UInt64, _ messages: [TopicMessage], instance: String?) {
        let headers = [("Cache-Control", "no-store")] + (instance.map { [("X-Reactor-Instance", $0)] } ?? [])
        res.respond(contentType: "application/json", headers: headers,
                    body: PollingResponse.shared(cursor: cursor, messages: messages))
    }
}

/// Every chat WebSocket of a loop, with one handler: a socket's room is its `context` (the
/// `Topic`), and the socket itself is the room's subscriber (`ws.subscribe(to:)`, closed by the
/// room's gate if it cannot keep up), so an idle chat socket costs its WebSocket (with its
/// subscription token) and its entry in the room, nothing more. That is the connection the broadcast benchmark holds to 512 bytes each; it keeps
/// no copy of the peer's address either. Every text a socket sends is published to its room,
/// itself included.
final class ChatSockets: WebSocketHandler {
    /// The context of a socket that asked to resume (`after=N`) until it is replayed; then its
    /// context is its topic like any other's.
    final class Resume {
        let topic: Topic
        /// The last id written so far.
        var after: UInt64
        /// The client's ids come from another server process: its history cannot be resumed.
        let otherInstance: Bool
        /// A burst of the replay is scheduled for the next loop turn.
        var scheduled = false
        init(topic: Topic, after: UInt64, otherInstance: Bool) {
            self.topic = topic
            self.after = after
            self.otherInstance = otherInstance
        }
    }

    let metrics: DemoMetrics
    init(metrics: DemoMetrics) { self.metrics = metrics }

    func webSocketDidOpen(_ ws: WebSocket) {
        metrics.webSocketOpened(ws, .webSocketChat)
        if let resume = ws.context as? Resume {
            if resume.otherInstance || resume.topic.isGap(after: resume.after) {
                ws.context = nil
                ws.close(code: Chat.historyIncomplete, reason: resume.otherInstance ? "server restarted" : "history incomplete")
                return
            }
            replay(ws, resume)
            return
        }
        guard let topic = ws.context as? Topic else { return }
        ws.subscribe(to: topic)
        metrics.watch(topic, .webSocketChat)
    }

    /// Writes the room's messages after `resume.after` while the socket is writable (the rest when
    /// it drains: a client that never reads holds no more than its high watermark), then
    /// subscribes it. Until then it is not subscribed: messages published meanwhile are in the
    /// log, and the replay reaches them in order, so frame k is still message N+k. If what it has
    /// yet to replay leaves the log first, it is closed with 4000 (history incomplete).
    private func replay(_ ws: WebSocket, _ resume: Resume) {
        var budget = Chat.replayBurst
        while ws.isWritable {
            guard budget > 0 else {
                // The kernel takes megabytes from a client that reads nothing: a burst per loop
                // turn, so a crowd of resuming sockets cannot hold the loop.
                guard !resume.scheduled else { return }
                resume.scheduled = true
                ws.connection.loop.schedule(after: .zero) { [weak self, weak ws] in
                    resume.scheduled = false
                    guard let self, let ws, ws.context === resume else { return }
                    self.replay(ws, resume)
                }
                return
            }
            switch resume.topic.next(after: resume.after) {
            case .message(let m):
                resume.after = m.id
                let frame = m.webSocketFrame
                budget -= frame.count
                ws.send(frame: frame)
                metrics.sent(.webSocketChat)
            case .gap:
                ws.context = nil
                ws.close(code: Chat.historyIncomplete, reason: "history incomplete")
                return
            case .caughtUp:
                // Replay and subscription happen in one callback on the loop: nothing is
                // published in between.
                ws.context = resume.topic
                ws.subscribe(to: resume.topic)
                metrics.watch(resume.topic, .webSocketChat)
                return
            }
        }
    }

    func webSocketWritabilityDidChange(_ ws: WebSocket, isWritable: Bool) {
        if isWritable, let resume = ws.context as? Resume { replay(ws, resume) }
    }

    func webSocket(_ ws: WebSocket, didReceiveText text: UnsafeRawBufferPointer) {
        metrics.received(.webSocketChat)
        (ws.context as? Topic)?.publish(SharedBytes(copying: text))
    }

    func webSocketWillFail(_ ws: WebSocket, code: WebSocketCloseCode, reason: String) {
        metrics.webSocketFailing(ws, .webSocketChat, code: code, reason: reason)
    }

    func webSocketDidClose(_ ws: WebSocket, code: WebSocketCloseCode, reason: String) {
        metrics.webSocketClosed(ws, .webSocketChat, code: code, reason: reason)
        // Subscribed at open (or since dropped as too slow): either way it was counted.
        guard let topic = ws.context as? Topic else { return }
        ws.context = nil
        ws.unsubscribe(from: topic)
        metrics.unwatch(topic, .webSocketChat)
    }
}
