import Foundation
import Glibc
import Reactor
import ReactorTestSupport
import XCTest

/// A write that fails (the peer reset) inside a connection's own read callback must not call the
/// handler's `connectionDidClose` from inside that callback: a handler may hold an inout access on
/// its own state across the send (as `WebSocket` does around its endpoint), and hearing the close
/// there is a runtime exclusivity violation. The browser suite over TLS found it (a close's flush
/// hitting a reset browser); the plain path had it too.
final class WriteFailureInCallbackTests: XCTestCase {
    final class Replier: ConnectionHandler, @unchecked Sendable {
        struct State {
            var reads = 0
            mutating func answer(_ c: Connection, _ body: () -> Void) { reads += 1; body() }
        }
        var state = State()
        var inRead = false
        let events: Shared<[String]>
        init(_ events: Shared<[String]>) { self.events = events }

        func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int {
            inRead = true
            defer { inRead = false }
            // Our sending side shut behind the loop's back: the answer's write fails (EPIPE), as
            // it does when the peer has reset.
            Glibc.shutdown(c.fd, Int32(SHUT_WR))
            state.answer(c) {  // an inout access on `state` held across the sends and the close
                for _ in 0..<64 { c.send([UInt8](repeating: 0x61, count: 4096)) }
                c.close()
            }
            events.with { $0.append("read") }
            return bytes.count
        }

        func connectionDidClose(_ c: Connection, reason: CloseReason) {
            events.with { $0.append(inRead ? "closed inside the read" : "closed after the read") }
            state.reads += 0  // touches the state the read callback held
        }
    }

    func testAFailedWriteInsideTheReadCallbackClosesAfterIt() throws {
        let events = Shared<[String]>([])
        let (thread, port) = try startServer { _ in Replier(events) }
        defer { thread.stopAndJoin() }
        let client = try BlockingClient(port: port)
        client.send("x")
        XCTAssertTrue(eventually { events.get.count == 2 }, "\(events.get)")
        XCTAssertEqual(events.get, ["read", "closed after the read"])
    }
}
