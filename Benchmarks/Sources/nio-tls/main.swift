// nio-tls: the SwiftNIO peer of the tls scenario (issue 17): NIOSSL (BoringSSL) in front of the
// same handlers as nio-http and nio-websocket, on one event-loop thread.
//
// Every connection starts with NIOSSLServerHandler (TLS 1.2 and 1.3, ALPN http/1.1 offered, as
// the reactor's demo does), then the plain peer's pipeline: `--http` serves `GET /plaintext`
// (nio-http's handler: the TechEmpower way), `--websocket` upgrades `GET /echo` (nio-websocket's
// echo). The handlers are copies of those two files, not shared code: a library between the
// plain peers and this one would change how the plain peers are compiled, and this product
// exists apart so that the plain peers never build BoringSSL.
//
// usage: nio-tls (--http | --websocket) --cert PEM --key PEM --port N
import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket

// MARK: HTTP: nio-http's handler

/// The Date header's value, formatted once a second by a task on the one event loop and
/// read only there: it is never shared across threads, hence @unchecked.
final class DateCache: @unchecked Sendable {
    private(set) var value = DateCache.format()

    func update() { value = DateCache.format() }

    static func format() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let n = strftime(&buffer, buffer.count, "%a, %d %b %Y %H:%M:%S GMT", &parts)
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

final class PlaintextHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let dates: DateCache
    private let body: ByteBuffer
    private var found = false

    init(dates: DateCache) {
        self.dates = dates
        self.body = ByteBuffer(string: "Hello, World!")
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            found = head.method == .GET && head.uri == "/plaintext"
        case .body:
            break
        case .end:
            var headers = HTTPHeaders()
            headers.reserveCapacity(4)
            headers.add(name: "Date", value: dates.value)
            headers.add(name: "Server", value: "SwiftNIO")
            if found {
                headers.add(name: "Content-Type", value: "text/plain")
                headers.add(name: "Content-Length", value: "13")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            } else {
                headers.add(name: "Content-Length", value: "0")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .notFound, headers: headers))), promise: nil)
            }
            context.write(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }
}

// MARK: WebSocket: nio-websocket's handlers

final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private var closing = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .binary, .continuation:
            let echo = WebSocketFrame(fin: frame.fin, opcode: frame.opcode, data: frame.unmaskedData)
            context.write(wrapOutboundOut(echo), promise: nil)
        case .ping:
            context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
        case .connectionClose:
            guard !closing else { return }
            closing = true
            var data = frame.unmaskedData
            let code = data.readSlice(length: 2) ?? ByteBuffer()
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: code)))
                .whenComplete { _ in bound.value.close(promise: nil) }
        default:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }
}

/// Answers a plain HTTP request (no upgrade) with a 404.
final class NotFoundHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Length", value: "0")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .notFound, headers: headers))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

// MARK: The server

enum Mode { case http, websocket }
var mode: Mode?
var port = 8443
var certificateFile = "", keyFile = ""
let usage = "usage: nio-tls (--http | --websocket) --cert PEM --key PEM --port N"
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--http": mode = .http
    case "--websocket": mode = .websocket
    case "--cert": certificateFile = arguments.popFirst() ?? ""
    case "--key": keyFile = arguments.popFirst() ?? ""
    case "--port": port = arguments.popFirst().flatMap { Int($0) } ?? -1
    default: fail(usage, status: 2)
    }
}
guard let mode, !certificateFile.isEmpty, !keyFile.isEmpty, port > 0 else { fail(usage, status: 2) }

let sslContext: NIOSSLContext
do {
    let chain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { NIOSSLCertificateSource.certificate($0) }
    let key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
    var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
    configuration.minimumTLSVersion = .tlsv12
    configuration.applicationProtocols = ["http/1.1"]
    sslContext = try NIOSSLContext(configuration: configuration)
} catch {
    fail("nio-tls: \(error)", status: 1)
}

let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let dates = DateCache()
if mode == .http {
    group.next().scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in dates.update() }
}

let bootstrap = ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 4096)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
    .childChannelOption(.maxMessagesPerRead, value: 16)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(NIOSSLServerHandler(context: sslContext))
            switch mode {
            case .http:
                try pipeline.configureHTTPServerPipeline()
                try pipeline.addHandler(PlaintextHandler(dates: dates))
            case .websocket:
                let upgrader = NIOWebSocketServerUpgrader(
                    maxFrameSize: 1 << 24,
                    shouldUpgrade: { channel, head in
                        channel.eventLoop.makeSucceededFuture(head.uri == "/echo" ? HTTPHeaders() : nil)
                    },
                    upgradePipelineHandler: { channel, _ in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(EchoHandler())
                        }
                    }
                )
                try pipeline.configureHTTPServerPipeline(
                    withServerUpgrade: (upgraders: [upgrader], completionHandler: { context in
                        context.pipeline.removeHandler(name: "not-found", promise: nil)
                    })
                )
                try pipeline.addHandler(NotFoundHandler(), name: "not-found")
            }
        }
    }

do {
    let channel = try bootstrap.bind(host: "127.0.0.1", port: port).wait()
    print("nio-tls listening on \(channel.localAddress.map { "\($0)" } ?? "?")")
    fflush(nil) // stdout is a file, not a terminal: show the line now
    try channel.closeFuture.wait()
} catch {
    fail("nio-tls: \(error)", status: 1)
}

/// Writes a line to stderr and exits (Swift 6 will not let us name the C global `stderr`).
func fail(_ message: String, status: Int32) -> Never {
    var line = message + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(status)
}
