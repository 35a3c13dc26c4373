import XCTest
@testable import Protocols

/// Every outbound rule of `HTTPResponseRules`, h11-style: real request bytes through the parser,
/// then the plan for the response the application chose.
final class HTTPResponseRulesTests: XCTestCase {
    /// The rules for the head of `request` (parsed for real, so the Connection and Expect fields
    /// and the framing come from the parser, as in the server).
    private func rules(_ request: String) -> HTTPResponseRules {
        let bytes = Array(request.utf8)
        return bytes.withUnsafeBytes { input -> HTTPResponseRules in
            var parser = HTTPRequestParser()
            guard case .head(let head) = parser.next(input).event else {
                XCTFail("no head in \(request.debugDescription)")
                return HTTPResponseRules(method: .get, version: .http1_1, keepAlive: false, expectsContinue: false, bodyFraming: .none)
            }
            return HTTPResponseRules(head: head)
        }
    }

    private let get11 = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"

    // MARK: Bodies and framing

    func testCompleteResponseIsFramedByContentLength() {
        let plan = rules(get11).response(status: .ok, bodyLength: 13)
        XCTAssertEqual(plan, .init(framing: .contentLength(13), sendsBody: true, keepAlive: true))
        let empty = rules(get11).response(status: .ok, bodyLength: 0)
        XCTAssertEqual(empty, .init(framing: .contentLength(0), sendsBody: false, keepAlive: true))
    }

    func testHeadGetsTheGetsContentLengthButNoBody() {
        let plan = rules("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n").response(status: .ok, bodyLength: 13)
        XCTAssertEqual(plan, .init(framing: .contentLength(13), sendsBody: false, keepAlive: true))
    }

