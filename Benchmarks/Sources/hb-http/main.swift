// hb-http: the Hummingbird 2 peer of the http-plaintext scenario.
//
// `GET /plaintext` answers "Hello, World!" as text/plain, the same body as the reactor's
// demo; Hummingbird adds its own Date and Content-Length headers. Written the way
// Hummingbird's README writes an application (a Router, a route closure, an Application
// run as a service), with the event-loop group cut to one thread like the SwiftNIO peers.
// The route closure runs as Swift concurrency code, so the process also uses the
// cooperative pool's threads: that is how Hummingbird runs, and what it costs.
//
// usage: hb-http --port N
import Glibc
import Hummingbird
import Logging
import NIOCore
import NIOPosix

var port = 8080
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    if argument == "--port", let value = arguments.popFirst().flatMap({ Int($0) }) {
        port = value
    } else {
        fail("usage: hb-http --port N", status: 2)
    }
}

/// The body, made once: every response shares its storage.
let body = ByteBuffer(string: "Hello, World!")

let router = Router()
router.get("plaintext") { _, _ -> Response in
    Response(
        status: .ok,
        headers: [.contentType: "text/plain"],
        body: ResponseBody(byteBuffer: body)
    )
}

var logger = Logger(label: "hb-http")
logger.logLevel = .warning
let app = Application(
    router: router,
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
