import Connections
import Foundation
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

/// Reads one Content-Length response from `client`: its status and body (nil at EOF or timeout
/// inside the head).
func readHTTPResponse(_ client: BlockingClient) -> (status: Int, body: [UInt8])? {
    var head: [UInt8] = []
    while !head.ends(with: Array("\r\n\r\n".utf8)) {
        let b = client.receive(exactly: 1)
        guard b.count == 1 else { return nil }
        head += b
    }
    let text = String(decoding: head, as: UTF8.self)
    let status = Int(text.split(separator: " ")[1]) ?? 0
    let length = text.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
        .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
    return (status, client.receive(exactly: length))
}
