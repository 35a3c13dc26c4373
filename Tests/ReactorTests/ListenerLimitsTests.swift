import Foundation
import Glibc
import XCTest
@testable import Reactor
import ReactorTestSupport

/// Running out of descriptors, and the connection cap.
final class ListenerLimitsTests: XCTestCase {
    func testEMFILEPausesAcceptingWithoutSpinningAndResumesWhenDescriptorsFree() throws {
        let (server, port) = try startServer { _ in EchoHandler() }
        defer { server.stopAndJoin() }
        let clientCount = 30, freeForServer = 20

        // Every client descriptor exists before the limit drops; connecting needs no new one.
        let clients = (0..<clientCount).map { _ in BlockingClient(unconnected: ()) }
        defer { clients.forEach { $0.close() } }
        let highest = clients.map(\.fd).max()!
        var saved = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved)
        var lowered = saved
        lowered.rlim_cur = rlim_t(Int(highest) + 1 + freeForServer)
        XCTAssertEqual(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &lowered), 0)
        defer {
            var restore = saved
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &restore)
        }
        for c in clients { try c.connectTo(port: port) }

        XCTAssertTrue(eventually { onLoop(server) { $0.isAcceptingPaused } }, "server never hit EMFILE")
        let accepted = onLoop(server) { $0.connectionCount }
        XCTAssertGreaterThanOrEqual(accepted, freeForServer - 2)  // lower holes may add a few
        XCTAssertLessThan(accepted, clientCount)

        // Paused, the loop sleeps: only the retry timer wakes it (every 100 ms by default).
        let before = onLoop(server) { $0.iterationCount }
        usleep(500_000)
        let iterations = onLoop(server) { $0.iterationCount } - before
        XCTAssertLessThan(iterations, 40, "the loop spins while out of descriptors")

        // Which clients were accepted? Those that get an echo.
        var servedClients: [BlockingClient] = []
        var waiting: [BlockingClient] = []
        for c in clients {
            var tv = timeval(tv_sec: 0, tv_usec: 200_000)
            setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            c.send("?")
            if c.receive(exactly: 1) == [UInt8(ascii: "?")] { servedClients.append(c) } else { waiting.append(c) }
        }
        XCTAssertEqual(servedClients.count, accepted)
        XCTAssertEqual(waiting.count, clientCount - accepted)

        // Free descriptors: the accepted clients leave. The waiting ones must now be served.
        for c in servedClients { shutdown(c.fd, Int32(SHUT_RDWR)) }
        for c in waiting {
            var tv = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            XCTAssertEqual(c.receive(exactly: 1), [UInt8(ascii: "?")], "a waiting client was never served")
        }
    }

    func testMaxConnectionsHoldsNewClientsInTheBacklogUntilOneCloses() throws {
        var configuration = EventLoopConfiguration()
        configuration.maxConnections = 2
        let (server, port) = try startServer(configuration: configuration) { _ in EchoHandler() }
        defer { server.stopAndJoin() }
        let a = try BlockingClient(port: port), b = try BlockingClient(port: port)
        a.send("a"); XCTAssertEqual(a.receive(exactly: 1), [UInt8(ascii: "a")])
        b.send("b"); XCTAssertEqual(b.receive(exactly: 1), [UInt8(ascii: "b")])
        let c = try BlockingClient(port: port, timeoutSeconds: 1)
        defer { b.close(); c.close() }
        c.send("c")
        XCTAssertEqual(c.receive(exactly: 1), [], "third client served above the cap")
        a.close()
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        XCTAssertEqual(c.receive(exactly: 1), [UInt8(ascii: "c")])
    }
}
