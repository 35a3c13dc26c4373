/// Why the parser rejected a request, and the status the server answers before closing.
///
/// Each case is one rule, so a test (and a log line) names exactly what was wrong; `status` maps
/// it to the response. After an error the parser stays failed: the connection's framing can no
/// longer be trusted, so the glue answers `status` with `Connection: close` and closes.
public enum HTTPParserError: Error, Hashable, Sendable, CustomStringConvertible {
    // 400: syntax
    /// The request line is not `method SP target SP version` (e.g. a missing part, two spaces).
    case malformedRequestLine
    /// A method byte is not a token character.
    case invalidMethod
    /// The request target is empty or holds a control, space, non-ASCII byte or `#`.
    case invalidTarget
    /// The version is not `HTTP/<digit>.<digit>`.
    case malformedVersion
    /// A CR not followed by LF.
    case bareCR
    /// A LF not preceded by CR while `allowsBareLineFeed` is false.
    case bareLF
    /// A header (or trailer) line begins with whitespace: obsolete line folding (RFC 9112 5.2).
    case obsoleteLineFolding
    /// A header name is empty or has a byte that is not a token character, or the line has no colon.
    case invalidHeaderName
    /// Whitespace between a header name and its colon (RFC 9112 5.1: must be rejected).
    case whitespaceBeforeColon
    /// A header value holds a control byte other than HTAB.
    case invalidHeaderValue
    /// Content-Length is not a list of decimal digits.
    case invalidContentLength
    /// Several Content-Length values that differ.
    case conflictingContentLength
    /// Both Content-Length and Transfer-Encoding: a request-smuggling vector (RFC 9112 6.1).
    case contentLengthWithTransferEncoding
    /// Transfer-Encoding present but naming no coding, or naming chunked more than once.
    case invalidTransferEncoding
    /// Transfer-Encoding whose final coding is not chunked: the body's end cannot be found, so
    /// RFC 9112 6.3 requires 400 and close.
    case transferEncodingNotChunkedLast
    /// An HTTP/1.1 request without Host (RFC 9112 3.2).
    case missingHost
    /// More than one Host field (RFC 9112 3.2).
    case multipleHost
    /// A chunk-size line that is not `1*HEXDIG [BWS ; extensions]`, or one longer than
    /// `maxChunkLineLength`.
    case invalidChunkSize
    /// Chunk data not followed by CRLF.
    case invalidChunkTerminator
    // 413, 414, 431
    /// The body is larger than `maxBodyLength` (Content-Length up front, or the chunk sum).
    case bodyTooLarge
    /// The request line is longer than `maxRequestLineLength`.
    case requestLineTooLong
    /// The head (or the trailer section) is longer than `maxHeadLength`.
    case headTooLarge
    /// More header (or trailer) fields than `maxHeaderCount`.
    case tooManyHeaders
    // 501, 505
    /// A transfer coding we do not implement (e.g. gzip) before a final `chunked`.
    case unsupportedTransferEncoding
    /// A well-formed version other than HTTP/1.0 and HTTP/1.1.
    case unsupportedVersion

    /// The status the server answers with before it closes the connection.
    public var status: HTTPStatus {
        switch self {
        case .bodyTooLarge: return .contentTooLarge
        case .requestLineTooLong: return .uriTooLong
        case .headTooLarge, .tooManyHeaders: return .requestHeaderFieldsTooLarge
        case .unsupportedTransferEncoding: return .notImplemented
        case .unsupportedVersion: return .httpVersionNotSupported
        default: return .badRequest
        }
    }

    public var description: String {
        switch self {
        case .malformedRequestLine: return "malformed request line"
        case .invalidMethod: return "invalid method"
        case .invalidTarget: return "invalid request target"
        case .malformedVersion: return "malformed HTTP version"
        case .bareCR: return "CR not followed by LF"
        case .bareLF: return "LF not preceded by CR"
        case .obsoleteLineFolding: return "obsolete line folding"
        case .invalidHeaderName: return "invalid header name"
        case .whitespaceBeforeColon: return "whitespace between header name and colon"
        case .invalidHeaderValue: return "invalid header value"
        case .invalidContentLength: return "invalid Content-Length"
        case .conflictingContentLength: return "conflicting Content-Length values"
        case .contentLengthWithTransferEncoding: return "both Content-Length and Transfer-Encoding"
        case .invalidTransferEncoding: return "invalid Transfer-Encoding"
        case .transferEncodingNotChunkedLast: return "Transfer-Encoding does not end in chunked"
        case .missingHost: return "missing Host"
        case .multipleHost: return "more than one Host"
        case .invalidChunkSize: return "invalid chunk size line"
        case .invalidChunkTerminator: return "chunk data not followed by CRLF"
        case .bodyTooLarge: return "body too large"
        case .requestLineTooLong: return "request line too long"
        case .headTooLarge: return "request head too large"
        case .tooManyHeaders: return "too many header fields"
        case .unsupportedTransferEncoding: return "unsupported transfer coding"
        case .unsupportedVersion: return "unsupported HTTP version"
        }
    }
}
