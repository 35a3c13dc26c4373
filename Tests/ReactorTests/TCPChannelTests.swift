import Glibc
import Reactor
import ReactorTestSupport
import XCTest

/// The async TCP API over real sockets on 127.0.0.1.
final class TCPChannelTests: XCTestCase {
    private func localhost() throws -> SocketAddress { try SocketAddress(ip: "127.0.0.1", port: 0) }

    /// An echo server written with the async API, and an async client: bytes go round in order.
    func testAnAsyncEchoServerAndClient() async throws {
        let thread = try EventLoopThread()
        let handle = thread.handle
        let listener = try await TCPListener.listen(on: localhost(), handle: handle)
        let server = Task(executorPreference: handle) {
            for await channel in listener.connections {
                Task(executorPreference: handle) {
                    for try await chunk in channel.inbound { try await channel.write(chunk) }
                }
            }
        }
        let client = try await TCPChannel.connect(to: listener.address, on: handle)
        var expected: [UInt8] = []
        var received: [UInt8] = []
        for i in 0..<50 {
            let message = Array("message \(i);".utf8)
            expected += message
            try await client.write(message)
        }
        for try await chunk in client.inbound {
            received += chunk
            if received.count >= expected.count { break }
        }
        XCTAssertEqual(received, expected)
        await client.close()
        await listener.close()
        _ = await server.value
        thread.stopAndJoin()
    }

    /// A task's sends to a connection gather in the loop's cork while the loop runs its jobs and
    /// leave in one write, as a read callback's do: 16 small writes from one task cost one
    /// syscall, not 16 (counted in the loop's statistics), and arrive whole and in order.
    func testATasksSmallWritesLeaveInOneWrite() async throws {
        let thread = try EventLoopThread()
        let handle = thread.handle
        let listener = try await TCPListener.listen(on: localhost(), handle: handle)
        let writes = Shared<UInt64?>(nil)
        let server = Task(executorPreference: handle) {
            for await channel in listener.connections {
                let before = handle.assumeIsolated { $0.statistics.writes }
                for i in 0..<16 { try? await channel.write(Array("part \(i);".utf8)) }
                // The cork is written once the loop's jobs are done: read the count in a later turn.
                try? await Task.sleep(for: .milliseconds(50))
                writes.with { $0 = handle.assumeIsolated { $0.statistics.writes } - before }
            }
        }
        let client = try await TCPChannel.connect(to: listener.address, on: handle)
        let expected = (0..<16).map { "part \($0);" }.joined()
        var received: [UInt8] = []
        for try await chunk in client.inbound {
            received += chunk
            if received.count >= expected.utf8.count { break }
        }
        XCTAssertEqual(String(decoding: received, as: UTF8.self), expected)
        XCTAssertTrue(eventually { writes.get != nil })
        XCTAssertEqual(writes.get, 1, "one write for the 16 sends")
        await client.close()
        await listener.close()
        _ = await server.value
        thread.stopAndJoin()
    }

    /// A refused connect throws the reason instead of hanging.
    func testARefusedConnectThrows() async throws {
        let thread = try EventLoopThread()
        // A port nobody listens on: bind one, learn it, close it.
        let probe = try await TCPListener.listen(on: localhost(), handle: thread.handle)
        let address = probe.address
        await probe.close()
        do {
            _ = try await TCPChannel.connect(to: address, on: thread.handle)
            XCTFail("connected to a closed port")
        } catch let error as TCPChannelError {
            XCTAssertEqual(error, .closed(.connectFailed(ECONNREFUSED)))
        }
        thread.stopAndJoin()
    }

    /// Backpressure both ways: a server that does not read stops reading the socket at its inbound
    /// watermark, so the client's writes suspend instead of queueing without bound; once the
    /// server reads, everything arrives, in order.
    func testASlowReaderSuspendsTheWriter() async throws {
        let thread = try EventLoopThread()
        let handle = thread.handle
        let listener = try await TCPListener.listen(on: localhost(), handle: handle, inboundHighWatermark: 64 * 1024, inboundLowWatermark: 16 * 1024)
        let client = try await TCPChannel.connect(to: listener.address, on: handle)
        let serverSide = await listener.accept()!
        let chunk = pattern(64 * 1024)
        let total = 256   // 16 MiB: far more than the socket buffers and the inbound watermark hold
        let written = Shared(0)
        let writer = Task {
            for _ in 0..<total {
                try await client.write(chunk)
                written.with { $0 += 1 }
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        let stalledAt = written.get
        XCTAssertLessThan(stalledAt, total / 2, "the writer is suspended while nobody reads")
        var received = 0
        var mismatch = false
        for try await part in serverSide.inbound {
            for (i, byte) in part.enumerated() where byte != chunk[(received + i) % chunk.count] { mismatch = true }
            received += part.count
            if received == total * chunk.count { break }
        }
        try await writer.value
        XCTAssertFalse(mismatch, "bytes arrived in order")
        XCTAssertEqual(received, total * chunk.count)
        await client.close()
        thread.stopAndJoin()
    }

    /// The peer's EOF ends `inbound` after what was buffered.
    func testThePeersEOFEndsTheSequence() async throws {
        let thread = try EventLoopThread()
        let listener = try await TCPListener.listen(on: localhost(), handle: thread.handle)
        let client = try BlockingClient(port: listener.address.port)
        client.send("last words")
        client.close()
        let channel = await listener.accept()!
        var text = ""
        for try await chunk in channel.inbound { text += String(decoding: chunk, as: UTF8.self) }
        XCTAssertEqual(text, "last words")
        thread.stopAndJoin()
    }

    /// Connections nobody accepts wait in a bounded queue; beyond it they are closed and counted.
    func testUnacceptedConnectionsAreBounded() async throws {
        let thread = try EventLoopThread()
        let listener = try await TCPListener.listen(on: localhost(), handle: thread.handle, maxPending: 2)
        let clients = try (0..<5).map { _ in try BlockingClient(port: listener.address.port) }
        var refused = 0
        for _ in 0..<200 where refused < 3 {
            refused = await listener.refused
            try await Task.sleep(for: .milliseconds(10))
        }
        XCTAssertEqual(refused, 3)
        let first = await listener.accept()
        let second = await listener.accept()
        XCTAssertNotNil(first)
        XCTAssertNotNil(second)
        for c in clients { c.close() }
        thread.stopAndJoin()
    }
}
