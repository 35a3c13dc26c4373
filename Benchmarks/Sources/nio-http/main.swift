// nio-http: the SwiftNIO peer of the http-plaintext scenario.
//
// `GET /plaintext` answers "Hello, World!" as text/plain with Date, Server,
// Content-Type and Content-Length, like the reactor's demo; anything else is a 404.
// One event-loop thread (MultiThreadedEventLoopGroup(numberOfThreads: 1)), the stock
// `configureHTTPServerPipeline()` (pipelining assistance and error handling on), and
// the handler written the way SwiftNIO's TechEmpower entry is: the body a ByteBuffer
// made once, the Date header formatted once a second on the loop, writes flushed once
// per read burst (channelReadComplete), 16 reads per readiness event.
//
// usage: nio-http --port N
import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix

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

var port = 8080
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    if argument == "--port", let value = arguments.popFirst().flatMap({ Int($0) }) {
        port = value
    } else {
        fail("usage: nio-http --port N", status: 2)
    }
}

let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let loop = group.next()
let dates = DateCache()
loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in dates.update() }

let bootstrap = ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 4096)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
    .childChannelOption(.maxMessagesPerRead, value: 16)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.configureHTTPServerPipeline()
            try channel.pipeline.syncOperations.addHandler(PlaintextHandler(dates: dates))
        }
    }

do {
    let channel = try bootstrap.bind(host: "127.0.0.1", port: port).wait()
    print("nio-http listening on \(channel.localAddress.map { "\($0)" } ?? "?")")
    fflush(nil) // stdout is a file, not a terminal: show the line now
    try channel.closeFuture.wait()
} catch {
    fail("nio-http: \(error)", status: 1)
}

/// Writes a line to stderr and exits (Swift 6 will not let us name the C global `stderr`).
func fail(_ message: String, status: Int32) -> Never {
    var line = message + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(status)
}
