/// The server side's outbound rules for one exchange, as h11 keeps them in its machine: given the
/// request (method, version, keep-alive, Expect, body framing) and the response the application
/// chose (status, body length or a stream), it decides what goes on the wire and whether the
/// connection stays open. The glue (`HTTPServerConnection` in Connections) asks and does the I/O.
///
/// Rules (RFC 9110 6.4.1, 8.6, 9.3.2, 10.1.1, 15.4.5; RFC 9112 6.1, 6.3, 9.3):
///
/// | request / response            | body on the wire | framing header                         |
/// | :---------------------------- | :--------------- | :------------------------------------- |
/// | HEAD                          | none             | what the GET would carry (its length)  |
/// | 1xx, 204                      | none             | none (neither Content-Length nor TE)   |
/// | 304                           | none             | Content-Length only if a length given  |
/// | complete body                 | the bytes        | Content-Length                         |
/// | stream, HTTP/1.1              | chunks           | Transfer-Encoding: chunked             |
/// | stream, HTTP/1.0 or untilClose| bytes until close| none, and the connection closes        |
///
/// The connection stays open after the response unless: the request said so (`Connection: close`
/// on 1.1, no `keep-alive` on 1.0, or a 1.0 request with Transfer-Encoding), the response said so
/// (`closeAfterResponse()`: a `Connection: close` header from the application, a graceful
/// shutdown), the body is delimited by the close, the request's body was never read (an
/// `Expect: 100-continue` request answered with a final status: the client may or may not send
/// the body, so the next bytes cannot be trusted to start a request), or the server rejects the
/// request itself (`rejection(status:bodyLength:)`: 400, 408, 413, 414, 431, 501, 505 mean the head or its
/// framing cannot be trusted).
///
/// A value of a few bytes, made once per request from its head: inlinable, so the per-request
/// questions compile to a handful of comparisons in the server, with no allocation.
public struct HTTPResponseRules: Sendable {
    /// How the server answers `Expect: 100-continue` once it knows whether a route takes the body.
    public enum ContinueDecision: Hashable, Sendable {
        /// No `100-continue` was asked for (or there is no body): read on.
        case none
        /// Send `100 Continue`, then read the body.
        case sendContinue
        /// Answer the final status now without reading the body, then close.
        case answerNowAndClose
    }

    /// What to write for one response head and the body after it.
    public struct Plan: Hashable, Sendable {
        /// The framing header to write (`.none` writes neither Content-Length nor Transfer-Encoding).
        public let framing: HTTPResponseFraming
        /// Whether body bytes follow the head on the wire.
        public let sendsBody: Bool
        /// Whether the connection stays open after this response (also what the head's
        /// Connection field says).
        public let keepAlive: Bool
        /// Whether the body is delimited by closing the connection (streams to HTTP/1.0 clients
        /// and `.untilClose` streams).
        public let endsByClose: Bool

        @inlinable @inline(__always)
        init(framing: HTTPResponseFraming, sendsBody: Bool, keepAlive: Bool, endsByClose: Bool = false) {
            self.framing = framing
            self.sendsBody = sendsBody
            self.keepAlive = keepAlive
            self.endsByClose = endsByClose
        }
    }

    /// The request's version: HTTP/1.0 clients get no chunked coding.
    public let requestVersion: HTTPVersion
    @usableFromInline let isHead: Bool
    @usableFromInline let expectsContinue: Bool
    /// Whether the request has a body (Content-Length or chunked).
    public let hasBody: Bool
    @usableFromInline var keepAliveValue: Bool
    /// `keepAliveValue` as it was when a streamed request body began (`bodyStreamingStarted`).
    @usableFromInline var keepAliveAfterBody = false

    /// The rules for the request `head`. Not inlinable, unlike the rest: the head's flags are
    /// read here, inside this module, in one call, rather than through one cross-module call
    /// per fact from the server.
    public init(head: HTTPRequestHead) {
        self.init(method: head.method, version: head.version, keepAlive: head.keepAlive,
                  expectsContinue: head.expectsContinue, bodyFraming: head.bodyFraming)
    }

    /// The rules for a request with these facts (`keepAlive` as `HTTPRequestHead.keepAlive`
    /// computes it from the version and the Connection field).
    @inlinable @inline(__always)
    public init(method: HTTPMethod, version: HTTPVersion, keepAlive: Bool, expectsContinue: Bool,
                bodyFraming: HTTPRequestBodyFraming) {
        self.requestVersion = version
        self.isHead = method == .head
        self.expectsContinue = expectsContinue
        if case .none = bodyFraming { self.hasBody = false } else { self.hasBody = true }
        self.keepAliveValue = keepAlive
    }