    func testHeadStreamSaysChunkedButSendsNothingAndStaysOpen() {
        var r = rules("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(r.stream(status: .ok, untilClose: false), .init(framing: .chunked, sendsBody: false, keepAlive: true))
        var sse = rules("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(sse.stream(status: .ok, untilClose: true), .init(framing: .none, sendsBody: false, keepAlive: true))
        XCTAssertTrue(sse.keepAlive)
    }

    func testInformationalAnd204CarryNoBodyAndNoFraming() {
        for code in [100, 102, 103, 204] {
            let status = HTTPStatus(code: code)
            XCTAssertFalse(HTTPResponseRules.statusAllowsBody(status))
            XCTAssertEqual(rules(get11).response(status: status, bodyLength: 5), .init(framing: .none, sendsBody: false, keepAlive: true), "\(code)")
            var r = rules(get11)
            XCTAssertEqual(r.stream(status: status, untilClose: true), .init(framing: .none, sendsBody: false, keepAlive: true), "\(code)")
            XCTAssertTrue(r.keepAlive, "a stream without a body does not end by closing")
        }
    }

    func testNotModifiedHasNoBodyAndRepeatsOnlyAGivenLength() {
        XCTAssertEqual(rules(get11).response(status: .notModified, bodyLength: 0), .init(framing: .none, sendsBody: false, keepAlive: true))
        XCTAssertEqual(rules(get11).response(status: .notModified, bodyLength: 42), .init(framing: .contentLength(42), sendsBody: false, keepAlive: true))
    }

    func testStatusesThatAllowABody() {
        for code in [200, 201, 206, 301, 400, 404, 500, 599] {
            XCTAssertTrue(HTTPResponseRules.statusAllowsBody(HTTPStatus(code: code)), "\(code)")
        }
    }

    func testStreamIsChunkedForHTTP11AndStaysOpen() {
        var r = rules(get11)
        XCTAssertEqual(r.stream(status: .ok, untilClose: false), .init(framing: .chunked, sendsBody: true, keepAlive: true))
        XCTAssertTrue(r.keepAlive)
    }

    func testStreamUntilCloseHasNoFramingAndCloses() {
        var r = rules(get11)
        XCTAssertEqual(r.stream(status: .ok, untilClose: true), .init(framing: .none, sendsBody: true, keepAlive: false, endsByClose: true))
        XCTAssertFalse(r.keepAlive)
    }

    func testHTTP10StreamEndsByCloseEvenWithKeepAlive() {
        var r = rules("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        XCTAssertTrue(r.keepAlive)
        XCTAssertEqual(r.stream(status: .ok, untilClose: false), .init(framing: .none, sendsBody: true, keepAlive: false, endsByClose: true))
        XCTAssertFalse(r.keepAlive)
    }

    func testUpgradeHasNoFramingAndNoClose() {
        XCTAssertEqual(rules(get11).upgrade(), .init(framing: .none, sendsBody: false, keepAlive: true))
    }

    // MARK: Keep-alive

    func testHTTP11StaysOpenUnlessConnectionClose() {
        XCTAssertTrue(rules(get11).keepAlive)
        let close = rules("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        XCTAssertEqual(close.response(status: .ok, bodyLength: 2), .init(framing: .contentLength(2), sendsBody: true, keepAlive: false))
        let listed = rules("GET / HTTP/1.1\r\nHost: x\r\nConnection: foo, CLOSE\r\n\r\n")
        XCTAssertFalse(listed.keepAlive)
    }

    func testHTTP10ClosesUnlessKeepAlive() {
        XCTAssertFalse(rules("GET / HTTP/1.0\r\n\r\n").response(status: .ok, bodyLength: 1).keepAlive)
        XCTAssertTrue(rules("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").response(status: .ok, bodyLength: 1).keepAlive)
        XCTAssertEqual(rules("GET / HTTP/1.0\r\n\r\n").requestVersion, .http1_0)
    }

    func testApplicationConnectionCloseClosesEitherWay() {
        var r = rules(get11)
        r.closeAfterResponse()
        XCTAssertEqual(r.response(status: .ok, bodyLength: 1), .init(framing: .contentLength(1), sendsBody: true, keepAlive: false))
        XCTAssertEqual(r.stream(status: .ok, untilClose: false), .init(framing: .chunked, sendsBody: true, keepAlive: false))
    }

    func testRejectionAlwaysClosesAndSendsItsBody() {
        for code in [400, 408, 413, 414, 431, 501, 505] {
            let plan = HTTPResponseRules.rejection(status: HTTPStatus(code: code), bodyLength: 20)
            XCTAssertEqual(plan, .init(framing: .contentLength(20), sendsBody: true, keepAlive: false), "\(code)")
        }
    }

    // MARK: 100-continue and unread bodies

    func testExpectContinueOnAcceptedRouteSendsContinue() {
        var r = rules("POST /u HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        XCTAssertEqual(r.continueDecision(routeAccepts: true), .sendContinue)
        XCTAssertTrue(r.keepAlive)
    }

    func testExpectContinueRejectedAnswersNowAndClosesBecauseTheBodyIsUnread() {
        var r = rules("POST /u HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n")
        XCTAssertEqual(r.continueDecision(routeAccepts: false), .answerNowAndClose)
        XCTAssertFalse(r.keepAlive)
        XCTAssertEqual(r.response(status: .notFound, bodyLength: 10), .init(framing: .contentLength(10), sendsBody: true, keepAlive: false))
    }

    func testNoContinueWithoutExpectOrWithoutBodyOrOnHTTP10() {
        var plain = rules("POST /u HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n")
        XCTAssertEqual(plain.continueDecision(routeAccepts: false), .none)
        XCTAssertTrue(plain.keepAlive)
        var bodiless = rules("GET /u HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n")
        XCTAssertEqual(bodiless.continueDecision(routeAccepts: false), .none)
        XCTAssertTrue(bodiless.keepAlive)
        var old = rules("POST /u HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        XCTAssertEqual(old.continueDecision(routeAccepts: true), .none, "Expect is ignored on HTTP/1.0")
    }
}
