/// Where a Redis server is, parsed from `redis://[[user]:password@]host[:port][/db]`.
///
/// The host is a numeric IPv4 or IPv6 address (`[::1]`) or a name; names are resolved by the
/// caller before its loop runs (the resolver blocks), never on the loop. `rediss://` is the same
/// over TLS (`tls`; the client checks the server's certificate against `host`). Unix sockets are
/// refused with a clear message.
public struct RedisEndpoint: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: UInt16
    /// The logical database to `SELECT` (0 is Redis's default and needs no command).
    public var database: Int
    public var username: String?
    public var password: String?
    /// `rediss://`: speak TLS to the server.
    public var tls: Bool

    public init(host: String, port: UInt16 = 6379, database: Int = 0, username: String? = nil, password: String? = nil,
                tls: Bool = false) {
        self.tls = tls
        self.host = host
        self.port = port
        self.database = database
        self.username = username
        self.password = password
    }

    /// Parses a `redis://` or `rediss://` URL; the error says what is wrong in words for a command line.
    public init(url: String) throws(RedisEndpointError) {
        let tls = url.hasPrefix("rediss://")
        guard url.hasPrefix("redis://") || tls else {
            if url.hasPrefix("unix://") || url.hasPrefix("redis+unix://") { throw RedisEndpointError("Unix sockets are not supported; use redis://host:port") }
            throw RedisEndpointError("'\(url)' is not a redis:// URL (expected redis://host:port[/db])")
        }
        var rest = Substring(url.dropFirst(tls ? "rediss://".count : "redis://".count))
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !path.isEmpty {
                guard let n = Int(path), n >= 0, n < 1 << 16 else { throw RedisEndpointError("database '\(path)' is not a number from 0 to 65535") }
                database = n
            }
        }
        if rest.contains("?") || rest.contains("#") { throw RedisEndpointError("query parameters are not supported in '\(url)'") }
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = credentials[..<colon]
                username = user.isEmpty ? nil : try Self.percentDecoded(user)
                password = try Self.percentDecoded(credentials[credentials.index(after: colon)...])
            } else {
                // `redis://secret@host`: a lone credential is the password (as redis-cli reads it).
                password = try Self.percentDecoded(credentials)
            }
        }
        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw RedisEndpointError("unclosed '[' in '\(url)'") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw RedisEndpointError("unexpected '\(after)' after the address in '\(url)'") }
                portText = after.dropFirst()
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        guard !host.isEmpty else { throw RedisEndpointError("no host in '\(url)'") }
        var port: UInt16 = 6379
        if let portText {
            guard let p = UInt16(portText), p > 0 else { throw RedisEndpointError("port '\(portText)' is not a number from 1 to 65535") }
            port = p
        }
        self.init(host: String(host), port: port, database: database, username: username, password: password, tls: tls)
    }

    /// `host:port[/db]`, never the password (this is what logs show).
    public var description: String {
        let h = host.contains(":") ? "[\(host)]" : host
        let address = database == 0 ? "\(h):\(port)" : "\(h):\(port)/\(database)"
        return tls ? "rediss://\(address)" : address
    }

    private static func percentDecoded(_ s: Substring) throws(RedisEndpointError) -> String {
        var out: [UInt8] = []
        var bytes = Array(s.utf8)[...]
        while let b = bytes.first {
            bytes = bytes.dropFirst()
            if b == UInt8(ascii: "%") {
                guard bytes.count >= 2, let hi = hexValue(bytes[bytes.startIndex]), let lo = hexValue(bytes[bytes.startIndex + 1]) else {
                    throw RedisEndpointError("bad percent escape in the credentials")
                }
                out.append(hi << 4 | lo)
                bytes = bytes.dropFirst(2)
            } else {
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// A `redis://` URL that cannot be used, with the reason in words.
public struct RedisEndpointError: Error, Hashable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
