/// A request method. The nine methods of RFC 9110 and RFC 5789 get a case so routing switches on
/// an enum; any other token is `.other` and its text is `HTTPRequestHead.methodName`.
/// Methods are case-sensitive (RFC 9110 9.1): `get` is `.other`, not `.get`.
public enum HTTPMethod: UInt8, Hashable, Sendable, CustomStringConvertible {
    case get, head, post, put, delete, options, patch, connect, trace
    /// An extension method; read its name from `HTTPRequestHead.methodName`.
    case other

    /// Classifies a method token (already validated as token characters) without allocating.
    init(token: UnsafeRawBufferPointer) {
        // Dispatch on length, then compare bytes: at most one comparison per candidate.
        func matches(_ name: StaticString) -> Bool {
            name.utf8CodeUnitCount == token.count
                && memcmpEqual(UnsafeRawPointer(name.utf8Start), token.baseAddress!, token.count)
        }
        switch token.count {
        case 3: self = matches("GET") ? .get : matches("PUT") ? .put : .other
        case 4: self = matches("POST") ? .post : matches("HEAD") ? .head : .other
        case 5: self = matches("PATCH") ? .patch : matches("TRACE") ? .trace : .other
        case 6: self = matches("DELETE") ? .delete : .other
        case 7: self = matches("OPTIONS") ? .options : matches("CONNECT") ? .connect : .other
        default: self = .other
        }
    }

    /// The method's name as sent on the wire, or `"OTHER"` for `.other`.
    public var description: String {
        switch self {
        case .get: return "GET"
        case .head: return "HEAD"
        case .post: return "POST"
        case .put: return "PUT"
        case .delete: return "DELETE"
        case .options: return "OPTIONS"
        case .patch: return "PATCH"
        case .connect: return "CONNECT"
        case .trace: return "TRACE"
        case .other: return "OTHER"
        }
    }
}
