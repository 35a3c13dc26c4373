// nio-broadcast: the SwiftNIO peer of the broadcast benchmark (one publisher, thousands of
// subscribers in one room). It speaks the reactor chat demo's contract (Sources/echo/Chat.swift),
// byte for byte where a load generator looks, so one load generator drives both:
//
//   ws   /chat?room=R     joins room R; every text frame it sends is published to R, and every
//                         message of R arrives as one text frame (the sender's own included)
//   GET  /events?room=R   SSE: 200 text/event-stream, `Connection: close`, then `retry: 2000\n`
//                         once and `data: <text>\nid: <n>\n\n` per message (a multi-line text
//                         gives several `data:` lines); the body ends when the connection does
//   POST /send?room=R     body = the text (UTF-8) -> 200 {"id":n}
//
// Every message of a room gets the room's next id (1, 2, 3, ...). `room` defaults to "lobby" and
// must be 1 to 128 bytes (400 otherwise); a text that is not UTF-8 gets a 400 (POST) or a close
// 1007 (WebSocket), as in the reactor. `/chat` without an upgrade gets 426; anything else 404.
//
// The broadcast is written the way an experienced NIO user writes one: a publish builds the
// WebSocket frame's payload buffer once and the SSE event's bytes once, and hands the same
// ByteBuffer (reference-counted storage, never copied per subscriber) to every subscriber's
// `writeAndFlush`. Subscribers sit in dictionaries keyed by ObjectIdentifier, so join and leave
// are O(1). NIO writes into each channel's own unbounded queue: unlike the reactor, there is no
// high-water mark or slow-consumer cut-off here (a broadcast benchmark whose subscribers keep up
// never needs one).
//
// What the reactor does and this does not: Last-Event-ID replay, `after=N` on /chat, the SSE
// heartbeat comment (`: heartbeat\n` every 15 s per stream), polling and long polling, Date and
// Server headers. None of them is on the broadcast benchmark's path.
//
// One event-loop thread (MultiThreadedEventLoopGroup(numberOfThreads: 1)); every room lives on
// it. 16 reads per readiness event, WebSocket frames up to 1 MiB, as in the other NIO peers.
//
// usage: nio-broadcast [--host H] --port N
import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// One chat room: its subscribers on each transport and the id of its last message.
/// Touched only on the event loop (through `Rooms`).
final class Room {
    private(set) var lastID: UInt64 = 0
    private var webSockets: [ObjectIdentifier: Channel] = [:]
    private var eventStreams: [ObjectIdentifier: Channel] = [:]

    func join(webSocket channel: Channel) { webSockets[ObjectIdentifier(channel)] = channel }
    func leave(webSocket channel: Channel) { webSockets.removeValue(forKey: ObjectIdentifier(channel)) }
    func join(eventStream channel: Channel) { eventStreams[ObjectIdentifier(channel)] = channel }
    func leave(eventStream channel: Channel) { eventStreams.removeValue(forKey: ObjectIdentifier(channel)) }

    /// Numbers `text` and delivers it to every subscriber: each wire format is encoded once and
    /// the same buffer is written to every channel (each write retains it; none copies it).
    /// Returns the message's id.
    func publish(_ text: ByteBuffer, allocator: ByteBufferAllocator) -> UInt64 {
        lastID += 1
        if !webSockets.isEmpty {
            // WebSocketFrameEncoder writes the 2-byte header into its own small buffer (the payload
            // is shared, so it cannot prepend in place) and the payload as a second buffer.
            let frame = WebSocketFrame(fin: true, opcode: .text, data: text)
            for channel in webSockets.values { channel.writeAndFlush(frame, promise: nil) }
        }
        if !eventStreams.isEmpty {
            let event = HTTPServerResponsePart.body(.byteBuffer(EventStream.event(id: lastID, text: text, allocator: allocator)))
            for channel in eventStreams.values { channel.writeAndFlush(event, promise: nil) }
        }
        return lastID
    }
}

/// Every room, by name. Rooms are kept once made, so ids never start over while the process runs.
///
/// `@unchecked Sendable` because the channel initializer and the upgrader's callbacks are
/// `@Sendable` closures that capture it; the only thread that ever reads or writes it is the one
/// event loop's (the group has one thread, and every caller runs on a channel of that loop).
final class Rooms: @unchecked Sendable {
    private let loop: EventLoop
    private var rooms: [String: Room] = [:]

    init(loop: EventLoop) { self.loop = loop }

    func room(_ name: String) -> Room {
        loop.assertInEventLoop()
        if let room = rooms[name] { return room }
        let room = Room()
        rooms[name] = room
        return room
    }
}

/// The SSE wire format (the reactor's SSEEncoder): `data:` lines, then `id:`, then a blank line.
/// The id goes last, as in the reactor: a client that has seen the id has seen the whole event.
enum EventStream {
    /// Sent once when a stream opens: the browser's reconnection delay (no blank line, so it joins
    /// the first event's block, as the reactor sends it).
    static let preamble = ByteBuffer(string: "retry: 2000\n")

