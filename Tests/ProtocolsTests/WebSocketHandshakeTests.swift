import Protocols
import XCTest

final class WebSocketHandshakeTests: XCTestCase {
    /// Parses `request` and evaluates it as a handshake.
    func evaluate(_ request: String, allowDeflate: Bool = true, contextTakeover: Bool = true) -> WebSocketHandshake.Outcome? {
        var parser = HTTPRequestParser()
        var bytes = Array(request.utf8)
        return bytes.withUnsafeMutableBytes { raw in
            let (event, _) = parser.next(UnsafeRawBufferPointer(raw))
            guard case .head(let head) = event else { return nil }
            return WebSocketHandshake.evaluate(head, selectSubprotocol: { $0.contains("chat") ? "chat" : nil }, allowDeflate: allowDeflate, contextTakeover: contextTakeover)
        }
    }

    let valid = "GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"

    func header(_ outcome: WebSocketHandshake.Outcome?, _ name: String) -> String? {
        guard case .accept(let headers, _, _) = outcome else { return nil }
        return headers.first { $0.0 == name }?.1
    }

    func testRFCExampleAcceptValue() {
        let outcome = evaluate(valid + "\r\n")
        XCTAssertEqual(header(outcome, "Sec-WebSocket-Accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        XCTAssertNil(header(outcome, "Sec-WebSocket-Extensions"))
    }

    func testBadUpgradesAreRefusedWithTheRightStatus() {
        func status(_ r: String) -> Int? {
            if case .reject(let s, _, _) = evaluate(r) { return s.code }
            return nil
        }
        XCTAssertEqual(status(valid.replacingOccurrences(of: "Version: 13", with: "Version: 8") + "\r\n"), 426)
        XCTAssertEqual(status(valid.replacingOccurrences(of: "dGhlIHNhbXBsZSBub25jZQ==", with: "short") + "\r\n"), 400)
        XCTAssertEqual(status(valid.replacingOccurrences(of: "GET", with: "POST") + "\r\n"), 400)
        XCTAssertEqual(status(valid.replacingOccurrences(of: "Upgrade: websocket\r\n", with: "") + "\r\n"), 426)
        if case .reject(_, let headers, _) = evaluate(valid.replacingOccurrences(of: "Version: 13", with: "Version: 7") + "\r\n") {
            XCTAssertEqual(headers.first { $0.0 == "Sec-WebSocket-Version" }?.1, "13")
        } else {
            XCTFail("version 7 accepted")
        }
    }

    func testSubprotocolSelection() {
        let outcome = evaluate(valid + "Sec-WebSocket-Protocol: soap, chat\r\n\r\n")
        XCTAssertEqual(header(outcome, "Sec-WebSocket-Protocol"), "chat")
        XCTAssertNil(header(evaluate(valid + "Sec-WebSocket-Protocol: soap\r\n\r\n"), "Sec-WebSocket-Protocol"))
    }

    func testDeflateNegotiation() {
        // By default neither side keeps context between messages, whatever the offer says
        // (RFC 7692 7.1.1.1 and 7.1.1.2 let a server add both parameters unasked).
        XCTAssertEqual(header(evaluate(valid + "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n", contextTakeover: false), "Sec-WebSocket-Extensions"),
                       "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
        XCTAssertEqual(header(evaluate(valid + "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n", contextTakeover: false), "Sec-WebSocket-Extensions"),
                       "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
        // With context takeover allowed, the offer is answered as made.
        XCTAssertEqual(header(evaluate(valid + "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"), "Sec-WebSocket-Extensions"),
                       "permessage-deflate")
        XCTAssertEqual(header(evaluate(valid + "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n\r\n"), "Sec-WebSocket-Extensions"),
                       "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
        // An offer we cannot honour (8-bit window) is declined, and the next one taken.
        XCTAssertEqual(header(evaluate(valid + "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=8, permessage-deflate; server_max_window_bits=10\r\n\r\n"), "Sec-WebSocket-Extensions"),
                       "permessage-deflate; server_max_window_bits=10")
        XCTAssertNil(header(evaluate(valid + "Sec-WebSocket-Extensions: permessage-deflate; unknown_param\r\n\r\n"), "Sec-WebSocket-Extensions"))
        XCTAssertNil(header(evaluate(valid + "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n", allowDeflate: false), "Sec-WebSocket-Extensions"))
    }

    /// Offers whose parameters have no name used to trap on `kv[0]` of an empty split; each must
    /// now decline the offer (RFC 7692 5) and still upgrade, and a good offer after it is taken.
    func testExtensionParametersWithoutANameDeclineTheOffer() {
        let malformed = [
            "permessage-deflate;=", "permessage-deflate; ;x", "permessage-deflate;;", "permessage-deflate; =x",
            "permessage-deflate; = ; =", "permessage-deflate;\t;", "permessage-deflate; server_max_window_bits=",
            "permessage-deflate; server_max_window_bits=99999999999999999999999", "permessage-deflate; client_max_window_bits=\"",
            "permessage-deflate; client_max_window_bits=\"\"", "permessage-deflate; server_max_window_bits=-1", ",,,;;;===", "=",
        ]
        for offer in malformed {
            let outcome = evaluate(valid + "Sec-WebSocket-Extensions: \(offer)\r\n\r\n")
            guard case .accept(_, _, let deflate)? = outcome else { return XCTFail("\(offer): \(String(describing: outcome))") }
            XCTAssertNil(deflate, offer)
            XCTAssertEqual(header(evaluate(valid + "Sec-WebSocket-Extensions: \(offer), permessage-deflate\r\n\r\n"),
                                  "Sec-WebSocket-Extensions"), "permessage-deflate", offer)
        }
        // Quoted values (RFC 7692 5.1 allows them) still work.
        XCTAssertEqual(header(evaluate(valid + "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=\"10\"\r\n\r\n"),
                              "Sec-WebSocket-Extensions"), "permessage-deflate; server_max_window_bits=10")
    }
}
