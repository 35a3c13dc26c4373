import Protocols
import XCTest

final class SSEEncoderTests: XCTestCase {
    func encode(id: String? = nil, event: String? = nil, data: String?, retry: Int? = nil) -> String {
        var out: [UInt8] = []
        if let data {
            SSEEncoder.encode(id: id, event: event, data: data, retry: retry, into: &out)
        } else {
            SSEEncoder.encode(id: id, event: event, data: nil, retry: retry, into: &out)
        }
        return String(decoding: out, as: UTF8.self)
    }

    func testSingleLineEventWithId() {
        XCTAssertEqual(encode(id: "7", data: "hello"), "data: hello\nid: 7\n\n")
    }

    func testMultiLineDataBecomesSeveralDataLinesForEveryKindOfLineBreak() {
        XCTAssertEqual(encode(data: "a\nb\r\nc\rd"), "data: a\ndata: b\ndata: c\ndata: d\n\n")
        XCTAssertEqual(encode(data: "trailing\n"), "data: trailing\ndata: \n\n")
        XCTAssertEqual(encode(data: ""), "data: \n\n")
        XCTAssertEqual(encode(data: "\r\n\r\n"), "data: \ndata: \ndata: \n\n")
    }

    func testEventNameRetryAndComment() {
        XCTAssertEqual(encode(id: "1", event: "reset", data: "{}", retry: 1500), "event: reset\ndata: {}\nid: 1\nretry: 1500\n\n")
        XCTAssertEqual(String(decoding: SSEEncoder.comment("hi\nthere"), as: UTF8.self), ": hithere\n")
    }

    func testLineBreaksCannotForgeFieldsInIdOrEvent() {
        XCTAssertEqual(encode(id: "1\ndata: evil", event: "x\r\nid: 9", data: "ok"), "event: xid: 9\ndata: ok\nid: 1data: evil\n\n")
    }

    func testLastEventIDParsing() {
        func parse(_ s: String) -> UInt64? {
            var t = s
            return t.withUTF8 { SSELastEventID.parse(HTTPByteView(start: UnsafeRawPointer($0.baseAddress!), count: $0.count)) }
        }
        XCTAssertEqual(parse("42"), 42)
        XCTAssertEqual(parse("0"), 0)
        XCTAssertNil(parse("4x"))
        XCTAssertNil(parse("-1"))
        XCTAssertNil(parse("99999999999999999999999"))
        XCTAssertNil(SSELastEventID.parse(nil))
    }
}
