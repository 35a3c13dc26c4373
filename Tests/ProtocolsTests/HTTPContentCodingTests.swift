import CZlib
import Protocols
import XCTest

/// `Accept-Encoding` to a coding, and whole-body compression: what comes out inflates back to
/// what went in, and never exceeds it.
final class HTTPContentCodingTests: XCTestCase {
    private func preferred(_ value: String?) -> HTTPContentCoding? {
        guard let value else { return HTTPContentCoding.preferred(acceptEncoding: nil) }
        return Array(value.utf8).withUnsafeBytes {
            HTTPContentCoding.preferred(acceptEncoding: HTTPByteView(start: $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, count: $0.count))
        }
    }

    func testTheHighestWeightWinsAndGzipAtEqualWeight() {
        XCTAssertNil(preferred(nil))
        XCTAssertNil(preferred(""))
        XCTAssertEqual(preferred("gzip, deflate, br"), .gzip)
        XCTAssertEqual(preferred("deflate, gzip"), .gzip, "equal weights: gzip, as the reference offers them")
        XCTAssertEqual(preferred("deflate"), .deflate)
        XCTAssertEqual(preferred("GZip"), .gzip)
        XCTAssertEqual(preferred("x-gzip"), .gzip)
        XCTAssertEqual(preferred("gzip;q=0.5, deflate"), .deflate)
        XCTAssertEqual(preferred("gzip ; q=0.9 , deflate;q=0.8"), .gzip)
        XCTAssertEqual(preferred("deflate;Q=1.000, gzip;q=0.999"), .deflate)
        XCTAssertEqual(preferred("*"), .gzip)
        XCTAssertEqual(preferred("br, *;q=0.1"), .gzip)
        XCTAssertEqual(preferred("gzip;q=0, *"), .deflate)
    }

    func testRefusedMalformedAndUnknownCodingsGiveNone() {
        XCTAssertNil(preferred("br"))
        XCTAssertNil(preferred("identity"))
        XCTAssertNil(preferred("gzip;q=0"))
        XCTAssertNil(preferred("gzip;q=0, deflate;q=0.000"))
        XCTAssertNil(preferred("*;q=0"))
        XCTAssertNil(preferred("gzip;q=abc"), "a weight that does not parse refuses")
        XCTAssertNil(preferred("gzip;q="))
        XCTAssertNil(preferred("gzip;level=9"), "a parameter other than q refuses")
        XCTAssertNil(preferred(",,, ;"))
    }

    private static let text = Array(String(repeating: "polling answers repeat themselves; ", count: 200).utf8)

    func testGzipAndDeflateRoundTrip() throws {
        for coding in [HTTPContentCoding.gzip, .deflate] {
            let compressor = try XCTUnwrap(HTTPBodyCompressor(coding: coding))
            for _ in 0..<3 {  // reset between bodies: each stands alone
                let out = try XCTUnwrap(Self.text.withUnsafeBytes { compressor.compress($0) })
                XCTAssertLessThan(out.count, Self.text.count / 10)
                XCTAssertEqual(coding == .gzip ? Array(out.prefix(2)) : [out[0] & 0x0F], coding == .gzip ? [0x1F, 0x8B] : [0x08])
                XCTAssertEqual(try Self.inflate(out), Self.text)
            }
        }
    }

    func testABodyThatDoesNotShrinkIsNotCompressed() throws {
        let compressor = try XCTUnwrap(HTTPBodyCompressor(coding: .gzip))
        var generator = SystemRandomNumberGenerator()
        let noise = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
        XCTAssertNil(noise.withUnsafeBytes { compressor.compress($0) }, "random bytes grow: the plain body is sent")
        XCTAssertNil([UInt8(0x41)].withUnsafeBytes { compressor.compress($0) })
        XCTAssertNil([UInt8]().withUnsafeBytes { compressor.compress($0) })
        // Still usable after a body that did not fit.
        let out = try XCTUnwrap(Self.text.withUnsafeBytes { compressor.compress($0) })
        XCTAssertEqual(try Self.inflate(out), Self.text)
    }

    func testTheLoopsCompressorsAreMadeOnceEach() {
        let compressors = HTTPBodyCompressors()
        XCTAssertTrue(compressors.compressor(for: .gzip) === compressors.compressor(for: .gzip))
        XCTAssertEqual(compressors.compressor(for: .deflate)?.coding, .deflate)
    }

    /// Inflates a gzip or zlib stream (window bits + 32: zlib detects the wrapper).
    static func inflate(_ body: [UInt8]) throws -> [UInt8] {
        struct ZlibError: Error {}
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { throw ZlibError() }
        defer { inflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: 1 << 20)
        var input = body
        let rc = input.withUnsafeMutableBytes { i in
            out.withUnsafeMutableBytes { o in
                stream.next_in = i.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_in = uInt(i.count)
                stream.next_out = o.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(o.count)
                return CZlib.inflate(&stream, Z_FINISH)
            }
        }
        guard rc == Z_STREAM_END else { throw ZlibError() }
        return Array(out[0..<Int(stream.total_out)])
    }
}
