import Protocols
import XCTest

/// A template writes exactly what the encoder writes for the same head, whatever the date and the
/// length, and refuses what cannot be a template.
final class HTTPResponseHeadTemplateTests: XCTestCase {
    private func encoded(_ status: HTTPStatus, length: Int, keepAlive: Bool, version: HTTPVersion, date: String,
                         extra: (inout HTTPResponseHeadEncoder) -> Void) -> [UInt8] {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 1)
        defer { buffer.deallocate() }
        var date = date
        let n = date.withUTF8 { d in
            HTTPResponseHeadEncoder.encode(status: status, framing: .contentLength(length), keepAlive: keepAlive, requestVersion: version,
                                           date: UnsafeRawBufferPointer(d), into: buffer, extraHeaders: extra)
        }
        return Array(buffer[0..<n!])
    }

    private func templated(_ t: HTTPResponseHeadTemplate, length: Int, date: String, bufferSize: Int = 4096) -> [UInt8]? {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 1)
        defer { buffer.deallocate() }
        var date = date
        guard let n = date.withUTF8({ t.write(contentLength: length, date: UnsafeRawBufferPointer($0), into: buffer) }) else { return nil }
        return Array(buffer[0..<n])
    }

    func testTheSameBytesAsTheEncoder() throws {
        let extras: [(inout HTTPResponseHeadEncoder) -> Void] = [
            { _ in },
            { w in w.header("Server", "Reactor" as StaticString); w.header("Content-Type", "text/plain" as StaticString) },
            { w in w.header("X-A", "1" as StaticString); w.header("Cache-Control", "no-store" as StaticString) },
        ]
        let dates = ["Mon, 07 Dec 2026 10:00:00 GMT", "Sun, 31 Jan 2027 23:59:59 GMT"]
        for status in [HTTPStatus.ok, .notFound, HTTPStatus(code: 299), HTTPStatus(code: 599)] {
            for keepAlive in [true, false] {
                for version in [HTTPVersion.http1_1, .http1_0] {
                    for extra in extras {
                        let t = try XCTUnwrap(HTTPResponseHeadTemplate(status: status, keepAlive: keepAlive, requestVersion: version, extraHeaders: extra))
                        for length in [0, 9, 10, 13, 65_536, 12_345_678_901, Int.max] {
                            for date in dates {
                                XCTAssertEqual(templated(t, length: length, date: date),
                                               encoded(status, length: length, keepAlive: keepAlive, version: version, date: date, extra: extra),
                                               "\(status) keepAlive \(keepAlive) \(version) length \(length)")
                            }
                        }
                    }
                }
            }
        }
    }

    /// The template keeps its last head whole and copies it when the date and length repeat: a
    /// run of heads that repeat, change one or the other, and come back is written exactly as
    /// the encoder writes each.
    func testRepeatedAndChangingHeadsAreEachExact() throws {
        let extra: (inout HTTPResponseHeadEncoder) -> Void = { w in w.header("Server", "Reactor" as StaticString) }
        let t = try XCTUnwrap(HTTPResponseHeadTemplate(status: .ok, keepAlive: true, requestVersion: .http1_1, extraHeaders: extra))
        let a = "Mon, 07 Dec 2026 10:00:00 GMT", b = "Mon, 07 Dec 2026 10:00:01 GMT", c = "Tue, 07 Dec 2026 10:00:00 GMT"
        let runs: [(Int, String)] = [(13, a), (13, a), (13, b), (13, b), (14, b), (13, b), (13, a), (13, c), (0, c), (0, c), (130, c), (13, a)]
        for (length, date) in runs {
            XCTAssertEqual(templated(t, length: length, date: date),
                           encoded(.ok, length: length, keepAlive: true, version: .http1_1, date: date, extra: extra), "\(length) \(date)")
        }
        XCTAssertNil(templated(t, length: 13, date: a, bufferSize: 40), "a repeated head is refused a buffer too small, as any")
    }

    func testWhatCannotBeATemplate() {
        XCTAssertNil(HTTPResponseHeadTemplate(status: .noContent, keepAlive: true, requestVersion: .http1_1), "204 has no Content-Length")
        XCTAssertNil(HTTPResponseHeadTemplate(status: HTTPStatus(code: 101), keepAlive: true, requestVersion: .http1_1))
        XCTAssertNil(HTTPResponseHeadTemplate(status: .ok, keepAlive: true, requestVersion: .http1_1) { w in
            w.header("X-Split", "a\r\nb")
        }, "an invalid header fails the template as it fails the head")
        let long = String(repeating: "v", count: HTTPResponseHeadTemplate.maxBytes)
        XCTAssertNil(HTTPResponseHeadTemplate(status: .ok, keepAlive: true, requestVersion: .http1_1) { w in w.header("X-Long", long) })
    }

    func testABufferTooSmallIsRefusedNotOverrun() throws {
        let t = try XCTUnwrap(HTTPResponseHeadTemplate(status: .ok, keepAlive: true, requestVersion: .http1_1))
        XCTAssertNil(templated(t, length: 5, date: "Mon, 07 Dec 2026 10:00:00 GMT", bufferSize: 40))
        XCTAssertNotNil(templated(t, length: 5, date: "Mon, 07 Dec 2026 10:00:00 GMT", bufferSize: 120))
    }
}
