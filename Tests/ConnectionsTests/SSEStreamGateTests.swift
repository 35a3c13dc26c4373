import Connections
import Glibc
import Protocols
import Reactor
import ReactorTestSupport
import XCTest

/// The topic's slow-consumer gate on a real event stream over 127.0.0.1: a client that does not
/// read has what waits for it bounded in bytes (`.dropOldest`), then gets the drop marker and the
/// newest messages once it reads; or is disconnected (`.disconnect`) while the others go on.
final class SSEStreamGateTests: XCTestCase {
    final class State: @unchecked Sendable {
        var hub: PubSub?
        var streams: [SSEStream] = []
    }

    static let bound = 64 << 10
    static let messages = 200
    static let body = String(repeating: "e", count: 8 << 10)

    func startServer(policy: SlowConsumerPolicy) throws -> (EventLoopThread, UInt16, State) {
        let port = Shared<UInt16>(0)
        let state = State()
        let thread = try EventLoopThread { loop in
            let hub = PubSub(loop: loop)
            state.hub = hub
            let router = HTTPRouter()
            router.get("/events") { _, res in
                // A small fixed send buffer (no autotuning to megabytes): the kernel stops taking
                // bytes early, and the connection's own queue, and so its watermark, comes into play.
                var size: Int32 = 16 << 10
                setsockopt(res.connection.fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
                guard let stream = SSEStream(responder: res, heartbeatInterval: nil, retry: nil) else { return }
                stream.subscribe(to: hub.topic("r"), policy: policy)
                state.streams.append(stream)
            }
            let server = HTTPServer(loop: loop, router: router)
            port.with { $0 = try! server.listen(on: SocketAddress(ip: "127.0.0.1", port: 0)).address.port }
        }
        return (thread, port.get, state)
    }

    /// Subscribes a client that reads nothing yet, then publishes 1.6 MiB to its room, ten
    /// messages per loop iteration (what one iteration sends leaves at its end, in one write:
    /// the connection fills up between iterations).
    func floodASleepingClient(_ thread: EventLoopThread, _ port: UInt16, _ state: State) throws -> BlockingClient {
        let client = try BlockingClient(port: port, receiveBuffer: 4096, timeoutSeconds: 2)
        client.send("GET /events HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertTrue(eventually { onLoop(thread) { _ in state.hub!.topic("r").subscriberCount } == 1 })
        for _ in 0..<(Self.messages / 10) {
            _ = onLoop(thread) { _ -> Int in
                let room = state.hub!.topic("r")
                for _ in 0..<10 { room.publish(Self.body) }
                return 0
            }
        }
        return client
    }

    func testDropOldestHoldsItsBoundInBytesThenSendsTheMarkerAndTheNewest() throws {
        let (thread, port, state) = try startServer(policy: .dropOldest(maxPending: 1000, maxPendingBytes: Self.bound))
        defer { thread.stopAndJoin() }
        let client = try floodASleepingClient(thread, port, state)
        defer { client.close() }
        let held = onLoop(thread) { _ -> [Int] in
            let stream = state.streams[0]
            let h = state.hub!.topic("r").held(by: stream.subscription!)
            return [h.count, h.bytes]
        }
        XCTAssertGreaterThan(held[0], 0, "the connection filled up: the gate holds")
        XCTAssertLessThanOrEqual(held[1], Self.bound, "what is held is bounded in bytes")
        XCTAssertLessThan(held[0], 10)

        // The client reads: the queue drains, then the marker and the held messages follow.
        let text = String(decoding: client.receiveAll(), as: UTF8.self)
        let ids = text.split(separator: "\n").filter { $0.hasPrefix("id: ") }.compactMap { Int($0.dropFirst(4)) }
        guard let marker = text.range(of: "event: dropped\ndata: ") else { return XCTFail("no drop marker in \(text.count) bytes") }
        let dropped = Int(text[marker.upperBound...].prefix { $0.isNumber }) ?? -1
        XCTAssertGreaterThan(dropped, 0)
        XCTAssertEqual(ids.last, Self.messages, "the newest always arrives")
        XCTAssertEqual(ids, ids.sorted(), "in order")
        XCTAssertEqual(ids.count + dropped, Self.messages, "each message sent or counted by the marker")
        // What follows the marker is the held run, consecutive up to the newest.
        let after = String(text[marker.upperBound...]).split(separator: "\n").filter { $0.hasPrefix("id: ") }.compactMap { Int($0.dropFirst(4)) }
        XCTAssertEqual(after, Array((Self.messages - after.count + 1)...Self.messages))
        XCTAssertEqual(after.count, held[0])
        XCTAssertEqual(onLoop(thread) { _ in state.hub!.topic("r").subscriberCount }, 1, "still subscribed")
    }

    func testDisconnectEndsTheStreamOfAClientThatCannotKeepUp() throws {
        let (thread, port, state) = try startServer(policy: .disconnect)
        defer { thread.stopAndJoin() }
        let client = try floodASleepingClient(thread, port, state)
        defer { client.close() }
        XCTAssertEqual(onLoop(thread) { _ in state.hub!.topic("r").subscriberCount }, 0, "the gate dropped it")
        XCTAssertEqual(onLoop(thread) { _ in state.streams[0].isOpen }, false)
        // It gets what was written before, then the end of the stream: not the 1.6 MiB.
        let text = String(decoding: client.receiveAll(), as: UTF8.self)
        let ids = text.split(separator: "\n").filter { $0.hasPrefix("id: ") }.compactMap { Int($0.dropFirst(4)) }
        XCTAssertGreaterThan(ids.count, 0)
        XCTAssertLessThan(ids.count, Self.messages)
        XCTAssertEqual(ids, Array(1...ids.count), "everything before the cut, in order")
        XCTAssertFalse(text.contains("event: dropped"))
    }
}
