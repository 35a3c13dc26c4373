import Foundation
import Glibc
import XCTest
@testable import Reactor
import ReactorTestSupport

/// Sends to a connection from outside its own callbacks (a broadcast) are written at the end of
/// the loop iteration, so several of them leave in one write.
final class DeferredFlushTests: XCTestCase {
    /// Keeps the accepted connections (the handler that accepted them), to send to them later.
    final class Accepted: @unchecked Sendable {
        var connections: [Connection] = []
    }

    final class Collecting: ConnectionHandler {
        let accepted: Accepted
        init(_ accepted: Accepted) { self.accepted = accepted }
        func connectionDidOpen(_ c: Connection) { accepted.connections.append(c) }
        func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int { bytes.count }
    }

    func testSharedSendsToAnotherConnectionLeaveInOneWriteAtTheEndOfTheIteration() throws {
        let accepted = Accepted()
        let (server, port) = try startServer { _ in Collecting(accepted) }
        defer { server.stopAndJoin() }
        let subscribers = try (0..<3).map { _ in try BlockingClient(port: port) }
        XCTAssertTrue(eventually { onLoop(server) { _ in accepted.connections.count } == 3 })

        // Ten messages to each of three connections in one iteration (one execute block).
        let messages = (0..<10).map { SharedBytes("message \($0);") }
        let writes: UInt64 = onLoop(server) { loop in
            let before = loop.statistics.writes
            for m in messages {
                for c in accepted.connections { XCTAssertTrue(c.send(m)) }
            }
            // Nothing is written yet: the queues wait for the end of the iteration.
            XCTAssertEqual(loop.statistics.writes, before)
            XCTAssertEqual(accepted.connections.map(\.bufferedAmount), Array(repeating: messages.reduce(0) { $0 + $1.count }, count: 3))
            return before
        }
        let expected = messages.flatMap(\.bytes)
        for client in subscribers {
            XCTAssertEqual(client.receive(exactly: expected.count), expected)
        }
        let after: UInt64 = onLoop(server) { $0.statistics.writes }
        XCTAssertEqual(after - writes, 3, "one write per connection for its ten messages")
    }

    /// A connection closed after a deferred send, in the same iteration, does not break the
    /// others' flush, and a descriptor reused meanwhile does not inherit the pending write.
    func testAConnectionClosedBeforeTheFlushIsSkipped() throws {
        let accepted = Accepted()
        let (server, port) = try startServer { _ in Collecting(accepted) }
        defer { server.stopAndJoin() }
        let a = try BlockingClient(port: port)
        let b = try BlockingClient(port: port)
        XCTAssertTrue(eventually { onLoop(server) { _ in accepted.connections.count } == 2 })
        let message = SharedBytes("hello")
        _ = onLoop(server) { _ in
            accepted.connections[0].send(message) && accepted.connections[1].send(message)
                && { accepted.connections[0].close(flush: false); return true }()
        }
        XCTAssertEqual(b.receive(exactly: 5), Array("hello".utf8))
        XCTAssertEqual(a.receiveAll(), [], "closed without flushing: nothing was written")
    }
}

extension DeferredFlushTests {
    /// A connection's own send after a deferred one (a subscriber answering in its read callback,
    /// a close with flush) never overtakes it.
    func testLaterSendsAndCloseKeepTheDeferredBytesFirst() throws {
        let accepted = Accepted()
        let (server, port) = try startServer { _ in Collecting(accepted) }
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        XCTAssertTrue(eventually { onLoop(server) { _ in accepted.connections.count } == 1 })
        _ = onLoop(server) { _ in
            let c = accepted.connections[0]
            return c.send(SharedBytes("one;")) && c.send(SharedBytes("two;")) && c.send("three;")
                && { c.close(); return true }()
        }
        XCTAssertEqual(String(decoding: client.receiveAll(), as: UTF8.self), "one;two;three;")
    }

    /// More deferred sends to one connection than one sendmsg takes go out in order all the same.
    func testABurstLongerThanOneSendmsgArrivesInOrder() throws {
        let accepted = Accepted()
        let (server, port) = try startServer { _ in Collecting(accepted) }
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        XCTAssertTrue(eventually { onLoop(server) { _ in accepted.connections.count } == 1 })
        let parts = (0..<500).map { "part \($0);" }
        _ = onLoop(server) { _ in parts.allSatisfy { accepted.connections[0].send(SharedBytes($0)) } }
        let expected = parts.joined()
        XCTAssertEqual(String(decoding: client.receive(exactly: expected.utf8.count), as: UTF8.self), expected)
    }
}
