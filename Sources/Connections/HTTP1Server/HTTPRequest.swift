import Protocols
import Reactor

/// One request, as a route handler sees it: the parsed head and the whole body.
///
/// Borrowed: the head's bytes and the body live in the server's buffers and are valid only for the
/// duration of the handler call. Copy what must outlive it (`head.value(of:)?.string`,
/// `bodyBytes`, `queryValue`).
public struct HTTPRequest {
    public let head: HTTPRequestHead
    /// The request body (empty when there is none).
    public let body: UnsafeRawBufferPointer
    /// The connection it came on.
    public let connection: Connection
    /// The pattern of the route that matched, and the ranges its parameters captured in the
    /// path (`parameters`): nil and empty for a route without parameters. Unretained, so a
    /// request stays a plain value (a counted reference here cost the plain path ~110
    /// instructions per request, in copies and destroys of the request): the router owns the
    /// pattern, and outlives every connection of its server (each holds the server, which holds
    /// the router). Like the rest of the request, it is not for use after its connection is gone.
    var routePattern: Unmanaged<HTTPRoutePattern>? = nil
    var routeCaptures = HTTPRouteCaptures()

    public var method: HTTPMethod { head.method }
    /// The path, still percent-encoded.
    public var path: HTTPByteView { head.path }
    /// The undecoded query after `?`, or nil.
    public var query: HTTPByteView? { head.query }

    /// A decoded query parameter (`+` as space), allocated on request.
    public func queryValue(_ name: String) -> String? { head.queryValue(name) }

    /// The first header field named `name` (case-insensitive).
    public func header(_ name: String) -> HTTPByteView? { head.value(of: name) }

    /// A copy of the body.
    public var bodyBytes: [UInt8] { Array(body) }

    /// The body decoded as UTF-8 (invalid sequences replaced).
    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}
