import XCTest
@testable import Protocols

final class HTTPStatusTests: XCTestCase {
    func testReasonPhrases() {
        XCTAssertEqual(HTTPStatus.ok.reasonPhrase.description, "OK")
        XCTAssertEqual(HTTPStatus.contentTooLarge.reasonPhrase.description, "Content Too Large")
        XCTAssertEqual(HTTPStatus.uriTooLong.reasonPhrase.description, "URI Too Long")
        XCTAssertEqual(HTTPStatus.requestHeaderFieldsTooLarge.reasonPhrase.description, "Request Header Fields Too Large")
        XCTAssertEqual(HTTPStatus.httpVersionNotSupported.reasonPhrase.description, "HTTP Version Not Supported")
        XCTAssertEqual(HTTPStatus(code: 299).reasonPhrase.description, "")
        XCTAssertEqual(HTTPStatus.notImplemented.description, "501 Not Implemented")
    }

    func testEveryParserErrorStatusHasAReason() {
        for code in [400, 408, 413, 414, 431, 501, 505] {
            XCTAssertFalse(HTTPStatus(code: code).reasonPhrase.description.isEmpty, "\(code)")
        }
    }

    func testRawValue() {
        XCTAssertNil(HTTPStatus(rawValue: 99))
        XCTAssertNil(HTTPStatus(rawValue: 1000))
        XCTAssertEqual(HTTPStatus(rawValue: 404), .notFound)
        XCTAssertTrue(HTTPStatus.noContent.forbidsBody)
        XCTAssertTrue(HTTPStatus.notModified.forbidsBody)
        XCTAssertTrue(HTTPStatus.continue.forbidsBody)
        XCTAssertFalse(HTTPStatus.ok.forbidsBody)
    }
}
