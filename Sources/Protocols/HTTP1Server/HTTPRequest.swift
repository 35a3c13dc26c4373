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

/// A request head copied out of the receive buffer, for a request whose body spans several reads
/// (the head is consumed before the body arrives). The storage is reused from request to request,
/// so a connection allocates it once.
struct RetainedHead {
    private var bytes: UnsafeMutableRawPointer?
    private var byteCapacity = 0
    private var slots: UnsafeMutablePointer<HTTPHeaderTable.Slot>?
    private var slotCapacity = 0

    mutating func retain(_ head: HTTPRequestHead) -> HTTPRequestHead {
        let length = head.headRange.upperBound
        if length > byteCapacity {
            bytes?.deallocate()
            byteCapacity = max(length, 512)
            bytes = .allocate(byteCount: byteCapacity, alignment: 8)
        }
        if head.headerCount > slotCapacity {
            slots?.deallocate()
            slotCapacity = max(head.headerCount, 16)
            slots = .allocate(capacity: slotCapacity)
        }
        bytes!.copyMemory(from: head.base, byteCount: length)
        if head.headerCount > 0 { slots!.update(from: head.slots, count: head.headerCount) }
        return head.rebased(base: bytes!, slots: slots ?? UnsafeMutablePointer(mutating: head.slots))
    }

    func release() {
        bytes?.deallocate()
        slots?.deallocate()
    }
}

extension HTTPRequestHead {
    /// The same head over a copy of its bytes and header table.
    func rebased(base: UnsafeRawPointer, slots: UnsafePointer<HTTPHeaderTable.Slot>) -> HTTPRequestHead {
        HTTPRequestHead(
            base: base, slots: slots, headerCount: headerCount, method: method, version: version,
            methodRange: methodRange, targetRange: targetRange, pathRange: pathRange, queryRange: queryRange,
            headRange: headRange, bodyFraming: bodyFraming, keepAlive: keepAlive,
            expectsContinue: expectsContinue, upgradeRequested: upgradeRequested, hasHost: hasHost)
    }
}
