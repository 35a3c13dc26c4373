import Protocols
import Reactor

/// A response, as an async route returns it: status, content type, extra headers and the body,
/// either whole (owned bytes: a value that may cross an `await`) or streamed by a closure that
/// writes it piece by piece (`HTTPBodyWriter`), its writes suspending while the client is slow.
public struct HTTPResponse: Sendable {
    public var status: HTTPStatus
    public var contentType: HTTPContentType?
    public var headers: [(String, String)]
    public var body: Body

    public enum Body: Sendable {
        case bytes([UInt8])
        /// Text sent as its UTF-8 bytes: a literal or a short string costs no allocation.
        case text(String)
        /// Written by the closure, as a task on the loop, then ended; chunked for HTTP/1.1
        /// clients, or ended by closing the connection (`.untilClose`, and for HTTP/1.0).
        case stream(HTTPStreamFraming, @Sendable (HTTPBodyWriter) async throws -> Void)
    }

    public init(_ status: HTTPStatus = .ok, contentType: HTTPContentType? = nil, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.contentType = contentType
        self.headers = headers
        self.body = .bytes(body)
    }

    public init(_ status: HTTPStatus = .ok, contentType: HTTPContentType? = nil, headers: [(String, String)] = [], body: String) {
        self.status = status
        self.contentType = contentType
        self.headers = headers
        self.body = .text(body)
    }

    /// A streamed body: `write` runs once the head is sent, and the body ends when it returns.
    public init(_ status: HTTPStatus = .ok, contentType: HTTPContentType? = nil, headers: [(String, String)] = [],
                framing: HTTPStreamFraming = .chunked, stream write: @escaping @Sendable (HTTPBodyWriter) async throws -> Void) {
        self.status = status
        self.contentType = contentType
        self.headers = headers
        self.body = .stream(framing, write)
    }

    /// A Server-Sent Events stream: `text/event-stream`, uncached, `retry` (ms) for the browser's
    /// reconnection; `events` writes the events and the stream ends when it returns (or when the
    /// client leaves: its writes then throw, and its task is cancelled).
    public static func eventStream(retry: Int? = 2000, _ events: @escaping @Sendable (SSEEventWriter) async throws -> Void) -> HTTPResponse {
        HTTPResponse(.ok, contentType: "text/event-stream; charset=utf-8",
                     headers: [("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no")], framing: .untilClose) { body in
            if let retry { try await body.write("retry: \(retry)\n") }
            try await events(SSEEventWriter(body))
        }
    }
}
