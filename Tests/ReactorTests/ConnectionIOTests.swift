import Foundation
import Glibc
import XCTest
@testable import Reactor
import ReactorTestSupport

/// Real sockets on 127.0.0.1: the write path, the queue, watermarks, resets, half-close.
final class ConnectionIOTests: XCTestCase {
    func testEchoRoundTripWithTailKeptAcrossReads() throws {
        // A handler that consumes only whole 4-byte records: the reactor must keep the tail and
        // present it again in front of the next bytes.
        final class RecordEcho: ConnectionHandler {
            func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int {
                let whole = bytes.count / 4 * 4
                if whole > 0 { c.send(UnsafeRawBufferPointer(rebasing: bytes[0..<whole])) }
                return whole
            }
        }
        let (server, port) = try startServer { _ in RecordEcho() }
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        defer { client.close() }
        let data = pattern(4 * 1000)
        for chunk in stride(from: 0, to: data.count, by: 7) {  // 7 is not a multiple of 4
            client.send(Array(data[chunk..<min(chunk + 7, data.count)]))
        }
        XCTAssertEqual(client.receive(exactly: data.count), data)
    }

    func testPartialWritesUnderTinySendBufferDeliverEveryByteInOrder() throws {
        let total = 4 * 1024 * 1024
        let data = pattern(total, seed: 3)
        final class Blaster: ConnectionHandler {
            let data: [UInt8]
            init(_ data: [UInt8]) { self.data = data }
            func connectionDidOpen(_ c: Connection) {
                var one: Int32 = 4096
                setsockopt(c.fd, SOL_SOCKET, SO_SNDBUF, &one, socklen_t(MemoryLayout<Int32>.size))
                // Many sends of odd sizes: most go to the queue once the kernel buffer fills.
                var off = 0
                while off < data.count {
                    let n = min(1000 + off % 3000, data.count - off)
                    data.withUnsafeBytes { c.send(UnsafeRawBufferPointer(rebasing: $0[off..<off + n])) }
                    off += n
                }
                c.close()  // flushes the queue first, then closes
            }
            func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int { bytes.count }
        }
        var configuration = EventLoopConfiguration()
        configuration.maxQueuedBytes = 64 * 1024 * 1024
        let (server, port) = try startServer(configuration: configuration) { _ in Blaster(data) }
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port, receiveBuffer: 4096)
        defer { client.close() }
        let received = client.receiveAll()
        XCTAssertEqual(received.count, total)
        XCTAssertTrue(received == data, "bytes reordered, lost or duplicated")
    }

    func testWatermarkCallbacksFireWhenQueueCrossesThem() throws {
        final class Producer: ConnectionHandler {
            let events: Shared<[Bool]>
            init(_ events: Shared<[Bool]>) { self.events = events }
            func connectionDidOpen(_ c: Connection) {
                c.setWatermarks(low: 32 * 1024, high: 256 * 1024)
                fill(c)
            }
            func fill(_ c: Connection) {
                let chunk = [UInt8](repeating: 0x61, count: 16 * 1024)
                while c.isWritable { c.send(chunk) }
            }
            func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int { bytes.count }
            func connectionWritabilityDidChange(_ c: Connection, isWritable: Bool) {
                events.with { $0.append(isWritable) }
                XCTAssertEqual(c.isWritable, isWritable)
                if isWritable {
                    XCTAssertLessThanOrEqual(c.bufferedAmount, 32 * 1024)
                    if events.get.count < 6 { fill(c) } else { c.close() }
                } else {
                    XCTAssertGreaterThan(c.bufferedAmount, 256 * 1024)
                }
            }
        }
        let events = Shared<[Bool]>([])
        let (server, port) = try startServer { _ in Producer(events) }
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        defer { client.close() }
        XCTAssertTrue(eventually { events.get == [false] }, "not told about the high watermark: \(events.get)")
        usleep(50_000)
        XCTAssertEqual(events.get, [false], "no reader, so no drain")
        let received = client.receiveAll()
        XCTAssertEqual(events.get, [false, true, false, true, false, true])
        XCTAssertGreaterThan(received.count, 3 * 256 * 1024)
        XCTAssertTrue(received.allSatisfy { $0 == 0x61 })
    }

    func testPeerResetMidWriteClosesThatConnectionAndOthersCarryOn() throws {
        final class Flood: ConnectionHandler {
            let reasons: Shared<[CloseReason]>
            init(_ reasons: Shared<[CloseReason]>) { self.reasons = reasons }
            func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int {
                if bytes.first == UInt8(ascii: "F") {
                    let chunk = [UInt8](repeating: 1, count: 64 * 1024)
                    for _ in 0..<64 { c.send(chunk) }  // far more than the socket buffers hold
                } else {
                    c.send(bytes)
                }
                return bytes.count
            }
            func connectionDidClose(_ c: Connection, reason: CloseReason) { reasons.with { $0.append(reason) } }
        }
        var configuration = EventLoopConfiguration()
        configuration.maxQueuedBytes = 64 * 1024 * 1024
        let reasons = Shared<[CloseReason]>([])
        let (server, port) = try startServer(configuration: configuration) { _ in Flood(reasons) }
        defer { server.stopAndJoin() }
        let victim = try BlockingClient(port: port, receiveBuffer: 4096)
        victim.send("F")
        _ = victim.receive(exactly: 1000)  // the flood has begun
        XCTAssertTrue(eventually { onLoop(server) { $0.connectionCount } == 1 })
        victim.reset()
        XCTAssertTrue(eventually { reasons.get.count == 1 }, "reset connection not closed")
        XCTAssertTrue([CloseReason.reset, .peerClosed].contains(reasons.get.first!), "\(reasons.get)")
        let healthy = try BlockingClient(port: port)
        defer { healthy.close() }
        healthy.send("ping")
        XCTAssertEqual(healthy.receive(exactly: 4), Array("ping".utf8))
    }

    func testHalfCloseKeepsWritingAfterPeerEOF() throws {
        /// Collects everything, answers with its length once the peer has finished sending.
        final class Counter: ConnectionHandler {
            var count = 0
            func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int {
                count += bytes.count
                return bytes.count
            }
            func connectionDidReadEOF(_ c: Connection) {
                c.send("got \(count)")
                c.shutdownWrite()
            }
        }
        let (server, port) = try startServer { _ in Counter() }
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        defer { client.close() }
        client.send(pattern(100_000))
        shutdown(client.fd, Int32(SHUT_WR))
        XCTAssertEqual(String(decoding: client.receiveAll(), as: UTF8.self), "got 100000")
    }

    func testConnectionTimeoutFiresAndCanBeRearmed() throws {
        final class Idle: ConnectionHandler {
            let timedOut: Shared<Int>
            init(_ t: Shared<Int>) { timedOut = t }
            func connectionDidOpen(_ c: Connection) { c.setTimeout(.milliseconds(100)) }
            func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int {
                c.setTimeout(.milliseconds(100))  // activity re-arms
                c.send(bytes)
                return bytes.count
            }
            func connectionDidTimeout(_ c: Connection) {
                timedOut.with { $0 += 1 }
                c.send("bye")
                c.close(reason: .timeout)
            }
        }
        let timedOut = Shared(0)
        let (server, port) = try startServer { _ in Idle(timedOut) }
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        defer { client.close() }
        for _ in 0..<5 {
            usleep(50_000)
            client.send("x")
            XCTAssertEqual(client.receive(exactly: 1), [UInt8(ascii: "x")])
        }
        XCTAssertEqual(timedOut.get, 0, "re-arming must push the deadline back")
        XCTAssertEqual(String(decoding: client.receiveAll(), as: UTF8.self), "bye")
        XCTAssertEqual(timedOut.get, 1)
    }

    func testOversizedUnconsumedInputClosesWithInputOverflow() throws {
        final class NeverConsumes: ConnectionHandler {
            let reason: Shared<CloseReason?>
            init(_ r: Shared<CloseReason?>) { reason = r }
            func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int { 0 }
            func connectionDidClose(_ c: Connection, reason: CloseReason) { self.reason.with { $0 = reason } }
        }
        var configuration = EventLoopConfiguration()
        configuration.receiveBufferSize = 8192
        let reason = Shared<CloseReason?>(nil)
        let (server, port) = try startServer(configuration: configuration) { _ in NeverConsumes(reason) }
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port)
        defer { client.close() }
        client.send(pattern(20_000))
        XCTAssertTrue(eventually { reason.get != nil })
        XCTAssertEqual(reason.get!, .inputOverflow)
    }
}
