import Protocols
import Reactor

/// Completes the response to one request, at once (inside the handler) or later: from a timer,
/// another connection's event, a pub/sub message. Long polling and event streams need "later".
///
/// A responder is a small value; keep it as long as needed. It goes stale when its response is
/// complete or its connection closes: every call on a stale responder is ignored and returns false.
/// Responses on one connection go out in request order: requests pipelined behind an unfinished
/// response wait for it.
public struct HTTPResponder {
    // Strong, so a responder kept by a timer or a room after its connection closed stays safe
    // to call (it is then stale, and every call is ignored).
    let exchange: HTTPServerConnection
    let sequence: UInt64

    /// Whether this responder can still respond (not answered yet, connection open).
    public var isPending: Bool { exchange.isCurrent(sequence) }

    /// The connection the request came on.
    public var connection: Connection { exchange.connection }

    /// Sends a complete response with a `Content-Length` body.
    @discardableResult
    public func respond(
        _ status: HTTPStatus = .ok, contentType: HTTPContentType? = nil, headers: [(String, String)] = [],
        body: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)
    ) -> Bool {
        exchange.respond(sequence, status: status, contentType: contentType, headers: headers, body: .bytes(body))
    }

    @discardableResult
    public func respond(
        _ status: HTTPStatus = .ok, contentType: HTTPContentType? = nil, headers: [(String, String)] = [],
        body: StaticString
    ) -> Bool {
        respond(status, contentType: contentType, headers: headers,
                body: UnsafeRawBufferPointer(start: body.utf8Start, count: body.utf8CodeUnitCount))
    }

    @discardableResult
    public func respond(
        _ status: HTTPStatus = .ok, contentType: HTTPContentType? = nil, headers: [(String, String)] = [],
        body: String
    ) -> Bool {
        var text = body
        return text.withUTF8 { respond(status, contentType: contentType, headers: headers, body: UnsafeRawBufferPointer($0)) }
    }

    @discardableResult
    public func respond(
        _ status: HTTPStatus = .ok, contentType: HTTPContentType? = nil, headers: [(String, String)] = [],
        body: [UInt8]
    ) -> Bool {
        body.withUnsafeBytes { respond(status, contentType: contentType, headers: headers, body: $0) }
    }

    /// Sends a complete response whose body is shared bytes (sent by reference, never copied).
    @discardableResult
    public func respond(
        _ status: HTTPStatus = .ok, contentType: HTTPContentType? = nil, headers: [(String, String)] = [],
        body: SharedBytes
    ) -> Bool {
        exchange.respond(sequence, status: status, contentType: contentType, headers: headers, body: .shared(body))
    }

    /// Adds a header to whatever answer this request gets, whoever writes it (`respond`,
    /// `beginStream` or `upgrade`, now or later): for a layer that decides a header before the
    /// code that answers runs, as CORS does for Engine.IO's held polls. Ignored once the answer's
    /// head is written.
    public func addHeader(_ name: String, _ value: String) { exchange.addHeader(sequence, name, value) }

    // MARK: Switching protocols

    /// Answers `101 Switching Protocols` with `headers` and hands the connection, with any bytes
    /// the client sent after the request, to `handler` (which then gets `connectionDidOpen`).
    @discardableResult
    public func upgrade(headers: [(String, String)], to handler: any ConnectionHandler) -> Bool {
        exchange.upgrade(sequence, headers: headers, to: handler)
    }

    // MARK: Streaming

    /// Sends the head of a response whose body follows in pieces (`write`) until `end()`:
    /// chunked for HTTP/1.1 clients, or ended by closing the connection when `framing` is
    /// `.untilClose` (what event streams use, so each event's bytes can be shared verbatim by
    /// every subscriber) and for HTTP/1.0 clients.
    @discardableResult
    public func beginStream(
        _ status: HTTPStatus = .ok, contentType: HTTPContentType? = nil, headers: [(String, String)] = [],
        framing: HTTPStreamFraming = .chunked
    ) -> Bool {
        exchange.beginStream(sequence, status: status, contentType: contentType, headers: headers, framing: framing)
    }

    /// Writes a piece of a streamed body.
    @discardableResult
    public func write(_ bytes: UnsafeRawBufferPointer) -> Bool { exchange.writeStream(sequence, .bytes(bytes)) }

    @discardableResult
    public func write(_ bytes: SharedBytes) -> Bool { exchange.writeStream(sequence, .shared(bytes)) }

    @discardableResult
    public func write(_ text: String) -> Bool {
        var t = text
        return t.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    /// Ends a streamed body (the last chunk; or the close, for `.untilClose`).
    @discardableResult
    public func end() -> Bool { exchange.endStream(sequence) }

    /// Runs `body` with the connection's writability when its queue crosses a watermark while
    /// this response is streaming (false: slow down; true: drained).
    public func onWritabilityChange(_ body: @escaping (Bool) -> Void) { exchange.onWritabilityChange(sequence, body) }

    /// Runs `body` once when this response can no longer be sent: the connection closed, or the
    /// client went away while the response was pending. Not run after a normal completion.
    public func onAbandoned(_ body: @escaping () -> Void) { exchange.onAbandoned(sequence, body) }

    /// Runs `body` once if the loop starts a graceful shutdown while this response is pending and
    /// not streaming: a response the application holds for later (a long poll) should be answered
    /// in `body`, at once, rather than at its own timeout or when the drain deadline cuts it off.
    /// The connection closes after that answer. If the shutdown has already begun (the request
    /// came in while the loop drains), `body` runs before this returns. Not run after a normal
    /// completion or an abandonment.
    public func onShutdown(_ body: @escaping () -> Void) { exchange.onShutdown(sequence, body) }
}

/// How a streamed response body is delimited.
public enum HTTPStreamFraming: Sendable {
    /// `Transfer-Encoding: chunked` (HTTP/1.1); the connection stays usable after `end()`.
    case chunked
    /// No framing: the body ends when the connection closes.
    case untilClose
}

/// A response's `Content-Type`: a literal (`contentType: "text/plain"`), copied from the binary
/// with no String in between, or a String computed at run time
/// (`contentType: .string(mimeType(of: file))`).
///
/// A type of its own rather than `String` overloads beside `StaticString` ones: with both,
/// Swift picks the `String` form for a literal (its default literal type), and the plain path
/// would pay for a String it does not need.
public struct HTTPContentType: ExpressibleByStringLiteral, Sendable {
    enum Text: Sendable {
        case `static`(StaticString)
        case string(String)
    }

    let text: Text

    public init(stringLiteral value: StaticString) { text = .static(value) }

    /// A content type from a `StaticString`.
    public init(_ value: StaticString) { text = .static(value) }

    /// A content type computed at run time.
    public init(_ value: String) { text = .string(value) }

    /// A content type computed at run time: `contentType: .string(mime)`.
    public static func string(_ value: String) -> HTTPContentType { HTTPContentType(value) }
}

enum ResponseBody {
    case bytes(UnsafeRawBufferPointer)
    case shared(SharedBytes)

    var count: Int {
        switch self {
        case .bytes(let b): b.count
        case .shared(let s): s.count
        }
    }
}
