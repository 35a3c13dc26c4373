/// The server side of the opening handshake (RFC 6455 4.2) and the permessage-deflate offer
/// (RFC 7692 7.1), sans-I/O: a request head in, the response headers (or the refusal) out.
public enum WebSocketHandshake {
    /// The GUID the accept key is derived with (RFC 6455 1.3).
    static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: base64(SHA-1(key + GUID)).
    public static func acceptValue(forKey key: UnsafeRawBufferPointer) -> String {
        var hasher = SHA1.Hasher()
        hasher.update(key)
        hasher.update(guid)
        let digest = hasher.finalize()
        return digest.withUnsafeBytes { Base64.encode($0) }
    }

    /// The agreed permessage-deflate parameters.
    public struct DeflateParameters: Hashable, Sendable {
        /// We reset our compressor after each message.
        public var serverNoContextTakeover = false
        /// The client resets its compressor after each message (so our decompressor may too).
        public var clientNoContextTakeover = false
        /// Our compressor's window.
        public var serverMaxWindowBits = 15

        /// The `Sec-WebSocket-Extensions` response value.
        var responseValue: String {
            var v = "permessage-deflate"
            if serverNoContextTakeover { v += "; server_no_context_takeover" }
            if clientNoContextTakeover { v += "; client_no_context_takeover" }
            if serverMaxWindowBits < 15 { v += "; server_max_window_bits=\(serverMaxWindowBits)" }
            return v
        }
    }

    public enum Outcome {
        /// Upgrade: answer 101 with these headers.
        case accept(headers: [(String, String)], subprotocol: String?, deflate: DeflateParameters?)
        /// Refuse with this status (and headers, e.g. `Sec-WebSocket-Version: 13` with 426).
        case reject(HTTPStatus, headers: [(String, String)], reason: String)
    }

    /// Whether the request asks for a WebSocket (Upgrade: websocket); a route may serve a page to
    /// plain GETs on the same path.
    public static func isUpgradeRequest(_ head: HTTPRequestHead) -> Bool {
        head.value(of: "upgrade")?.containsToken("websocket") ?? false
    }

    /// Checks an upgrade request and builds the answer.
    /// - Parameters:
    ///   - selectSubprotocol: picks one of the client's offered subprotocols (in its order), or nil.
    ///   - checkOrigin: the Origin header (nil when absent); false refuses with 403.
    ///   - allowDeflate: accept a permessage-deflate offer when the client makes one.
    ///   - contextTakeover: let either side keep its compression context between messages when
    ///     the offer allows it; false answers with both `no_context_takeover` parameters (see
    ///     `WebSocketConfiguration.deflateContextTakeover`).
    public static func evaluate(
        _ head: HTTPRequestHead,
        selectSubprotocol: (([String]) -> String?)? = nil,
        checkOrigin: ((String?) -> Bool)? = nil,
        allowDeflate: Bool = true,
        contextTakeover: Bool = false
    ) -> Outcome {
        guard head.method == .get else {
            return .reject(.badRequest, headers: [], reason: "a WebSocket handshake must be a GET")
        }
        guard head.version >= .http1_1 else {
            return .reject(.badRequest, headers: [], reason: "a WebSocket handshake needs HTTP/1.1")
        }
        guard isUpgradeRequest(head), head.value(of: "connection")?.containsToken("upgrade") ?? false else {
            return .reject(.upgradeRequired, headers: [("Upgrade", "websocket"), ("Connection", "Upgrade")],
                           reason: "not an upgrade request")
        }
        guard let version = head.value(of: "sec-websocket-version"), version.equals("13") else {
            return .reject(.upgradeRequired, headers: [("Sec-WebSocket-Version", "13")],
                           reason: "unsupported Sec-WebSocket-Version")
        }
        guard let key = head.value(of: "sec-websocket-key"), Base64.decodedLength(key.bytes) == 16 else {
            return .reject(.badRequest, headers: [], reason: "missing or malformed Sec-WebSocket-Key")
        }
        if let checkOrigin, !checkOrigin(head.value(of: "origin")?.string) {
            return .reject(.forbidden, headers: [], reason: "origin not allowed")
        }
        var headers: [(String, String)] = [
            ("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", acceptValue(forKey: key.bytes)),
        ]
        var subprotocol: String?
        if let selectSubprotocol, let offered = head.value(of: "sec-websocket-protocol") {
            var names: [String] = []
            offered.forEachListElement { names.append($0.string); return true }
            if let chosen = selectSubprotocol(names), names.contains(chosen) {
                subprotocol = chosen
                headers.append(("Sec-WebSocket-Protocol", chosen))
            }
        }
        var deflate: DeflateParameters?
        if allowDeflate {
            for field in head.headers where field.name.equalsIgnoringCase("sec-websocket-extensions") {
                deflate = negotiateDeflate(field.value.string)
                if deflate != nil { break }
            }
            // RFC 7692 7.1.1.1 and 7.1.1.2: a server may add both parameters to any answer.
            if !contextTakeover, deflate != nil {
                deflate!.serverNoContextTakeover = true
                deflate!.clientNoContextTakeover = true
            }
            if let deflate { headers.append(("Sec-WebSocket-Extensions", deflate.responseValue)) }
        }
        return .accept(headers: headers, subprotocol: subprotocol, deflate: deflate)
    }

    /// Takes the first acceptable permessage-deflate offer from an extensions header value.
    /// Offers with unknown or repeated parameters, or bad values, are declined (RFC 7692 5).
    static func negotiateDeflate(_ header: String) -> DeflateParameters? {
        for offer in header.split(separator: ",") {
            // Empty pieces are kept: `permessage-deflate;;` has a parameter with no name.
            var parts = offer.split(separator: ";", omittingEmptySubsequences: false).map { $0.trimmingASCIISpaces() }
            guard !parts.isEmpty, parts.removeFirst() == "permessage-deflate" else { continue }
            var p = DeflateParameters()
            var seen = Set<String>()
            var acceptable = true
            for param in parts {
                // `;=`, `; ;` or `=x` leave no name: such a parameter is malformed and declines
                // the offer (it was indexed once, and an empty split trapped).
                let kv = param.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    .map { $0.trimmingASCIISpaces() }
                guard let name = kv.first, !name.isEmpty else { acceptable = false; break }
                var value = kv.count > 1 ? kv[1] : nil
                if let v = value, v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { value = String(v.dropFirst().dropLast()) }
                guard seen.insert(name).inserted else { acceptable = false; break }
                switch name {
                case "server_no_context_takeover":
                    if value != nil { acceptable = false }
                    p.serverNoContextTakeover = true
                case "client_no_context_takeover":
                    if value != nil { acceptable = false }
                    p.clientNoContextTakeover = true
                case "server_max_window_bits":
                    // zlib cannot produce a raw stream with an 8-bit window: decline such offers.
                    guard let v = value, let bits = Int(v), (9...15).contains(bits) else { acceptable = false; break }
                    p.serverMaxWindowBits = bits
                case "client_max_window_bits":
                    // Our decompressor always uses the full window, which reads any smaller one.
                    if let v = value { guard let bits = Int(v), (8...15).contains(bits) else { acceptable = false; break } }
                default:
                    acceptable = false
                }
                if !acceptable { break }
            }
            if acceptable { return p }
        }
        return nil
    }
}

extension Substring {
    fileprivate func trimmingASCIISpaces() -> String {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
