import Foundation
import ReactorTestSupport
import XCTest
@testable import Protocols

final class HTTPDateTests: XCTestCase {
    func testKnownDates() {
        XCTAssertEqual(HTTPDate.string(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT")  // RFC 9110's example
        XCTAssertEqual(HTTPDate.string(0), "Thu, 01 Jan 1970 00:00:00 GMT")
        XCTAssertEqual(HTTPDate.string(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT")
        XCTAssertEqual(HTTPDate.string(2_147_483_647), "Tue, 19 Jan 2038 03:14:07 GMT")
        XCTAssertEqual(HTTPDate.string(253_402_300_799), "Fri, 31 Dec 9999 23:59:59 GMT")
        XCTAssertNil(HTTPDate.string(253_402_300_800))  // year 10000
        XCTAssertEqual(HTTPDate.string(-1), "Wed, 31 Dec 1969 23:59:59 GMT")
    }

    func testAgreesWithFoundation() {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        var rng = SplitMix64(seed: 2024)
        for _ in 0..<2000 {
            let t = Int(rng.next() % 4_102_444_800)  // 1970...2100
            XCTAssertEqual(HTTPDate.string(t), formatter.string(from: Date(timeIntervalSince1970: TimeInterval(t))), "t=\(t)")
        }
    }

    func testWriteNeeds29Bytes() {
        var storage = [UInt8](repeating: 0, count: 29)
        storage.withUnsafeMutableBytes { buf in
            XCTAssertEqual(HTTPDate.write(0, into: buf), 29)
            XCTAssertNil(HTTPDate.write(0, into: UnsafeMutableRawBufferPointer(rebasing: buf[0..<28])))
        }
    }

    func testCacheReformatsOnlyWhenTheSecondChanges() {
        var cache = HTTPDateCache()
        cache.update(now: 784_111_777)
        XCTAssertEqual(cache.withBytes { String(decoding: $0, as: UTF8.self) }, "Sun, 06 Nov 1994 08:49:37 GMT")
        cache.update(now: 784_111_777)
        XCTAssertEqual(cache.withBytes { $0.count }, 29)
        cache.update(now: 784_111_778)
        XCTAssertEqual(cache.withBytes { String(decoding: $0, as: UTF8.self) }, "Sun, 06 Nov 1994 08:49:38 GMT")
    }
}