    /// Whether the connection would stay open after a response sent now.
    @inlinable @inline(__always) public var keepAlive: Bool { keepAliveValue }

    /// The connection closes after this response: the server is shutting down, or the
    /// application asked for it (a `Connection: close` header of its own).
    @inlinable @inline(__always)
    public mutating func closeAfterResponse() {
        keepAliveValue = false
        keepAliveAfterBody = false
    }

    /// The handler reads the request's body as it arrives (a route that streams it), so the
    /// response may start before the body has ended. Until `bodyStreamingEnded()`, a response
    /// closes the connection after it: the rest of the body would not be read, and the next
    /// request's start could not be found.
    public mutating func bodyStreamingStarted() {
        keepAliveAfterBody = keepAliveValue
        keepAliveValue = false
    }

    /// The streamed body has been read to its end: the connection may stay open again, unless
    /// something asked it to close meanwhile.
    public mutating func bodyStreamingEnded() {
        keepAliveValue = keepAliveAfterBody
    }

    /// Whether a response with `status` may carry a body at all (never 1xx, 204, 304).
    @inlinable @inline(__always)
    public static func statusAllowsBody(_ status: HTTPStatus) -> Bool {
        status.code >= 200 && status.code != 204 && status.code != 304
    }

    /// What to do about `Expect: 100-continue` once the route is known: `routeAccepts` is false
    /// when the request will get a final answer without its body (404, 405, 413, 501...).
    @inlinable @inline(__always)
    public mutating func continueDecision(routeAccepts: Bool) -> ContinueDecision {
        guard expectsContinue && hasBody else { return .none }
        if routeAccepts { return .sendContinue }
        // The client may send the body anyway or hold it back; either way the next byte is not
        // known to start a request.
        keepAliveValue = false
        return .answerNowAndClose
    }

    /// A complete response: `status` with a body of `bodyLength` bytes (for HEAD, the length the
    /// GET's body would have; for 304, 0 if the application gave none).
    @inlinable @inline(__always)
    public func response(status: HTTPStatus, bodyLength: Int) -> Plan {
        guard Self.statusAllowsBody(status) else {
            // 304 may repeat the 200's Content-Length (RFC 9110 15.4.5); 1xx and 204 must not carry one.
            let framing: HTTPResponseFraming = status.code == 304 && bodyLength > 0 ? .contentLength(bodyLength) : .none
            return Plan(framing: framing, sendsBody: false, keepAlive: keepAliveValue)
        }
        return Plan(framing: .contentLength(bodyLength), sendsBody: !isHead && bodyLength > 0, keepAlive: keepAliveValue)
    }

    /// A response whose body follows in pieces. `untilClose` asks for a body ended by the close
    /// (event streams); an HTTP/1.0 client gets that in any case. Changes the rules: a stream ended
    /// by the close means the connection does not stay open.
    @inlinable @inline(__always)
    public mutating func stream(status: HTTPStatus, untilClose: Bool) -> Plan {
        guard Self.statusAllowsBody(status) else {
            return Plan(framing: .none, sendsBody: false, keepAlive: keepAliveValue)
        }
        if isHead {
            // No body follows; the head says what the GET's would be.
            let framing: HTTPResponseFraming = untilClose || requestVersion < .http1_1 ? .none : .chunked
            return Plan(framing: framing, sendsBody: false, keepAlive: keepAliveValue)
        }
        if untilClose || requestVersion < .http1_1 {
            keepAliveValue = false
            return Plan(framing: .none, sendsBody: true, keepAlive: false, endsByClose: true)
        }
        return Plan(framing: .chunked, sendsBody: true, keepAlive: keepAliveValue)
    }

    /// `101 Switching Protocols`: no body, no framing, and no Connection: close (the connection
    /// goes on, in the new protocol).
    @inlinable @inline(__always)
    public func upgrade() -> Plan {
        Plan(framing: .none, sendsBody: false, keepAlive: true)
    }

    /// The server's own answer to a request it rejects (a parser error, a body over a route's
    /// limit): the head or its framing cannot be trusted, so the body is sent whatever the method
    /// (there may be no parsed head to ask) and the connection closes.
    @inlinable @inline(__always)
    public static func rejection(status: HTTPStatus, bodyLength: Int) -> Plan {
        Plan(framing: .contentLength(bodyLength), sendsBody: bodyLength > 0, keepAlive: false)
    }
}
