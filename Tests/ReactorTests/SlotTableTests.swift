import Foundation
import Glibc
import XCTest
@testable import Reactor
import ReactorTestSupport

/// The descriptor table never moves, a descriptor beyond it is refused, and a handle outliving its
/// loop touches no freed memory. Run under ASan (`scripts/sanitizers.sh address`) these are the
/// tests that would report a use-after-free if the table moved under a held slot pointer.
final class SlotTableTests: XCTestCase {
    /// Every descriptor has a slot, so its bytes count per idle connection (issue 18).
    func testASlotIs56Bytes() {
        XCTAssertLessThanOrEqual(MemoryLayout<Slot>.stride, 56)
    }

    /// Opens `count` descriptors registered with the loop (listeners on free ports) and closes them:
    /// before the table was reserved up front, crossing its size moved it.
    static func openAndCloseDescriptors(_ loop: EventLoop, count: Int) -> Int {
        var listeners: [Listener] = []
        for _ in 0..<count {
            guard let l = try? loop.listen(on: SocketAddress(ip: "127.0.0.1", port: 0), backlog: 1, makeHandler: { _ in EchoHandler() })
            else { break }
            listeners.append(l)
        }
        for l in listeners { loop.close(l) }
        return listeners.count
    }

    /// A handler that opens many descriptors inside its callbacks, while the loop holds a pointer
    /// to its slot: in `didRead` (the cork and the tail are written after it), and in a
    /// writability change reported from `flushQueue` (which `dispatch` follows by rereading the slot).
    final class DescriptorHog: ConnectionHandler {
        let opened: Shared<[Int]>
        let payload: [UInt8]
        init(opened: Shared<[Int]>, payload: [UInt8]) {
            self.opened = opened
            self.payload = payload
        }

        func connectionDidOpen(_ c: Connection) {
            var small: Int32 = 4096
            setsockopt(c.fd, SOL_SOCKET, SO_SNDBUF, &small, socklen_t(MemoryLayout<Int32>.size))
            c.setWatermarks(low: 1024, high: 8192)
            payload.withUnsafeBytes { _ = c.send($0) }  // most of it queues: above the high watermark
        }

        func connectionWritabilityDidChange(_ c: Connection, isWritable: Bool) {
            guard isWritable else { return }
            let n = SlotTableTests.openAndCloseDescriptors(c.loop, count: 1100)
            opened.with { $0.append(n) }
        }

