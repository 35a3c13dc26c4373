import Glibc
import Protocols
import Reactor

/// The HTTP request that opened an Engine.IO session (its first long poll, or its WebSocket
/// upgrade), kept with the session because its bytes are gone once it is answered: what the
/// reference calls the handshake (`socket.handshake` in Socket.IO, `socket.request` in Engine.IO).
///
/// It holds a copy of the request's head fields, so a session costs at most the HTTP parser's
/// head limit more (`HTTPParserLimits`), once, not per packet.
public struct EngineIOHandshakeRequest: Sendable {
    /// The header fields, names lowercased as Node gives them. A name sent more than once has its
    /// values joined, with "; " for `cookie` and ", " for the others (as Node's `IncomingMessage`).
    public let headers: [String: String]
    /// The request target: path and query, undecoded (`/socket.io/?EIO=4&transport=polling`).
    public let url: String
    /// The undecoded query string.
    public let query: String
    /// The query's items, decoded (`+` as space); the first of a repeated name wins.
    public let queryItems: [String: String]
    /// The client's address.
    public let address: SocketAddress?
    /// Whether the connection is TLS: false until the server speaks TLS.
    public let secure: Bool
    /// When the handshake arrived, in milliseconds since 1970 (the reference's `issued`).
    public let issued: Int64

    public init(headers: [String: String] = [:], url: String = "/", query: String = "", queryItems: [String: String] = [:],
                address: SocketAddress? = nil, secure: Bool = false, issued: Int64 = EngineIOHandshakeRequest.now()) {
        self.headers = headers
        self.url = url
        self.query = query
        self.queryItems = queryItems
        self.address = address
        self.secure = secure
        self.issued = issued
    }

    /// Copies what a session keeps of `req`.
    init(_ req: HTTPRequest) {
        let head = req.head
        var headers: [String: String] = [:]
        for field in head.headers {
            let name = field.name.string.lowercased()
            let value = field.value.string
            if let earlier = headers[name] {
                headers[name] = earlier + (name == "cookie" ? "; " : ", ") + value
            } else {
                headers[name] = value
            }
        }
        var items: [String: String] = [:]
        head.forEachQueryItem { name, value in
            let key = name.percentDecoded(plusAsSpace: true)
            if items[key] == nil { items[key] = value.map { $0.percentDecoded(plusAsSpace: true) } ?? "" }
            return true
        }
        self.init(headers: headers, url: head.target.string, query: req.query?.string ?? "", queryItems: items,
                  address: req.connection.peerAddress)
    }

    /// The value of header `name` (any case).
    public func header(_ name: String) -> String? { headers[name.lowercased()] }

    /// The cookies of the `cookie` header, by name (the first of a repeated name wins; values
    /// as sent, not decoded).
    public var cookies: [String: String] {
        var cookies: [String: String] = [:]
        for pair in (headers["cookie"] ?? "").split(separator: ";") {
            let trimmed = pair.drop { $0 == " " }
            guard let equals = trimmed.firstIndex(of: "=") else { continue }
            let name = String(trimmed[..<equals])
            if cookies[name] == nil { cookies[name] = String(trimmed[trimmed.index(after: equals)...]) }
        }
        return cookies
    }

    /// The wall clock in milliseconds since 1970.
    public static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