    static func event(id: UInt64, text: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        var out = allocator.buffer(capacity: text.readableBytes + 32)
        text.withUnsafeReadableBytes { bytes in
            // CR, LF and CRLF all end a line; each line becomes a `data:` line of its own.
            var start = 0
            var i = 0
            while i < bytes.count {
                let b = bytes[i]
                if b == UInt8(ascii: "\n") || b == UInt8(ascii: "\r") {
                    out.writeStaticString("data: ")
                    out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[start..<i]))
                    out.writeInteger(UInt8(ascii: "\n"))
                    if b == UInt8(ascii: "\r") && i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\n") { i += 1 }
                    start = i + 1
                }
                i += 1
            }
            out.writeStaticString("data: ")
            out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[start..<bytes.count]))
        }
        out.writeStaticString("\nid: ")
        out.writeString(String(id))
        out.writeStaticString("\n\n")
        return out
    }
}

/// The query and path of a request target.
struct Target {
    let path: Substring
    let query: Substring

    init(_ uri: String) {
        if let q = uri.firstIndex(of: "?") {
            path = uri[..<q]
            query = uri[uri.index(after: q)...]
        } else {
            path = uri[...]
            query = ""
        }
    }

    /// The room named by `room=` (percent-decoded, `+` as space, as the reactor decodes it),
    /// "lobby" when absent; nil when it is not 1 to 128 bytes.
    var room: String? {
        var name = "lobby"
        for item in query.split(separator: "&") {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if Self.decode(parts[0]) == "room" {
                name = parts.count > 1 ? Self.decode(parts[1]) : ""
                break
            }
        }
        return name.isEmpty || name.utf8.count > 128 ? nil : name
    }

    private static func decode(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var utf8 = text.utf8[...]
        while let b = utf8.popFirst() {
            if b == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else if b == UInt8(ascii: "%"), utf8.count >= 2,
                      let hi = hexValue(utf8[utf8.startIndex]), let lo = hexValue(utf8[utf8.index(after: utf8.startIndex)]) {
                bytes.append(hi << 4 | lo)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(b)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

func isUTF8(_ buffer: ByteBuffer) -> Bool {
    buffer.withUnsafeReadableBytes { String(validating: $0, as: UTF8.self) != nil }
}

/// Plain HTTP: POST /send, GET /events, and the errors. Removed from the pipeline when the
/// connection upgrades to a WebSocket.
final class HTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// The reactor's body limit (HTTPParserLimits.maxBodyLength).
    static let maxBody = 1 << 20

    private let rooms: Rooms
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var tooLarge = false
    /// The room this connection streams (SSE), while it does.
    private var streaming: Room?

    init(rooms: Rooms) { self.rooms = rooms }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = nil
            tooLarge = false
        case .body(var part):
            guard !tooLarge else { return }
            if (body?.readableBytes ?? 0) + part.readableBytes > Self.maxBody {
                tooLarge = true
                body = nil
            } else if body == nil {
                body = part
            } else {
                body!.writeBuffer(&part)
            }
        case .end:
            guard let head else { return }
            self.head = nil
            respond(context, head)
        }
    }

    private func respond(_ context: ChannelHandlerContext, _ head: HTTPRequestHead) {
        guard streaming == nil else { return } // the stream's body runs until the connection closes
        let target = Target(head.uri)
        switch (head.method, target.path) {
        case (.POST, "/send"):
            guard let name = target.room else { return badRoom(context) }
            if tooLarge { return reply(context, .payloadTooLarge, "text/plain; charset=utf-8", ByteBuffer(string: "body too large\n")) }
            let text = body ?? ByteBuffer()
            body = nil
            guard isUTF8(text) else {
                return reply(context, .badRequest, "text/plain; charset=utf-8", ByteBuffer(string: "the message must be UTF-8 text\n"))
            }
            let id = rooms.room(name).publish(text, allocator: context.channel.allocator)
            reply(context, .ok, "application/json", ByteBuffer(string: "{\"id\":\(id)}"))
        case (.GET, "/events"):
            guard let name = target.room else { return badRoom(context) }
            // No Content-Length and automatic framing off (see the bootstrap): the body is the
            // raw event bytes, ended by closing the connection, as the reactor's stream is.
            var headers = HTTPHeaders()
            headers.add(name: "Connection", value: "close")
            headers.add(name: "Content-Type", value: "text/event-stream; charset=utf-8")
            headers.add(name: "Cache-Control", value: "no-cache")
            headers.add(name: "X-Accel-Buffering", value: "no")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(EventStream.preamble))), promise: nil)
            let room = rooms.room(name)
            room.join(eventStream: context.channel)
            streaming = room
        case (.GET, "/chat"):
            // An upgrade request with a good room never gets here (the upgrade handler takes it).
            guard target.room != nil else { return badRoom(context) }
            var headers = HTTPHeaders()
            headers.add(name: "Upgrade", value: "websocket")
            headers.add(name: "Connection", value: "Upgrade")
            reply(context, .upgradeRequired, "text/plain; charset=utf-8", ByteBuffer(string: "not an upgrade request\n"), headers)
        default:
            reply(context, .notFound, "text/plain; charset=utf-8", ByteBuffer(string: "Not Found\n"))
        }
    }

    private func badRoom(_ context: ChannelHandlerContext) {
        reply(context, .badRequest, "text/plain; charset=utf-8", ByteBuffer(string: "room must be 1 to 128 bytes\n"))
    }

    private func reply(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus, _ contentType: String,
                       _ body: ByteBuffer, _ extra: HTTPHeaders = HTTPHeaders()) {
        var headers = extra
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        headers.add(name: "Content-Type", value: contentType)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    /// Called when the upgrade removes this handler, and for every handler when the channel closes.
    func handlerRemoved(context: ChannelHandlerContext) {
        streaming?.leave(eventStream: context.channel)
        streaming = nil
    }
}

