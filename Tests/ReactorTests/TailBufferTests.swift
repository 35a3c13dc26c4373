import Foundation
import Glibc
import XCTest
@testable import Reactor
import ReactorTestSupport

/// The per-connection tail (input the handler left unconsumed) is sized to what it holds, and
/// given back when consumed; the pool of released blocks stays within its bytes.
final class TailBufferTests: XCTestCase {
    func testSizeClassesArePowersOfTwoUpToTheReceiveBuffer() {
        let pool = TailPool(largest: 64 * 1024, maxPooledBytes: 0)
        XCTAssertEqual(pool.capacity(for: 1), 256)
        XCTAssertEqual(pool.capacity(for: 256), 256)
        XCTAssertEqual(pool.capacity(for: 257), 512)
        XCTAssertEqual(pool.capacity(for: 5 * 1024), 8 * 1024)
        XCTAssertEqual(pool.capacity(for: 40_000), 64 * 1024)
        XCTAssertEqual(pool.capacity(for: 64 * 1024), 64 * 1024)
        let odd = TailPool(largest: 100_000, maxPooledBytes: 0)
        XCTAssertEqual(odd.capacity(for: 70_000), 100_000)
        XCTAssertEqual(odd.capacity(for: 100_000), 100_000)
    }

    func testPoolKeepsReleasedBlocksUpToItsBytesAndReusesThem() {
        var pool = TailPool(largest: 64 * 1024, maxPooledBytes: 40 * 1024)
        let (a, ca) = pool.acquire(20_000)
        let (b, _) = pool.acquire(20_000)
        XCTAssertEqual(ca, 32 * 1024)
        pool.release(a)
        XCTAssertEqual(pool.pooledBytes, 32 * 1024)
        pool.release(b)  // over the bound: freed
        XCTAssertEqual(pool.pooledBytes, 32 * 1024)
        let (c, _) = pool.acquire(17_000)
        XCTAssertEqual(c, a, "a pooled block of the right size was not reused")
        XCTAssertEqual(pool.pooledBytes, 0)
        pool.release(c)
        pool.releaseAll()
        XCTAssertEqual(pool.pooledBytes, 0)
    }

    /// Consumes input only up to its last newline, so the rest stays in the loop's tail.
    final class LineHandler: ConnectionHandler {
        let connection: Shared<Connection?>
        init(_ connection: Shared<Connection?>) { self.connection = connection }
        func connectionDidOpen(_ c: Connection) { connection.with { $0 = c } }
        func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int {
            guard let last = bytes.lastIndex(of: UInt8(ascii: "\n")) else { return 0 }
            c.send(String(last + 1))
            return last + 1
        }
    }

    func testTailGrowsToWhatItHoldsShrinksAndIsReleasedWhenConsumed() throws {
        let connection = Shared<Connection?>(nil)
        var configuration = EventLoopConfiguration()
        configuration.tailPoolBytes = 16 * 1024
        let (server, port) = try startServer(configuration: configuration) { _ in LineHandler(connection) }
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        defer { client.close() }
        XCTAssertTrue(eventually { connection.get != nil })
        func tail() -> Int { onLoop(server) { loop in loop.tailCapacity(connection.get!) } }
        func pooled() -> Int { onLoop(server) { loop in loop.s.pointee.tailPool.pooledBytes } }

        client.send([UInt8](repeating: 0x61, count: 5 * 1024))  // an incomplete 5 KiB "head"
        XCTAssertTrue(eventually { tail() == 8 * 1024 }, "5 KiB held in \(tail()) bytes, not 8 KiB")
        client.send([UInt8](repeating: 0x61, count: 15 * 1024))
        XCTAssertTrue(eventually { tail() == 32 * 1024 }, "20 KiB held in \(tail()) bytes")
        XCTAssertLessThanOrEqual(pooled(), 16 * 1024)

        // Most of it consumed: the 100 bytes left move to a small block.
        client.send(Array("\n".utf8) + [UInt8](repeating: 0x62, count: 100))
        XCTAssertEqual(client.receive(exactly: 5), Array("20481".utf8))
        XCTAssertTrue(eventually { tail() == 256 }, "100 bytes held in \(tail()) bytes")
        client.send("\n")
        XCTAssertEqual(client.receive(exactly: 3), Array("101".utf8))
        XCTAssertTrue(eventually { tail() == 0 }, "an empty tail still holds \(tail()) bytes")
        XCTAssertLessThanOrEqual(pooled(), 16 * 1024, "the pool is over its bound")
    }

