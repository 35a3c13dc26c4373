import XCTest
@testable import Protocols

final class FNV1aTests: XCTestCase {
    // The reference vectors of the FNV authors' test suite (64-bit FNV-1a).
    func testReferenceVectors() {
        XCTAssertEqual(FNV1a.hash("".utf8), 0xcbf2_9ce4_8422_2325)
        XCTAssertEqual(FNV1a.hash("a".utf8), 0xaf63_dc4c_8601_ec8c)
        XCTAssertEqual(FNV1a.hash("foobar".utf8), 0x8594_4171_f739_67e8)
    }

    func testBytesAndStringsOfTheSameBytesAgree() {
        let path = Array("/plaintext".utf8)
        XCTAssertEqual(path.withUnsafeBytes { FNV1a.hash($0) }, FNV1a.hash("/plaintext".utf8))
    }
}
