import XCTest
@testable import Protocols

/// An owned copy of a request head, taken while the head is valid, so tests can compare heads
/// from different parses (one-shot and split) after their buffers are gone.
struct HeadSnapshot: Equatable, CustomStringConvertible {
    var method: HTTPMethod
    var methodName: String
    var target: String
    var path: String
    var query: String?
    var version: HTTPVersion
    var headers: [[String]]
    var framing: HTTPRequestBodyFraming
    var keepAlive: Bool
    var expectsContinue: Bool
    var upgradeRequested: Bool
    var hasHost: Bool
    var headLength: Int

    init(_ head: HTTPRequestHead) {
        method = head.method
        methodName = head.methodName.string
        target = head.target.string
        path = head.path.string
        query = head.query?.string
        version = head.version
        headers = head.headers.map { [$0.name.string, $0.value.string] }
        framing = head.bodyFraming
        keepAlive = head.keepAlive
        expectsContinue = head.expectsContinue
        upgradeRequested = head.upgradeRequested
        hasHost = head.hasHost
        headLength = head.headRange.count
    }

    var description: String { "\(methodName) \(target) \(version) \(headers) \(framing) keepAlive=\(keepAlive)" }
}

/// One parser event with everything copied out. Body pieces of one message are merged, since
/// how a body is cut into pieces depends on how the input arrived.
enum ParsedEvent: Equatable, CustomStringConvertible {
    case head(HeadSnapshot)
    case body([UInt8])
    case end
    case error(HTTPParserError)

    var description: String {
        switch self {
        case .head(let h): return "head(\(h))"
        case .body(let b): return "body(\(String(decoding: b, as: UTF8.self).debugDescription))"
        case .end: return "end"
        case .error(let e): return "error(\(e), \(e.status.code))"
        }
    }
}

/// The outcome of feeding a request stream to a parser.
struct ParseResult {
    var events: [ParsedEvent] = []
    /// Bytes left unconsumed at the end (an incomplete next request).
    var leftover: [UInt8] = []
    /// How many times the parser reported a body piece (before merging).
    var bodyPieces = 0

    var error: HTTPParserError? {
        if case .error(let e) = events.last { return e }
        return nil
    }

    var heads: [HeadSnapshot] {
        events.compactMap { if case .head(let h) = $0 { return h } else { return nil } }
    }

    var bodies: [[UInt8]] {
        events.compactMap { if case .body(let b) = $0 { return b } else { return nil } }
    }
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// Feeds `pieces` the way the reactor does: append each piece to the unconsumed tail, call
/// `next` until it needs more data, keep the tail. Checks the calling contract on every call
/// (consumed within bounds, body ranges inside the consumed part, errors sticky).
func feed(
    _ pieces: [[UInt8]], limits: HTTPParserLimits = .default,
    file: StaticString = #filePath, line: UInt = #line
) -> ParseResult {
    var parser = HTTPRequestParser(limits: limits)
    var result = ParseResult()
    var pending: [UInt8] = []
    for piece in pieces {
        pending += piece
        while true {
            var stop = false
            let consumed: Int = pending.withUnsafeBytes { input in
                let (event, consumed) = parser.next(input)
                XCTAssert(consumed >= 0 && consumed <= input.count, "consumed \(consumed) of \(input.count)", file: file, line: line)
                switch event {
                case .needMoreData:
                    stop = true
                case .head(let head):
                    XCTAssertEqual(head.headRange.upperBound, consumed, "head consumed", file: file, line: line)
                    result.events.append(.head(HeadSnapshot(head)))
                case .body(let range):
                    XCTAssert(!range.isEmpty && range.lowerBound >= 0 && range.upperBound <= consumed, "body range \(range) consumed \(consumed)", file: file, line: line)
                    result.bodyPieces += 1
                    let piece = Array(input[range])
                    if case .body(let before) = result.events.last {
                        result.events[result.events.count - 1] = .body(before + piece)
                    } else {
                        result.events.append(.body(piece))
                    }
                case .end:
                    result.events.append(.end)
                case .error(let e):
                    XCTAssertEqual(consumed, 0, file: file, line: line)
                    result.events.append(.error(e))
                    // Sticky: the same error on the next call, whatever the input.
                    let (again, n) = parser.next(input)
                    if case .error(let e2) = again { XCTAssertEqual(e2, e, file: file, line: line) } else { XCTFail("error not sticky", file: file, line: line) }
                    XCTAssertEqual(n, 0, file: file, line: line)
                    stop = true
                }
                return consumed
            }
            pending.removeFirst(consumed)
            if result.error != nil { result.leftover = pending; return result }
            if stop { break }
        }
    }
    result.leftover = pending
    return result
}

/// Parses `input` delivered in one piece.
func parse(_ input: String, limits: HTTPParserLimits = .default, file: StaticString = #filePath, line: UInt = #line) -> ParseResult {
    feed([bytes(input)], limits: limits, file: file, line: line)
}

func parse(_ input: [UInt8], limits: HTTPParserLimits = .default, file: StaticString = #filePath, line: UInt = #line) -> ParseResult {
    feed([input], limits: limits, file: file, line: line)
}

/// Asserts that `input` is rejected with `error`, and so with `error.status.code == status`.
func assertRejected(
    _ input: String, _ error: HTTPParserError, status: Int, limits: HTTPParserLimits = .default,
    file: StaticString = #filePath, line: UInt = #line
) {
    assertRejected(bytes(input), error, status: status, limits: limits, file: file, line: line)
}

func assertRejected(
    _ input: [UInt8], _ error: HTTPParserError, status: Int, limits: HTTPParserLimits = .default,
    file: StaticString = #filePath, line: UInt = #line
) {
    let r = parse(input, limits: limits, file: file, line: line)
    XCTAssertEqual(r.error, error, "events: \(r.events)", file: file, line: line)
    XCTAssertEqual(r.error?.status.code, status, file: file, line: line)
}
