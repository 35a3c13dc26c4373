import Protocols
import Reactor

/// The chat: one pub/sub whose rooms are reached from every transport, so a message sent from any
/// of them reaches subscribers on all of them. Wire contract (every message of a room gets the
/// room's next id, 1, 2, 3, ...; `room` defaults to "lobby"):
///
///   POST /send?room=R            body = the text (UTF-8) -> 200 {"id": n}
///   ws   /chat?room=R            each message as one text frame; each text frame sent is published
///   GET  /events?room=R          SSE: `id: n` + `data:` lines; honours Last-Event-ID
///   GET  /messages?room=R&cursor=N              polling: at once
///   GET  /poll?room=R&cursor=N[&timeout=S]      long polling: held until a message or S seconds
///        both answer {"cursor": <last id>, "messages": [{"id": n, "data": "text"}, ...]}
///
/// A resuming event stream whose Last-Event-ID is older than the replay log (or newer than the
/// room, after a server restart) first gets `event: reset` with `{"oldest":…,"last":…}` as data,
/// then everything the log still holds.
struct Chat {
    let pubsub: PubSub
    let webSocket: WebSocketConfiguration
    static let maxLongPoll: Double = 120
    static let defaultLongPoll: Double = 25

    func install(on router: HTTPRouter) {
        let pubsub = self.pubsub
        let webSocket = self.webSocket

        router.post("/send") { req, res in
            guard let topic = Self.topic(req, pubsub, res) else { return }
            guard UTF8Validator.isValid(req.body) else {
                res.respond(.badRequest, contentType: "text/plain; charset=utf-8", body: "the message must be UTF-8 text\n" as StaticString)
                return
            }
            // The id may come back later when the room is numbered on another loop or process.
            topic.publish(SharedBytes(copying: req.body)) { id in
                res.respond(contentType: "application/json", body: "{\"id\":\(id)}")
            }
        }

        router.get("/events") { req, res in
            guard let topic = Self.topic(req, pubsub, res) else { return }
            // EventSource sends Last-Event-ID when it reconnects; a page may pass it in the query
            // on its first connection (after a reload).
            let last = SSELastEventID.parse(req.header("last-event-id"))
                ?? req.queryValue("lastEventId").flatMap { UInt64($0) }
            guard let stream = SSEStream(responder: res) else { return }
            if let last {
                var (messages, gap) = topic.messages(after: last)
                // An id from the future means the room was reset (a server restart): replay all.
                if last > topic.lastID { messages = topic.messages(after: 0).messages }
                if gap {
                    let oldest = messages.first?.id ?? topic.lastID + 1
                    stream.send(event: "reset", data: "{\"oldest\":\(oldest),\"last\":\(topic.lastID)}")
                }
                for m in messages { stream.send(m.sseEvent) }
            }
            _ = SSESubscription(stream: stream, topic: topic)
        }

        router.get("/messages") { req, res in
            guard let topic = Self.topic(req, pubsub, res), let cursor = Self.cursor(req, res) else { return }
            let messages = topic.messages(after: cursor).messages
            Self.respondJSON(res, cursor: topic.lastID, messages)
        }

        router.get("/poll") { req, res in
            guard let topic = Self.topic(req, pubsub, res), let cursor = Self.cursor(req, res) else { return }
            let pending = topic.messages(after: cursor).messages
            if !pending.isEmpty || cursor > topic.lastID {
                Self.respondJSON(res, cursor: topic.lastID, pending)
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
            _ = LongPollSubscription(topic: topic, responder: res, timeout: .milliseconds(Int64(seconds * 1000))) { messages in
                Self.respondJSON(res, cursor: topic.lastID, messages)
            }
        }

        router.get("/chat") { req, res in
            guard let topic = Self.topic(req, pubsub, res) else { return }
            WebSocket.upgrade(req, res, configuration: webSocket, handler: ChatSocket(topic: topic))
        }
    }

    static func topic(_ req: HTTPRequest, _ pubsub: PubSub, _ res: HTTPResponder) -> Topic? {
        let room = req.queryValue("room") ?? "lobby"
        guard !room.isEmpty, room.utf8.count <= 128 else {
            res.respond(.badRequest, contentType: "text/plain; charset=utf-8", body: "room must be 1 to 128 bytes\n" as StaticString)
            return nil
        }
        return pubsub.topic(room)
    }

    static func cursor(_ req: HTTPRequest, _ res: HTTPResponder) -> UInt64? {
        guard let text = req.queryValue("cursor") else { return 0 }
        guard let n = UInt64(text) else {
            res.respond(.badRequest, contentType: "text/plain; charset=utf-8", body: "cursor must be a message id (0 for all)\n" as StaticString)
            return nil
        }
        return n
    }

    static func respondJSON(_ res: HTTPResponder, cursor: UInt64, _ messages: [TopicMessage]) {
        res.respond(contentType: "application/json", headers: [("Cache-Control", "no-store")],
                    body: PollingResponse.json(cursor: cursor, messages: messages))
    }
}

/// One chat WebSocket: subscribed to its room while open; every text it sends is published to the
/// room, itself included.
final class ChatSocket: WebSocketHandler {
    let topic: Topic
    var subscription: WebSocketSubscription?

    init(topic: Topic) { self.topic = topic }

    func webSocketDidOpen(_ ws: WebSocket) {
        subscription = WebSocketSubscription(socket: ws, topic: topic)
    }

    func webSocket(_ ws: WebSocket, didReceiveText text: UnsafeRawBufferPointer) {
        topic.publish(SharedBytes(copying: text))
    }

    func webSocketWritabilityDidChange(_ ws: WebSocket, isWritable: Bool) {
        subscription?.writabilityChanged(isWritable)
    }

    func webSocketDidClose(_ ws: WebSocket, code: WebSocketCloseCode, reason: String) {
        subscription?.cancel()
        subscription = nil
    }
}
