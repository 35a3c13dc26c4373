import Foundation
import Connections
import Protocols
import Reactor
import ReactorTestSupport
import XCTest

/// The bounds a Socket.IO client cannot grow past: rooms per socket, room names, and the bytes
/// its session holds for it when it does not poll or read.
extension SocketIOSocketTests {
    func startServer(configuration: SocketIOConfiguration, _ configure: @escaping @Sendable (SocketIOServer) -> Void) throws -> (EventLoopThread, UInt16, Shared<SocketIOServer?>) {
        let port = Shared<UInt16>(0)
        let io = Shared<SocketIOServer?>(nil)
        let thread = try EventLoopThread { loop in
            let router = HTTPRouter()
            let server = SocketIOServer(loop: loop, configuration: configuration)
            configure(server)
            server.install(on: router)
            io.with { $0 = server }
            let http = HTTPServer(loop: loop, router: router)
            port.with { $0 = try! http.listen(on: SocketAddress(ip: "127.0.0.1", port: 0)).address.port }
        }
        return (thread, port.get, io)
    }

    func testRoomsPerSocketAndRoomNamesAreBounded() throws {
        var configuration = SocketIOConfiguration()
        configuration.maxRoomsPerSocket = 5
        configuration.maxRoomNameBytes = 16
        let joins = Shared<[Bool]>([])
        let (thread, port, io) = try startServer(configuration: configuration) { io in
            io.on("connection") { socket in
                // The own id room is one of the five.
                var results = (1...5).map { socket.join("room-\($0)") }
                results.append(socket.join("room-1"))  // already in it: no new room
                results.append(socket.join(String(repeating: "x", count: 17)))
                joins.with { $0 = results }
            }
        }
        defer { thread.stopAndJoin() }
        let ws = try webSocketClient(port)
        defer { ws.client.close() }
        XCTAssertTrue(eventually { joins.get.count == 7 })
        XCTAssertEqual(joins.get, [true, true, true, true, false, true, false])
        let rooms = onLoop(thread) { _ in io.get!.sockets.roomNames.count }
        XCTAssertEqual(rooms, 5, "the refused joins made no room")
        // After the socket leaves one room it may join another.
        let rejoin = onLoop(thread) { _ -> Bool in
            let socket = io.get!.sockets.socket(id: io.get!.sockets.socketIDs(in: "room-1").first!)!
            socket.leave("room-2")
            return socket.join("room-5")
        }
        XCTAssertTrue(rejoin)
    }

    func testAPollingSessionThatDoesNotPollIsClosedPastItsByteBound() throws {
        var configuration = SocketIOConfiguration()
        configuration.engine.pingInterval = .seconds(30)
        configuration.engine.maxQueuedBytes = 10_000
        let (thread, port, io) = try startServer(configuration: configuration) { _ in }
        defer { thread.stopAndJoin() }
        let sid = try pollingClient(port)
        let payload = String(repeating: "p", count: 1_000)
        // Nine packets of about 1 KiB fit; the queue counts their bytes.
        let queued = onLoop(thread) { _ -> [Int] in
            let server = io.get!
            for _ in 0..<9 { server.emit("news", .string(payload)) }
            return [server.engine.session(id: sid)?.queuedByteCount ?? -1, server.sockets.socketCount]
        }
        XCTAssertGreaterThan(queued[0], 9_000)
        XCTAssertEqual(queued[1], 1)
        // The one that crosses 10,000 bytes closes the session as a slow consumer.
        let after = onLoop(thread) { _ -> [Int] in
            let server = io.get!
            server.emit("news", .string(payload))
            server.emit("news", .string(payload))
            return [server.engine.session(id: sid) == nil ? 0 : 1, server.sockets.socketCount]
        }
        XCTAssertEqual(after, [0, 0])
    }

    func testAWebSocketClientThatDoesNotReadIsClosedPastItsByteBound() throws {
        var configuration = SocketIOConfiguration()
        configuration.engine.pingInterval = .seconds(30)
        configuration.engine.maxQueuedBytes = 256 * 1024
        let (thread, port, io) = try startServer(configuration: configuration) { _ in }
        defer { thread.stopAndJoin() }
        let ws = try webSocketClient(port)  // and then never reads
        defer { ws.client.close() }
        let payload = String(repeating: "w", count: 64 * 1024)
        // The kernel's socket buffers take the first few MiB; the session's bound is on what is
        // left in the connection's queue. 32 MiB of emits is far past both.
        let result = onLoop(thread) { _ -> (sent: Int, open: Int) in
            let server = io.get!
            var sent = 0
            while sent < 512 && server.sockets.socketCount == 1 {
                server.emit("flood", .string(payload))
                sent += 1
            }
            return (sent, server.sockets.socketCount)
        }
        XCTAssertEqual(result.open, 0, "the slow client was disconnected")
        XCTAssertLessThan(result.sent, 512)
        let queued = onLoop(thread) { loop in loop.queuedBytes }
        XCTAssertLessThanOrEqual(queued, 512 * 1024, "the slow client's backlog was released")
    }

    /// A broadcast reaches each client through the slow-consumer gate every pub/sub subscriber
    /// has (`DeliveryGate`, `.disconnect`), with the session's byte bound as "full". A binary
    /// event is one decision: its text and its attachments pass together or not at all.
    func testTheBroadcastGateTakesABinaryEventWholeOrClosesTheClient() throws {
        var configuration = SocketIOConfiguration()
        configuration.engine.pingInterval = .seconds(30)
        configuration.engine.maxQueuedBytes = 10_000
        let (thread, port, io) = try startServer(configuration: configuration) { _ in }
        defer { thread.stopAndJoin() }
        let sid = try pollingClient(port)
        let payload = String(repeating: "p", count: 1_000)
        let before = onLoop(thread) { _ -> [Int] in
            let server = io.get!
            for _ in 0..<9 { server.emit("news", .string(payload)) }
            return [server.engine.session(id: sid)?.queuedByteCount ?? -1, server.engine.counters.pollingPackets]
        }
        XCTAssertGreaterThan(before[0], 9_000)
        XCTAssertEqual(before[1], 9)
        // Its text (some 40 bytes) would still fit; its 2,000-byte attachment would not.
        let after = onLoop(thread) { _ -> [Int] in
            let server = io.get!
            var args = SocketIOArguments([])
            args.append(binary: [UInt8](repeating: 7, count: 2_000))
            server.sockets.emit("file", args)
            return [server.engine.session(id: sid) == nil ? 0 : 1, server.sockets.socketCount, server.engine.counters.pollingPackets]
        }
        XCTAssertEqual(after[0], 0, "closed as a slow consumer")
        XCTAssertEqual(after[1], 0)
        XCTAssertEqual(after[2], 9, "no part of the refused event was queued (not even its text)")
    }
}