        func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int {
            guard let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) else { return 0 }
            c.send("got:")  // corked: written after the callback, through the slot
            let n = SlotTableTests.openAndCloseDescriptors(c.loop, count: 1100)
            opened.with { $0.append(n) }
            c.send(UnsafeRawBufferPointer(rebasing: bytes[..<(newline + 1)]))
            return newline + 1  // what follows stays as the tail, kept through the slot
        }
    }

    func testHandlerOpeningManyDescriptorsInsideCallbacksLeavesTheLoopSound() throws {
        raiseDescriptorLimit()
        let opened = Shared<[Int]>([])
        let payload = pattern(256 * 1024, seed: 5)
        let (server, port) = try startServer { _ in DescriptorHog(opened: opened, payload: payload) }
        defer { server.stopAndJoin() }
        let client = try BlockingClient(port: port, receiveBuffer: 4096)
        defer { client.close() }
        XCTAssertEqual(client.receive(exactly: payload.count), payload)
        XCTAssertTrue(eventually { opened.get.count == 1 }, "no writability change after the queue drained")

        client.send("hello\nwor")
        XCTAssertEqual(client.receive(exactly: 10), Array("got:hello\n".utf8))
        client.send("ld\n")
        XCTAssertEqual(client.receive(exactly: 14), Array("got:world\n".utf8))
        XCTAssertEqual(opened.get.count, 3)
        XCTAssertTrue(opened.get.allSatisfy { $0 == 1100 }, "could not open the descriptors: \(opened.get)")
        XCTAssertEqual(onLoop(server) { $0.connectionCount }, 1)
    }

    func testDescriptorBeyondTheTableIsClosedAtAcceptAndCounted() throws {
        // The table holds descriptors below `maxDescriptors`: bound it just above the ten lowest
        // free descriptors, so the loop's own three and the first accepted ones fit (clients take
        // every other one) and later ones do not.
        let spare = (0..<10).map { _ in dup(0) }
        let bound = Int(spare.max()!) + 1
        spare.forEach { close($0) }
        var configuration = EventLoopConfiguration()
        configuration.maxDescriptors = max(16, bound)
        let (server, port) = try startServer(configuration: configuration) { _ in EchoHandler() }
        defer { server.stopAndJoin() }
        var clients: [BlockingClient] = []
        defer { clients.forEach { $0.close() } }
        var echoed = 0, refused = 0
        for _ in 0..<40 {
            let c = try BlockingClient(port: port, timeoutSeconds: 2)
            clients.append(c)
            c.send("?")
            // Refused: closed at once, so the client reads EOF rather than waiting.
            if c.receive(exactly: 1) == [UInt8(ascii: "?")] { echoed += 1 } else { refused += 1 }
        }
        XCTAssertGreaterThan(echoed, 0, "no connection fitted the table")
        XCTAssertGreaterThan(refused, 0, "no descriptor went beyond the table")
        XCTAssertEqual(onLoop(server) { Int($0.statistics.refusedDescriptors) }, refused)
        // The loop lives on and serves the connections it holds.
        let first = clients[0]
        first.send("!")
        XCTAssertEqual(first.receive(exactly: 1), [UInt8(ascii: "!")])
    }

    func testTableIsSizedByTheDescriptorLimitAndInitialisedLazily() throws {
        var configuration = EventLoopConfiguration()
        configuration.maxDescriptors = 4096
        let loop = try EventLoop(configuration: configuration)
        defer { loop.close() }
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        XCTAssertEqual(loop.s.pointee.slotCapacity, min(4096, Int(clamping: limit.rlim_max)))
        let before = loop.s.pointee.initializedSlots
        let table = loop.s.pointee.slots
        XCTAssertEqual(Self.openAndCloseDescriptors(loop, count: 200), 200)
        XCTAssertGreaterThanOrEqual(loop.s.pointee.initializedSlots, before + 200)
        XCTAssertEqual(loop.s.pointee.slots, table, "the table moved")
    }

    final class Recorder: ConnectionHandler {
        let closed: Shared<[CloseReason]>
        init(_ closed: Shared<[CloseReason]>) { self.closed = closed }
        func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int { bytes.count }
        func connectionDidClose(_ c: Connection, reason: CloseReason) { closed.with { $0.append(reason) } }
    }

    func testHandleThatOutlivesItsLoopIsClosedAndTouchesNoFreedMemory() throws {
        weak var weakLoop: EventLoop?
        let closed = Shared<[CloseReason]>([])
        do {
            var handle: Connection
            do {
                let loop = try EventLoop()
                weakLoop = loop
                let listener = try loop.listen(on: SocketAddress(ip: "127.0.0.1", port: 0)) { _ in EchoHandler() }
                handle = try loop.connect(to: listener.address, handler: Recorder(closed))
                for _ in 0..<20 where !(loop.connectionCount == 2) { loop.runOnce(timeout: .milliseconds(10)) }
                XCTAssertTrue(handle.isOpen)
                loop.close()
            }
            // The loop is closed and nothing but the handle refers to it.
            XCTAssertNotNil(weakLoop, "the handle does not keep its loop")
            XCTAssertFalse(handle.isOpen)
            XCTAssertFalse(handle.send("late"))
            handle.close()
            handle.setTimeout(.seconds(1))
            XCTAssertEqual(handle.bufferedAmount, 0)
            XCTAssertEqual(closed.get, [.shutdown])
            handle = Connection(loop: try EventLoop(), fd: 0, generation: 0)  // the last reference goes
        }
        XCTAssertNil(weakLoop, "a closed loop is kept alive by a cycle")
    }
}
