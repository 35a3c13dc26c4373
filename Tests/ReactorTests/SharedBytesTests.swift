import XCTest
@testable import Reactor
import ReactorTestSupport

final class SharedBytesTests: XCTestCase {
    func testOneBlockSentToManyConnectionsIsNeverCopied() throws {
        // Ten connections with tiny receive windows each queue the same block by reference.
        final class Fanout: ConnectionHandler {
            let block: SharedBytes
            init(_ b: SharedBytes) { block = b }
            func connectionDidOpen(_ c: Connection) { c.send(block); c.close() }
            func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int { bytes.count }
        }
        let data = pattern(1 << 20, seed: 9)
        let block = SharedBytes(data)
        XCTAssertEqual(block.count, data.count)
        let (server, port) = try startServer { _ in Fanout(block) }
        defer { server.stopAndJoin() }
        let clients = try (0..<10).map { _ in try BlockingClient(port: port, receiveBuffer: 4096) }
        for c in clients {
            XCTAssertTrue(c.receiveAll() == data)
            c.close()
        }
    }

    func testInitializers() {
        XCTAssertEqual(SharedBytes("héllo").bytes, Array("héllo".utf8))
        XCTAssertEqual(SharedBytes([1, 2, 3]).bytes, [1, 2, 3])
        let partial = SharedBytes(capacity: 10) { out in
            out[0] = 7
            out[1] = 8
            return 2
        }
        XCTAssertEqual(partial.bytes, [7, 8])
        XCTAssertEqual(SharedBytes([]).count, 0)
    }
}
