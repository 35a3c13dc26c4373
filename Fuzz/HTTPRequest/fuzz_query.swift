// libFuzzer target for query strings and percent-decoding: every accessor the demo and the
// Engine.IO server read a request target with (`queryValue` for room, cursor, after, timeout,
// lastEventId, instance, EIO, transport, sid, t; `forEachQueryItem`; `decodedPath`), the
// Engine.IO route classification over those values, and `SSELastEventID`.
//
// The input is used twice: as the target of a parsed request (`GET /<input> HTTP/1.1`), and raw,
// decoded by `PercentDecoding` and compared with a plain reference decoder written here.

func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("invariant violated: \(message())") }
}

/// RFC 3986 2.1 the slow way: `%XX` with two hex digits is one byte, anything else is literal.
func referenceDecode(_ b: [UInt8], plusAsSpace: Bool) -> [UInt8] {
    func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }
    var out: [UInt8] = []
    var i = 0
    while i < b.count {
        if b[i] == 0x25, i + 2 < b.count, let h = hex(b[i + 1]), let l = hex(b[i + 2]) {
            out.append(h * 16 + l)
            i += 3
        } else {
            out.append(plusAsSpace && b[i] == 0x2B ? 0x20 : b[i])
            i += 1
        }
    }
    return out
}

let demoNames = ["room", "cursor", "after", "timeout", "lastEventId", "instance", "EIO", "transport", "sid", "t", ""]

func readLikeTheDemo(_ head: HTTPRequestHead) {
    for name in demoNames {
        guard let value = head.queryValue(name) else { continue }
        _ = UInt64(value)
        if let v = Double(value), v >= 0, v.isFinite { _ = Int64(min(v, 120) * 1000) }
        _ = value.utf8.count <= 128
    }
    for method in [HTTPMethod.get, .post, .put] {
        for upgrade in [false, true] {
            let route = EngineIORoute.classify(
                method: method, eio: head.queryValue("EIO"), transport: head.queryValue("transport"),
                sid: head.queryValue("sid"), isWebSocketUpgrade: upgrade)
            if case .poll(let sid) = route { check(!sid.isEmpty, "empty sid routed") }
        }
    }
    var items = 0
    head.forEachQueryItem { name, value in
        items += 1
        check(name.count > 0 || value != nil, "an empty item was delivered")
        let decodedName = name.percentDecoded(plusAsSpace: true)
        _ = value?.percentDecoded(plusAsSpace: true)
        // The first item of a name is what queryValue finds (when the name decodes cleanly).
        if !decodedName.unicodeScalars.contains("\u{FFFD}") {
            check(head.queryValue(decodedName) != nil, "queryValue misses \(decodedName.debugDescription)")
        }
        return true
    }
    check(items <= (head.query?.count ?? 0) + 1, "more items than bytes")
    _ = head.decodedPath
    _ = head.path.logEscaped
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = Array(UnsafeBufferPointer(start: data, count: size))

    // Raw: the decoder against the reference, both spellings, and decodedEquals against decode.
    input.withUnsafeBytes { raw in
        for plus in [false, true] {
            let expected = referenceDecode(input, plusAsSpace: plus)
            let decoded = PercentDecoding.decode(raw, plusAsSpace: plus)
            if let valid = String(validating: expected, as: UTF8.self) {
                check(decoded == valid, "decode differs from the reference")
                check(PercentDecoding.decodedEquals(raw, valid, plusAsSpace: plus), "decodedEquals rejects its own decoding")
            } else {
                check(decoded == String(decoding: expected, as: UTF8.self), "invalid UTF-8 not repaired like the standard library")
            }
        }
        _ = SSELastEventID.parse(HTTPByteView(start: raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, count: raw.count))
        check(LogText.escape(raw).utf8.count <= LogText.defaultLimit + 32, "log text over its cap")
    }

    // As a request target.
    let request = Array("GET /".utf8) + input + Array(" HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
    request.withUnsafeBytes { bytes in
        var parser = HTTPRequestParser()
        if case .head(let head) = parser.next(bytes).0 { readLikeTheDemo(head) }
    }
    return 0
}
