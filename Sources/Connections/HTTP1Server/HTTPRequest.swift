import Protocols
import Reactor

/// One request, as a route handler sees it: the parsed head and the whole body.
///
/// Readable until its response is complete: during the handler call, and afterwards from
/// anything the handler scheduled (a timer, a pub/sub callback, a long poll) until that code
/// responds. Keep the request itself, not what it handed out, and read it when needed:
///
///     router.get("/later") { req, res in
///         loop.schedule(after: .milliseconds(50)) {
///             res.respond(contentType: "text/plain", body: "path=\(req.path)")  // read here, not before
///         }
///     }
///
/// Once the response is complete (`respond`, `end()` of a stream, `upgrade`) or the connection
/// closed, the request is stale: its bytes may already be another client's. Reading a stale
/// request never returns them. It traps when `HTTPServerConfiguration.trapsOnStaleRequest` (the
/// default in debug builds); otherwise it returns an empty value (an empty path and body, no
/// header, no query, `.other` as the method) and the server writes one line to its `log`
/// (at most one every 10 s). A request whose client left before its response (the connection
/// closed) reads as the same empty value, quietly: no trap, no log line, since a deferred answer
/// cannot see that coming (its `respond` is ignored too). `res.onAbandoned` handlers run just
/// before, and may still read the request.
/// `isReadable` tells whether a read would succeed.
///
/// What the accessors hand out (`HTTPByteView`, `head`, `body`) is borrowed: valid until control
/// returns to the loop, even while the request stays readable (the head moves into the
/// connection's own storage when the handler returns without answering). Copy what must be kept
/// longer: `String(view)`, `[UInt8](view)`, `bodyBytes`, `bodyText`, `queryValue(_:)`.
///
/// Costs: a request is a reference to its connection and a generation; each accessor compares
/// two integers (HTTPRequestStore.swift). The head is copied (into storage the connection
/// allocates once and reuses) only when a handler returns without having answered.
public struct HTTPRequest {
    // Strong, as the responder's: a request kept by a timer after its connection closed stays
    // safe to read (it is then stale, and reads as empty).
    let exchange: HTTPServerConnection
    let generation: UInt64
    var store: HTTPRequestStore { exchange.request }

    /// Whether the request may still be read: its response is not complete and its connection
    /// is open.
    public var isReadable: Bool { store.isCurrent(generation) }

    /// The parsed head (borrowed: see the type's notes).
    public var head: HTTPRequestHead { store.head(generation, "head") }
    /// The request body (empty when there is none); borrowed, like the head.
    public var body: UnsafeRawBufferPointer { store.body(generation, "body") }
    /// The body as it arrives, for a route registered with `streamsBody: true` (nil for other
    /// routes, whose handler gets the whole body in `body`). The stream itself may be kept until
    /// the body has ended.
    public var bodyStream: HTTPBodyStream? { store.bodyStream(generation) }
    /// The connection it came on (usable whether or not the request is still readable).
    public var connection: Connection { exchange.connection }

    public var method: HTTPMethod { store.head(generation, "method").method }
    /// The path, still percent-encoded.
    public var path: HTTPByteView { store.head(generation, "path").path }
    /// The undecoded query after `?`, or nil.
    public var query: HTTPByteView? { store.head(generation, "query").query }

    /// A decoded query parameter (`+` as space), allocated on request.
    public func queryValue(_ name: String) -> String? { store.head(generation, "queryValue").queryValue(name) }

    /// The first header field named `name` (case-insensitive).
    public func header(_ name: String) -> HTTPByteView? { store.head(generation, "header").value(of: name) }

    /// A copy of the body.
    public var bodyBytes: [UInt8] { [UInt8](store.body(generation, "bodyBytes")) }

    /// The body decoded as UTF-8 (invalid sequences replaced).
    public var bodyText: String { String(store.body(generation, "bodyText")) }
}
