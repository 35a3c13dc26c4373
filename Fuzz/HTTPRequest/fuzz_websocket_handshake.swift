// libFuzzer target for the WebSocket opening handshake as a server meets it: request-head bytes
// through HTTPRequestParser, then WebSocketHandshake.evaluate with subprotocol selection, an
// origin check and permessage-deflate negotiation, as WebSocket.upgrade calls it, and the
// OriginPolicy verdicts (Origin and Host) every upgrading route and POST endpoint applies.
//
// The first input byte picks which of the usual upgrade fields the harness writes before the
// fuzzed bytes (a bit each), so most inputs reach the extension and subprotocol parsers instead
// of stopping at a missing Upgrade or key; the rest are header lines (or a whole head, with no
// field written for it). Nothing may trap; an accepted handshake must be self-consistent.

func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("invariant violated: \(message())") }
}

let usualFields: [String] = [
    "Host: example.com\r\n",
    "Upgrade: websocket\r\n",
    "Connection: Upgrade\r\n",
    "Sec-WebSocket-Version: 13\r\n",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
    "Origin: http://example.com\r\n",
]

func handshake(_ head: HTTPRequestHead, pick: UInt8) {
    let outcome = WebSocketHandshake.evaluate(
        head,
        selectSubprotocol: { offered in
            // Prefer a protocol the demo speaks, else take one of the offers by the pick byte.
            if offered.contains("chat") { return "chat" }
            return offered.isEmpty ? nil : offered[Int(pick) % offered.count]
        },
        checkOrigin: { origin in
            // Exercise the value's String form as an application would.
            guard let origin else { return true }
            return !origin.hasPrefix("http://evil")
        },
        allowDeflate: pick & 0x40 == 0)
    switch outcome {
    case .accept(let headers, let subprotocol, let deflate):
        check(head.method == .get && head.version == .http1_1, "accepted a non-GET or HTTP/1.0 upgrade")
        check(headers.contains { $0.0 == "Sec-WebSocket-Accept" && $0.1.utf8.count == 28 }, "accept key")
        if let subprotocol {
            check(headers.contains { $0 == ("Sec-WebSocket-Protocol", subprotocol) }, "chosen subprotocol not answered")
        }
        if let deflate {
            check(pick & 0x40 == 0, "deflate negotiated while disallowed")
            check((9...15).contains(deflate.serverMaxWindowBits), "window bits \(deflate.serverMaxWindowBits)")
            check(headers.contains { $0.0 == "Sec-WebSocket-Extensions" && $0.1.hasPrefix("permessage-deflate") }, "deflate not answered")
        }
        // Every answered value must be writable as a header value (no CR, LF or NUL).
        for (_, value) in headers {
            check(!value.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0 }, "header value with CR/LF/NUL: \(value.debugDescription)")
        }
    case .reject(let status, _, let reason):
        check([400, 403, 426].contains(status.code), "status \(status.code)")
        check(!reason.isEmpty, "empty reason")
    }
    // The origin rule every upgrading route (and POST /send, Engine.IO) applies first: it reads
    // Origin and Host as borrowed bytes; its verdicts must agree with each other.
    let own = OriginPolicy.sameOrigin.verdict(head)
    let listed = OriginPolicy(allowing: ["http://example.com", "https://app.example"]).verdict(head)
    let any = OriginPolicy.any.verdict(head)
    check((own == .noOrigin) == (head.value(of: "origin") == nil), "no-Origin verdict without an Origin check")
    check(own != .allowedCrossOrigin, "the same-origin policy allowed a cross origin")
    check(own == .refused ? listed != .sameOrigin && any == .allowedCrossOrigin : listed == own && any == own,
          "policies disagree: \(own) \(listed) \(any)")
    // The upgrade path also reads these as text: neither may trap, whatever the bytes.
    for field in head.headers {
        _ = WebSocketHandshake.negotiateDeflate(field.value.string)
        _ = field.value.logEscaped
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let pick = data[0]
    var request: [UInt8] = []
    if pick & 0x80 == 0 {
        request += Array("GET /chat?room=lobby HTTP/1.1\r\n".utf8)
        for (i, field) in usualFields.enumerated() where pick & (1 << i) == 0 {
            request += Array(field.utf8)
        }
        request += UnsafeBufferPointer(start: data + 1, count: size - 1)
        request += Array("\r\n\r\n".utf8)
    } else {
        request += UnsafeBufferPointer(start: data + 1, count: size - 1)
    }
    request.withUnsafeBytes { bytes in
        var parser = HTTPRequestParser()
        let (event, _) = parser.next(bytes)
        if case .head(let head) = event { handshake(head, pick: pick) }
    }
    return 0
}
