/// Which browser origins may use an endpoint that acts on a request (a WebSocket upgrade, a POST
/// that publishes, an Engine.IO session): the defence against cross-site WebSocket hijacking and
/// cross-site request forgery, since a browser attaches a site's cookies to requests any other
/// page makes to it.
///
/// The rule, gorilla/websocket's default widened by a list:
/// - no `Origin` header: allowed. Browsers always send one on WebSocket handshakes and on
///   cross-origin POSTs; a request without one comes from a non-browser client, which could
///   forge any header anyway.
/// - the server's own origin: allowed. Same origin means the origin's `host[:port]` equals the
///   request's `Host` (ASCII case-insensitive), whatever the scheme, as gorilla compares them;
///   and, since one listener on loopback answers to several names, a page from
///   `http://localhost:8000` opening `ws://127.0.0.1:8000` is the server's own too: both hosts
///   loopback names (`localhost`, `127.x.y.z`, `[::1]`) and the same port.
/// - an origin in `allowed` (exact `scheme://host[:port]`, case-insensitive), or `*` in the
///   list: allowed, and cross-origin (`Verdict.allowedCrossOrigin`: a CORS answer may name it).
/// - anything else, `null` (sandboxed frames, `file:` pages) included: refused (403).
///
/// Sans-I/O and allocation-free on the request path: the verdict compares borrowed header bytes.
public struct OriginPolicy: Sendable, Hashable {
    /// Origins allowed besides the server's own, lowercased; `*` allows every origin.
    public private(set) var allowed: [String]

    /// Only the server's own origin (and requests without `Origin`): the safe default.
    public static let sameOrigin = OriginPolicy()
    /// Every origin: for public endpoints that carry no ambient authority.
    public static let any = OriginPolicy(allowing: ["*"])

    /// `allowing`: origins as browsers send them, `scheme://host[:port]`, or `*`.
    public init(allowing origins: [String] = []) {
        allowed = origins.map { Self.lowercased($0) }
    }

    public mutating func allow(_ origin: String) { allowed.append(Self.lowercased(origin)) }

    public var allowsAnyOrigin: Bool { allowed.contains("*") }

    public enum Verdict: Sendable, Equatable {
        /// No `Origin`: not a browser's cross-origin request.
        case noOrigin
        /// The page came from this server.
        case sameOrigin
        /// Another origin this policy allows (a CORS answer names it).
        case allowedCrossOrigin
        /// Another origin: answer 403.
        case refused

        public var isAllowed: Bool { self != .refused }
    }

    /// The verdict for a request with these `Origin` and `Host` values (nil when absent).
    public func verdict(origin: HTTPByteView?, host: HTTPByteView?) -> Verdict {
        guard let origin else { return .noOrigin }
        if let host, let authority = Self.authority(of: origin), authority.count > 0 {
            if authority.equalsIgnoringCase(bytesOf: host) { return .sameOrigin }
            if Self.isLoopbackAlias(authority, of: host) { return .sameOrigin }
        }
        for candidate in allowed where candidate == "*" || origin.equalsIgnoringCase(candidate) {
            return .allowedCrossOrigin
        }
        return .refused
    }

    /// The verdict for a request head.
    public func verdict(_ head: HTTPRequestHead) -> Verdict {
        verdict(origin: head.value(of: "origin"), host: head.value(of: "host"))
    }

    /// `host[:port]` of a serialized origin (`scheme://host[:port]`), or nil when it has no
    /// `://` or carries a path, user info or anything else an origin cannot.
    static func authority(of origin: HTTPByteView) -> HTTPByteView? {
        var i = 0
        while i + 2 < origin.count {
            if origin[i] == 0x3A && origin[i + 1] == 0x2F && origin[i + 2] == 0x2F { break }  // "://"
            i += 1
        }
        guard i > 0, i + 3 < origin.count else { return nil }
        let rest = HTTPByteView(start: origin.start + i + 3, count: origin.count - i - 3)
        for b in rest where b == 0x2F || b == 0x40 || b == 0x3F || b == 0x23 || b <= 0x20 || b >= 0x7F { return nil }
        return rest
    }

    /// Whether two `host[:port]` authorities are loopback names with the same port.
    static func isLoopbackAlias(_ a: HTTPByteView, of b: HTTPByteView) -> Bool {
        let (hostA, portA) = split(a)
        let (hostB, portB) = split(b)
        return isLoopback(hostA) && isLoopback(hostB) && portA.count == portB.count && portA.elementsEqual(portB)
    }

    /// `host` and `port` (without the colon; empty when absent) of an authority.
    private static func split(_ authority: HTTPByteView) -> (host: HTTPByteView, port: HTTPByteView) {
        var colon = authority.count
        var i = authority.count - 1
        while i >= 0 {
            let b = authority[i]
            if b == 0x3A { colon = i; break }     // ':'
            if b < 0x30 || b > 0x39 { break }     // not a digit: no port
            i -= 1
        }
        let host = HTTPByteView(start: authority.start, count: colon)
        let portStart = min(colon + 1, authority.count)
        return (host, HTTPByteView(start: authority.start + portStart, count: authority.count - portStart))
    }

    private static func isLoopback(_ host: HTTPByteView) -> Bool {
        if host.equalsIgnoringCase("localhost") || host.equals("[::1]") { return true }
        // 127.0.0.0/8, written as a dotted quad.
        guard host.count >= 9, host.count <= 15, host[0] == 0x31, host[1] == 0x32, host[2] == 0x37, host[3] == 0x2E else { return false }
        var dots = 0
        for b in host where b == 0x2E { dots += 1 }
        for b in host where b != 0x2E && (b < 0x30 || b > 0x39) { return false }
        return dots == 3
    }

    private static func lowercased(_ s: String) -> String {
        String(decoding: s.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }, as: UTF8.self)
    }
}

extension HTTPByteView {
    /// ASCII case-insensitive equality of two views of the same length.
    fileprivate func equalsIgnoringCase(bytesOf other: HTTPByteView) -> Bool {
        guard other.count == count else { return false }
        for i in 0..<count where asciiLower(self[i]) != asciiLower(other[i]) { return false }
        return true
    }
}
