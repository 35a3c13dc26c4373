import XCTest
@testable import Protocols

final class HTTPChunkedEncoderTests: XCTestCase {
    private func header(_ size: Int, capacity: Int = 32) -> String? {
        var storage = [UInt8](repeating: 0, count: capacity)
        return storage.withUnsafeMutableBytes { buf in
            HTTPChunkedEncoder.writeChunkHeader(size: size, into: buf).map { String(decoding: buf[0..<$0], as: UTF8.self) }
        }
    }

    func testChunkHeaders() {
        XCTAssertEqual(header(1), "1\r\n")
        XCTAssertEqual(header(15), "f\r\n")
        XCTAssertEqual(header(16), "10\r\n")
        XCTAssertEqual(header(255), "ff\r\n")
        XCTAssertEqual(header(4096), "1000\r\n")
        XCTAssertEqual(header(0xDEADBEEF), "deadbeef\r\n")
        XCTAssertEqual(header(Int.max), "7fffffffffffffff\r\n")
        XCTAssertEqual(HTTPChunkedEncoder.chunkHeaderLength(size: Int.max), HTTPChunkedEncoder.maxChunkHeaderLength)
        XCTAssertEqual(HTTPChunkedEncoder.chunkHeaderLength(size: 4096), 6)
        XCTAssertNil(header(4096, capacity: 5))
        XCTAssertEqual(header(4096, capacity: 6), "1000\r\n")
    }

    func testWholeChunkAndLastChunk() {
        var storage = [UInt8](repeating: 0, count: 64)
        let data = Array("hello, chunked world".utf8)
        storage.withUnsafeMutableBytes { buf in
            let n = data.withUnsafeBytes { HTTPChunkedEncoder.writeChunk($0, into: buf) }
            XCTAssertEqual(n, 2 + 2 + 20 + 2)
            XCTAssertEqual(String(decoding: buf[0..<n!], as: UTF8.self), "14\r\nhello, chunked world\r\n")
            XCTAssertEqual(HTTPChunkedEncoder.writeChunk(UnsafeRawBufferPointer(start: nil, count: 0), into: buf), 0)
            let tail = UnsafeMutableRawBufferPointer(rebasing: buf[n!...])
            XCTAssertEqual(HTTPChunkedEncoder.writeLastChunk(into: tail), 5)
            XCTAssertEqual(String(decoding: buf[n!..<(n! + 5)], as: UTF8.self), "0\r\n\r\n")
            XCTAssertNil(data.withUnsafeBytes { HTTPChunkedEncoder.writeChunk($0, into: UnsafeMutableRawBufferPointer(rebasing: buf[0..<25])) })
            XCTAssertNil(HTTPChunkedEncoder.writeLastChunk(into: UnsafeMutableRawBufferPointer(rebasing: buf[0..<4])))
        }
        XCTAssertEqual(HTTPChunkedEncoder.chunkEnd.description, "\r\n")
        XCTAssertEqual(HTTPChunkedEncoder.lastChunk.description, "0\r\n\r\n")
    }

    func testEncodedChunksParseBackThroughTheRequestParser() {
        // Our own encoder's output is a valid chunked body for our own parser.
        var body: [UInt8] = []
        var expected: [UInt8] = []
        var storage = [UInt8](repeating: 0, count: 600)
        for size in [1, 9, 16, 17, 255, 256, 500] {
            let data = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            expected += data
            storage.withUnsafeMutableBytes { buf in
                let n = data.withUnsafeBytes { HTTPChunkedEncoder.writeChunk($0, into: buf) }!
                body += buf[0..<n]
            }
        }
        body += Array(HTTPChunkedEncoder.lastChunk.description.utf8)
        let r = parse(bytes("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n") + body)
        XCTAssertEqual(r.bodies, [expected])
        XCTAssertEqual(r.events.last, .end)
    }
}
