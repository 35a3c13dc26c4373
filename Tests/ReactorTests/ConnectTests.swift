import Foundation
import Glibc
import XCTest
@testable import Reactor
import ReactorTestSupport

/// Outbound connects on the reactor, and many connections at once.
final class ConnectTests: XCTestCase {
    /// A client that sends one message and checks the echo, then closes.
    final class EchoProbe: ConnectionHandler {
        let message: [UInt8]
        let results: Shared<(ok: Int, failed: Int)>
        var received: [UInt8] = []
        init(message: [UInt8], results: Shared<(ok: Int, failed: Int)>) {
            self.message = message
            self.results = results
        }
        func connectionDidOpen(_ c: Connection) { c.send(message) }
        func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int {
            received += bytes
            if received.count >= message.count {
                results.with { received == message ? ($0.ok += 1) : ($0.failed += 1) }
                c.close()
            }
            return bytes.count
        }
        func connectionDidClose(_ c: Connection, reason: CloseReason) {
            if received.count < message.count { results.with { $0.failed += 1 } }
        }
    }

    func testThousandConcurrentEchoConnectionsThroughTheReactorClient() throws {
        raiseDescriptorLimit()
        let count = 1000
        let (server, port) = try startServer { _ in EchoHandler() }
        defer { server.stopAndJoin() }
        let results = Shared((ok: 0, failed: 0))
        let peak = Shared(0)
        let clients = try EventLoopThread()
        defer { clients.stopAndJoin() }
        // Open all connections first, so all 1,000 are open on the server at once.
        final class Holder: ConnectionHandler {
            let opened: Shared<Int>
            init(_ o: Shared<Int>) { opened = o }
            func connectionDidOpen(_ c: Connection) { opened.with { $0 += 1 } }
            func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int { bytes.count }
        }
        let opened = Shared(0)
        let started: Int = onLoop(clients) { loop in
            (0..<count).map { _ in
                try! loop.connect(to: SocketAddress(ip: "127.0.0.1", port: port), handler: Holder(opened))
            }.count
        }
        XCTAssertEqual(started, count)
        XCTAssertTrue(eventually(10) { opened.get == count }, "opened \(opened.get)")
        XCTAssertTrue(eventually(10) { onLoop(server) { $0.connectionCount } == count })
        peak.with { $0 = onLoop(server) { $0.connectionCount } }
        // Now each sends a distinct message on a fresh probe connection set.
        _ = onLoop(clients) { loop in
            for i in 0..<count {
                let message = Array("message \(i) ".utf8) + pattern(64 + i % 200, seed: i)
                try! loop.connect(to: SocketAddress(ip: "127.0.0.1", port: port),
                                  handler: EchoProbe(message: message, results: results))
            }
            return 0
        }
        XCTAssertTrue(eventually(20) { results.get.ok + results.get.failed == count }, "\(results.get)")
        XCTAssertEqual(results.get.ok, count)
        XCTAssertEqual(results.get.failed, 0)
        XCTAssertEqual(peak.get, count)
    }

    /// A read callback that opens enough connections to grow (move) the loop's slot table must
    /// still get its unconsumed bytes back: the loop re-derives the slot after the callback
    /// (it once kept a pointer into the old table, lost the tail, and could crash).
    func testReadCallbackThatGrowsTheSlotTableKeepsItsTail() throws {
        raiseDescriptorLimit()
        let (server, port) = try startServer { _ in EchoHandler() }
        defer { server.stopAndJoin() }
        let clients = try EventLoopThread()
        defer { clients.stopAndJoin() }
        let seen = Shared<[UInt8]>([])
        final class Grower: ConnectionHandler {
            let port: UInt16
            let seen: Shared<[UInt8]>
            var grown = false
            init(port: UInt16, seen: Shared<[UInt8]>) { self.port = port; self.seen = seen }
            func connectionDidOpen(_ c: Connection) { _ = c.send("hello world") }
            func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int {
                if !grown {
                    grown = true
                    for _ in 0..<3000 {
                        _ = try? c.loop.connect(to: SocketAddress(ip: "127.0.0.1", port: port), handler: EchoHandler())
                    }
                    _ = c.send("!")  // the echo of "!" brings the kept tail back with it
                    return 5  // "hello" consumed, " world" kept
                }
                seen.with { $0 += bytes }
                return bytes.count
            }
        }
        _ = onLoop(clients) { loop in
            (try? loop.connect(to: SocketAddress(ip: "127.0.0.1", port: port), handler: Grower(port: port, seen: seen))) != nil
        }
        XCTAssertTrue(eventually(10) { String(decoding: seen.get, as: UTF8.self).hasPrefix(" world") },
                      "got \(String(decoding: seen.get, as: UTF8.self))")
    }