    func testManyConnectionsWithIncompleteInputHoldBlocksSizedToIt() throws {
        let connections = Shared<[Connection]>([])
        final class Holder: ConnectionHandler {
            let all: Shared<[Connection]>
            init(_ all: Shared<[Connection]>) { self.all = all }
            func connectionDidOpen(_ c: Connection) { all.with { $0.append(c) } }
            func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int { 0 }
        }
        let (server, port) = try startServer { _ in Holder(connections) }
        defer { server.stopAndJoin() }
        var clients: [BlockingClient] = []
        defer { clients.forEach { $0.close() } }
        for _ in 0..<50 {
            let client = try BlockingClient(port: port)
            client.send([UInt8](repeating: 0x61, count: 5 * 1024))
            clients.append(client)
        }
        func held() -> [Int] {
            onLoop(server) { loop in connections.get.map { loop.tailCapacity($0) } }
        }
        XCTAssertTrue(eventually { held().count == 50 && held().allSatisfy { $0 == 8 * 1024 } }, "\(held())")
        XCTAssertEqual(onLoop(server) { $0.bufferedInputBytes.held }, 50 * 8 * 1024)
        clients.forEach { $0.close() }
        clients = []
        XCTAssertTrue(eventually { onLoop(server) { $0.bufferedInputBytes.held } == 0 }, "closed connections still hold input memory")
    }

    /// Takes one line per callback and asks for the rest to be redelivered while whole lines
    /// remain: the way an async HTTP route takes pipelined requests one at a time.
    final class OneLineAtATime: ConnectionHandler {
        let connection: Shared<Connection?>
        let lines: Shared<[String]>
        init(_ connection: Shared<Connection?>, _ lines: Shared<[String]>) {
            (self.connection, self.lines) = (connection, lines)
        }
        func connectionDidOpen(_ c: Connection) { connection.with { $0 = c } }
        func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int {
            guard let end = bytes.firstIndex(of: UInt8(ascii: "\n")) else { return 0 }
            lines.with { $0.append(String(decoding: bytes[..<end], as: UTF8.self)) }
            if bytes[(end + 1)...].contains(UInt8(ascii: "\n")) { c.redeliverBufferedInput() }
            return end + 1
        }
    }

    /// A redelivery hands over the kept tail where it lies: each line comes once, in order, the
    /// block moves down as the tail shrinks, and bytes read after a partly consumed tail follow
    /// what is left of it.
    func testRedeliveryHandsOverTheKeptTailInOrderAndShrinksIt() throws {
        let connection = Shared<Connection?>(nil)
        let lines = Shared<[String]>([])
        let (server, port) = try startServer { _ in OneLineAtATime(connection, lines) }
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        defer { client.close() }
        XCTAssertTrue(eventually { connection.get != nil })
        func tail() -> Int { onLoop(server) { loop in loop.tailCapacity(connection.get!) } }

        let sent = (0..<300).map { String(format: "line %04d of the batch", $0) }
        client.send(Array((sent.joined(separator: "\n") + "\npart").utf8))  // 6.9 KiB: an 8 KiB block
        XCTAssertTrue(eventually { lines.get.count == 300 }, "\(lines.get.count) lines")
        XCTAssertEqual(lines.get, sent)
        // The 8 KiB block moved down as the lines were taken, by the pool's rule (to a block
        // sized to the tail once that is at most a quarter of the one it is in): 2 KiB, then
        // 512 bytes, where "part" stays (256 is more than a quarter of 512).
        XCTAssertTrue(eventually { tail() == 512 }, "4 bytes held in \(tail()) bytes")

        client.send("ial\n")
        XCTAssertTrue(eventually { lines.get.count == 301 })
        XCTAssertEqual(lines.get.last, "partial")
        XCTAssertTrue(eventually { tail() == 0 }, "an empty tail still holds \(tail()) bytes")
        XCTAssertEqual(onLoop(server) { $0.bufferedInputBytes.held }, 0)
    }
}
