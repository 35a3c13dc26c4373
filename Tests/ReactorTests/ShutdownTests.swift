import Foundation
import Glibc
import XCTest
@testable import Reactor
import ReactorTestSupport

final class ShutdownTests: XCTestCase {
    func testStopClosesEveryDescriptorTheLoopOpened() throws {
        let before = openDescriptorCount()
        do {
            let (server, port) = try startServer { _ in EchoHandler() }
            var clients: [BlockingClient] = []
            for _ in 0..<10 {
                let c = try BlockingClient(port: port)
                c.send("x")
                XCTAssertEqual(c.receive(exactly: 1), [UInt8(ascii: "x")])
                clients.append(c)
            }
            // Outbound connections too.
            _ = onLoop(server) { loop in
                for _ in 0..<5 { _ = try? loop.connect(to: SocketAddress(ip: "127.0.0.1", port: port), handler: EchoHandler()) }
                return 0
            }
            XCTAssertTrue(eventually { onLoop(server) { $0.connectionCount } == 20 })
            server.stopAndJoin()
            clients.forEach { $0.close() }
        }
        XCTAssertTrue(eventually { openDescriptorCount() == before }, "leaked: \(openDescriptorCount() - before) descriptors")
    }

    func testGracefulShutdownLetsHandlersFinishThenStops() throws {
        final class Polite: ConnectionHandler {
            func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int { bytes.count }
            func connectionShouldShutdown(_ c: Connection) {
                c.send("goodbye")
                c.close(reason: .shutdown)
            }
        }
        let (server, port) = try startServer { _ in Polite() }
        let a = try BlockingClient(port: port), b = try BlockingClient(port: port)
        defer { a.close(); b.close() }
        XCTAssertTrue(eventually { onLoop(server) { $0.connectionCount } == 2 })
        server.handle.shutdownGracefully(deadline: .seconds(5))
        XCTAssertEqual(String(decoding: a.receiveAll(), as: UTF8.self), "goodbye")
        XCTAssertEqual(String(decoding: b.receiveAll(), as: UTF8.self), "goodbye")
        server.join()  // returns because the last connection closed, well before the deadline
        XCTAssertThrowsError(try BlockingClient(port: port), "still accepting after shutdown")
    }

    func testGracefulShutdownDeadlineClosesStragglers() throws {
        final class Stubborn: ConnectionHandler {
            func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int { bytes.count }
            func connectionShouldShutdown(_ c: Connection) {}  // ignores the request
        }
        let (server, port) = try startServer { _ in Stubborn() }
        let a = try BlockingClient(port: port)
        defer { a.close() }
        XCTAssertTrue(eventually { onLoop(server) { $0.connectionCount } == 1 })
        let start = Date()
        server.handle.shutdownGracefully(deadline: .milliseconds(200))
        server.join()
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 0.19)
        XCTAssertEqual(a.receiveAll(), [], "the straggler is closed")
    }
}
