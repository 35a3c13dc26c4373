import Connections
import Reactor
import ReactorTestSupport

/// Starts an HTTP server on a loop thread of its own, listening on 127.0.0.1 (a free port): the
/// one start-up every HTTP test shares. `routes` runs on the loop before the server is made,
/// `configure` adjusts its configuration, and `made` sees the server (to plug in a log sink).
func startHTTPServer(
    loopConfiguration: EventLoopConfiguration = EventLoopConfiguration(),
    configure: @escaping @Sendable (inout HTTPServerConfiguration) -> Void = { _ in },
    made: @escaping @Sendable (HTTPServer) -> Void = { _ in },
    routes: @escaping @Sendable (HTTPRouter, EventLoop) -> Void
) throws -> (EventLoopThread, UInt16) {
    let port = Shared<UInt16>(0)
    let thread = try EventLoopThread(configuration: loopConfiguration) { loop in
        let router = HTTPRouter()
        routes(router, loop)
        var configuration = HTTPServerConfiguration()
        configure(&configuration)
        let server = HTTPServer(loop: loop, router: router, configuration: configuration)
        made(server)
        let listener = try server.listen(on: SocketAddress(ip: "127.0.0.1", port: 0))
        port.with { $0 = listener.address.port }
    }
    return (thread, port.get)
}
