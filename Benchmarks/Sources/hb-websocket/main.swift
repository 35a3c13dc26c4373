// hb-websocket: the Hummingbird 2 peer of the websocket-echo and idle-memory scenarios.
//
// A WebSocket at /echo sends every text or binary message back as it came. Written the
// way hummingbird-websocket's README writes one (a WebSocket router, `ws` with an
// `onUpgrade` loop over the inbound messages), on an event-loop group of one thread like
// the SwiftNIO peers. The handler is Swift concurrency code, so the process also uses
// the cooperative pool's threads: that is how Hummingbird runs, and what it costs.
//
// usage: hb-websocket --port N
import Glibc
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOPosix

var port = 8080
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    if argument == "--port", let value = arguments.popFirst().flatMap({ Int($0) }) {
        port = value
    } else {
        fail("usage: hb-websocket --port N", status: 2)
    }
}

let router = Router()
let webSocketRouter = Router(context: BasicWebSocketRequestContext.self)
webSocketRouter.ws("echo") { _, _ in
    .upgrade()
} onUpgrade: { inbound, outbound, _ in
    for try await message in inbound.messages(maxSize: 1 << 20) {
        switch message {
        case .text(let text): try await outbound.write(.text(text))
        case .binary(let bytes): try await outbound.write(.binary(bytes))
        }
    }
}

var logger = Logger(label: "hb-websocket")
logger.logLevel = .warning
let app = Application(
    router: router,
    server: .http1WebSocketUpgrade(webSocketRouter: webSocketRouter),
    configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "Hummingbird"),
    eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup(numberOfThreads: 1)),
    logger: logger
)
try await app.runService()

func fail(_ message: String, status: Int32) -> Never {
    var line = message + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(status)
}