    /// `from:` binds the source address: the server sees the connection come from 127.0.0.2.
    func testConnectFromAChosenSourceAddress() throws {
        let peer = Shared<String?>(nil)
        final class PeerRecorder: ConnectionHandler {
            let peer: Shared<String?>
            init(_ p: Shared<String?>) { peer = p }
            func connectionDidOpen(_ c: Connection) { peer.with { $0 = c.peerAddress?.ip } }
            func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int { bytes.count }
        }
        let (server, port) = try startServer { _ in PeerRecorder(peer) }
        defer { server.stopAndJoin() }
        let clients = try EventLoopThread()
        defer { clients.stopAndJoin() }
        let bound: String = onLoop(clients) { loop in
            do {
                let c = try loop.connect(to: SocketAddress(ip: "127.0.0.1", port: port),
                                         from: SocketAddress(ip: "127.0.0.2", port: 0), handler: EchoHandler())
                return c.localAddress?.ip ?? "none"
            } catch { return "\(error)" }
        }
        XCTAssertEqual(bound, "127.0.0.2")
        XCTAssertTrue(eventually(5) { peer.get == "127.0.0.2" }, "server saw \(String(describing: peer.get))")
    }

    func testConnectToClosedPortReportsConnectFailed() throws {
        // Find a port with nothing listening: bind, read the port, close.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                _ = bind(fd, $0, len)
                _ = getsockname(fd, $0, &len)
            }
        }
        let port = UInt16(bigEndian: addr.sin_port)
        Glibc.close(fd)

        final class Watcher: ConnectionHandler {
            let reason: Shared<CloseReason?>
            init(_ r: Shared<CloseReason?>) { reason = r }
            func connectionDidOpen(_ c: Connection) { XCTFail("connected to a closed port") }
            func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int { bytes.count }
            func connectionDidClose(_ c: Connection, reason: CloseReason) { self.reason.with { $0 = reason } }
        }
        let reason = Shared<CloseReason?>(nil)
        let clients = try EventLoopThread()
        defer { clients.stopAndJoin() }
        _ = onLoop(clients) { loop in
            try! loop.connect(to: SocketAddress(ip: "127.0.0.1", port: port), handler: Watcher(reason))
            return 0
        }
        XCTAssertTrue(eventually { reason.get != nil })
        XCTAssertEqual(reason.get!, .connectFailed(ECONNREFUSED))
    }

    func testIPv6ListenerAndClient() throws {
        let port = Shared<UInt16>(0)
        let thread: EventLoopThread
        do {
            thread = try EventLoopThread { loop in
                let l = try loop.listen(on: SocketAddress(ip: "::1", port: 0), makeHandler: { _ in EchoHandler() })
                port.with { $0 = l.address.port }
            }
        } catch {
            throw XCTSkip("IPv6 loopback unavailable here: \(error)")
        }
        defer { thread.stopAndJoin() }
        let results = Shared((ok: 0, failed: 0))
        let clients = try EventLoopThread()
        defer { clients.stopAndJoin() }
        _ = onLoop(clients) { loop in
            try! loop.connect(to: SocketAddress(ip: "::1", port: port.get),
                              handler: EchoProbe(message: Array("over v6".utf8), results: results))
            return 0
        }
        XCTAssertTrue(eventually { results.get.ok == 1 })
    }
}