/// One chat WebSocket: a member of its room from the upgrade until it closes.
final class ChatSocketHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let room: Room
    private var joined = false

    init(room: Room) { self.room = room }

    func handlerAdded(context: ChannelHandlerContext) {
        room.join(webSocket: context.channel)
        joined = true
    }

    func handlerRemoved(context: ChannelHandlerContext) { leave(context) }

    private func leave(_ context: ChannelHandlerContext) {
        guard joined else { return }
        joined = false
        room.leave(webSocket: context.channel)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            // Whole messages only: NIOWebSocketFrameAggregator (ahead of us) joins fragments.
            let text = frame.unmaskedData
            guard isUTF8(text) else { return close(context, code: .dataInconsistentWithMessage, reason: "text message is not valid UTF-8") }
            _ = room.publish(text, allocator: context.channel.allocator)
        case .ping:
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
        case .connectionClose:
            var data = frame.unmaskedData
            let code = data.readSlice(length: 2) ?? ByteBuffer()
            close(context, echoing: code)
        default:
            break // binary, pong: the chat has nothing to do with them (the reactor ignores them too)
        }
    }

    private func close(_ context: ChannelHandlerContext, code: WebSocketErrorCode, reason: String) {
        var data = context.channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        data.write(webSocketErrorCode: code)
        data.writeString(reason)
        close(context, echoing: data)
    }

    /// Leaves the room (no data frame may follow a close frame), sends the close frame and
    /// closes the connection once it is written.
    private func close(_ context: ChannelHandlerContext, echoing code: ByteBuffer) {
        guard joined else { return }
        leave(context)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: code)))
            .whenComplete { _ in bound.value.close(promise: nil) }
    }
}

var host = "127.0.0.1"
var port = 8080
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    if argument == "--port", let value = arguments.popFirst().flatMap({ Int($0) }) {
        port = value
    } else if argument == "--host", let value = arguments.popFirst() {
        host = value
    } else {
        fail("usage: nio-broadcast [--host H] --port N", status: 2)
    }
}

let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let rooms = Rooms(loop: group.next())

// SSE bodies are delimited by the connection's close, not chunked, so the response encoder must
// not add `Transfer-Encoding: chunked` to a head without a Content-Length: automatic framing is
// off, and every other response here sets its own Content-Length.
let encoderConfiguration = {
    var configuration = HTTPResponseEncoder.Configuration()
    configuration.automaticallySetFramingHeaders = false
    return configuration
}()

let bootstrap = ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 4096)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
    .childChannelOption(.maxMessagesPerRead, value: 16)
    .childChannelInitializer { channel in
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: 1 << 20,
            shouldUpgrade: { channel, head in
                let target = Target(head.uri)
                // A bad room is not upgraded: the HTTP handler then answers it (400).
                let ok = target.path == "/chat" && target.room != nil
                return channel.eventLoop.makeSucceededFuture(ok ? HTTPHeaders() : nil)
            },
            upgradePipelineHandler: { channel, head in
                channel.eventLoop.makeCompletedFuture {
                    let room = rooms.room(Target(head.uri).room ?? "lobby")
                    try channel.pipeline.syncOperations.addHandler(
                        NIOWebSocketFrameAggregator(minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 1024,
                                                    maxAccumulatedFrameSize: 1 << 20))
                    try channel.pipeline.syncOperations.addHandler(ChatSocketHandler(room: room))
                }
            }
        )
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                withServerUpgrade: (upgraders: [upgrader], completionHandler: { context in
                    context.pipeline.removeHandler(name: "http", promise: nil)
                }),
                withEncoderConfiguration: encoderConfiguration
            )
            try channel.pipeline.syncOperations.addHandler(HTTPHandler(rooms: rooms), name: "http")
        }
    }

do {
    let channel = try bootstrap.bind(host: host, port: port).wait()
    print("nio-broadcast listening on \(channel.localAddress.map { "\($0)" } ?? "?")")
    fflush(nil) // stdout is a file, not a terminal: show the line now
    try channel.closeFuture.wait()
} catch {
    fail("nio-broadcast: \(error)", status: 1)
}

/// Writes a line to stderr and exits (Swift 6 will not let us name the C global `stderr`).
func fail(_ message: String, status: Int32) -> Never {
    var line = message + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(status)
}
