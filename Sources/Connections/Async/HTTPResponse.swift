import Protocols
import Reactor

/// A complete response, as an async route returns it: status, content type, extra headers and
/// the body (owned bytes: a value that may cross an `await`).
public struct HTTPResponse: Sendable {
    public var status: HTTPStatus
    public var contentType: HTTPContentType?
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(_ status: HTTPStatus = .ok, contentType: HTTPContentType? = nil, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.contentType = contentType
        self.headers = headers
        self.body = body
    }

    public init(_ status: HTTPStatus = .ok, contentType: HTTPContentType? = nil, headers: [(String, String)] = [], body: String) {
        self.init(status, contentType: contentType, headers: headers, body: Array(body.utf8))
    }
}
