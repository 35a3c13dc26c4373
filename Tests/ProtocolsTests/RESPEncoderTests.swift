import Protocols
import XCTest

/// Commands as arrays of bulk strings, and values written back (for round trips).
final class RESPEncoderTests: XCTestCase {
    func testCommandEncoding() {
        XCTAssertEqual(RESPEncoder.command(["GET", "k"]), Array("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n".utf8))
        XCTAssertEqual(RESPEncoder.command(["PING"]), Array("*1\r\n$4\r\nPING\r\n".utf8))
        XCTAssertEqual(RESPEncoder.command([]), Array("*0\r\n".utf8))
        XCTAssertEqual(RESPEncoder.command(["SET", "k", ""]), Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n".utf8))
        XCTAssertEqual(RESPEncoder.command(["ECHO", "é"]), Array("*2\r\n$4\r\nECHO\r\n$2\r\n\u{e9}\r\n".utf8))
    }

    func testBinaryArgumentsAndPipelining() {
        var out: [UInt8] = []
        RESPEncoder.append([Array("SET".utf8), [0x00, 0x0D, 0x0A, 0xFF]], to: &out)
        RESPEncoder.append(["GET", "x"], to: &out)
        XCTAssertEqual(out, Array("*2\r\n$3\r\nSET\r\n$4\r\n".utf8) + [0x00, 0x0D, 0x0A, 0xFF, 0x0D, 0x0A] + Array("*2\r\n$3\r\nGET\r\n$1\r\nx\r\n".utf8))
        // Lengths with several digits.
        let big = [UInt8](repeating: 0x61, count: 12_345)
        out = []
        RESPEncoder.append([big], to: &out)
        XCTAssertEqual(Array(out.prefix(12)), Array("*1\r\n$12345\r\n".utf8))
        XCTAssertEqual(out.count, 12 + 12_345 + 2)
    }

    /// A command is itself a valid RESP array: the decoder reads it back.
    func testCommandsDecodeAsArraysOfBulkStrings() throws {
        let args: [[UInt8]] = [Array("EVALSHA".utf8), [], [0x0D], Array(repeating: 0x7A, count: 1000)]
        var out: [UInt8] = []
        RESPEncoder.append(args, to: &out)
        var decoder = RESPDecoder()
        let v = try out.withUnsafeBytes { try decoder.decode($0) }
        XCTAssertEqual(v?.value, .array(args.map { .bulkString($0) }))
        XCTAssertEqual(v?.consumed, out.count)
    }

    /// Every sample written by the value encoder decodes to itself (RESP2 nulls come back as `_`).
    func testValueRoundTrip() throws {
        for (_, value) in RESPDecoderTests.samples {
            let wire = RESPValueEncoder.encode(value)
            var decoder = RESPDecoder()
            let back = try wire.withUnsafeBytes { try decoder.decode($0) }
            XCTAssertEqual(back?.value, value)
            XCTAssertEqual(back?.consumed, wire.count)
        }
    }
}
