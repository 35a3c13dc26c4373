import Connections
import Protocols
import Reactor

// docs/SERVICE.md, the service author's guide: each snippet verbatim (`ExamplesTests` compares
// them), compiled here; `swift run Examples service` serves them all on port 8080.

/// "Configuration and several loops".
func runTheService() throws {
    var configuration = Service.Configuration()
    configuration.threads = 4                          // one loop per thread, all on port 8080
    configuration.loop.maxConnections = 50_000
    configuration.drainDeadline = .seconds(5)          // SIGINT/SIGTERM: finish what is in flight
    let service = try Service(configuration: configuration) { context in
        let router = HTTPRouter()
        installRoutes(on: router, context: context)
        var http = HTTPServerConfiguration()
        http.limits.maxBodyLength = 4 << 20            // bodies up to 4 MiB, 413 beyond
        http.idleTimeout = .seconds(30)
        let server = HTTPServer(loop: context.loop, router: router, configuration: http)
        server.log.sink = .standardError(level: .warning)
        try context.listen(on: SocketAddress(ip: "0.0.0.0", port: 8080)) { server.makeHandler(for: $0) }
    }
    service.run()                                      // returns once every loop has drained
}

/// "Routes, parameters and bodies".
func installRoutes(on router: HTTPRouter, context: ServiceLoop) {
    router.get("/users/:id") { req, res in
        guard let id = req.parameter("id"), let n = Int(id) else {
            res.respond(.badRequest, contentType: "text/plain", body: "id must be a number\n" as StaticString)
            return
        }
        res.respond(contentType: "application/json", body: "{\"id\": \(n)}")
    }
    router.group("/api") { api in
        api.post("/notes", maxBodyBytes: 64 << 10) { req, res in   // this route: 64 KiB at most
            let note = req.bodyText                                 // an owned String
            res.respond(.created, contentType: "text/plain", body: "\(note.utf8.count) bytes\n")
        }
    }
    installEvents(on: router, context: context)
    installChat(on: router, context: context)
    installDeferred(on: router, context: context)
    installVisits(on: router, context: context)
}

/// "Server-Sent Events".
func installEvents(on router: HTTPRouter, context: ServiceLoop) {
    // A ticker: one event a second to each client, until it leaves.
    router.get("/ticks") { _, res in
        guard let stream = SSEStream(responder: res) else { return }
        var n = 0
        let timer = context.loop.scheduleRepeating(every: .seconds(1)) {
            n += 1
            stream.send(id: String(n), data: "tick \(n)")
        }
        stream.onClose { context.loop.cancel(timer) }
    }
    // A room's messages as events; a reconnecting client resumes after its Last-Event-ID.
    router.get("/rooms/:room/events") { req, res in
        let room = context.pubsub.topic(req.parameter("room") ?? "lobby")
        let after = req.header("last-event-id").flatMap { UInt64(String($0)) }
        SSEStream(responder: res)?.subscribe(to: room, replayingAfter: after)
    }
}

/// "WebSocket with rooms": every message goes to everyone else in the room, encoded once.
final class ChatMember: WebSocketHandler {
    let room: Topic
    init(room: Topic) { self.room = room }

    func webSocketDidOpen(_ ws: WebSocket) { ws.subscribe(to: room) }

    func webSocket(_ ws: WebSocket, didReceiveText text: String) {
        room.publish(text, except: ws.subscription)
    }

    func webSocketDidClose(_ ws: WebSocket, code: WebSocketCloseCode, reason: String) {
        ws.unsubscribe(from: room)
    }
}

func installChat(on router: HTTPRouter, context: ServiceLoop) {
    router.get("/chat/:room") { req, res in
        let room = context.pubsub.topic(req.parameter("room") ?? "lobby")
        WebSocket.upgrade(req, res, handler: ChatMember(room: room))
    }
}

/// "Deferred answers and work off the loop".
func installDeferred(on router: HTTPRouter, context: ServiceLoop) {
    // Later, from a timer: keep `req` and `res`, and read the request when answering.
    router.get("/later") { req, res in
        context.loop.schedule(after: .milliseconds(50)) {
            res.respond(contentType: "text/plain", body: "path=\(req.path)\n")
        }
    }
    // Off the loop: copy what the work needs, carry the responder in a LoopBound, and answer
    // back on the loop.
    router.get("/reports/:id") { req, res in
        let id = req.parameter("id") ?? ""
        let responder = LoopBound(res, on: context.loop)
        Task {
            let report = await makeReport(id)               // on Swift's cooperative pool
            try await responder.submit { res in res.respond(contentType: "text/plain", body: report) }
        }
    }
}

func makeReport(_ id: String) async -> String { "report \(id)\n" }

/// "Async code on the loop": state that handlers and tasks share, as an actor whose executor is
/// the loop, so neither hops threads to reach it.
actor Visits {
    nonisolated let handle: EventLoopHandle
    nonisolated var unownedExecutor: UnownedSerialExecutor { handle.asUnownedSerialExecutor() }
    private var count = 0

    init(on handle: EventLoopHandle) { self.handle = handle }

    func add() -> Int {
        count += 1
        return count
    }
}

func installVisits(on router: HTTPRouter, context: ServiceLoop) {
    let visits = Visits(on: context.loop.handle)
    router.get("/visits") { _, res in
        let n = visits.assumeIsolated { $0.add() }     // a callback runs on the loop: no await
        res.respond(contentType: "text/plain", body: "visit \(n)\n")
    }
}

/// "Async code on the loop": a TCP echo written with async/await, on `loop`.
func asyncEcho(on loop: EventLoop) {
    let handle = loop.handle
    Task(executorPreference: handle) {
        let listener = try await TCPListener.listen(on: SocketAddress(ip: "127.0.0.1", port: 7000), handle: handle)
        for await channel in listener.connections {
            Task(executorPreference: handle) {
                for try await chunk in channel.inbound { try await channel.write(chunk) }
            }
        }
    }
}
