import Protocols

/// The loop's response heads for the responses a server gives over and over (`GET /plaintext`'s
/// `200 text/plain`): each kept as an `HTTPResponseHeadTemplate`, so its head costs two copies, the
/// date and the digits, instead of an encoding field by field.
///
/// Only a head with no header but `Server` and a static `Content-Type` is kept (anything else is
/// encoded each time), keyed by what decides its bytes: status, content type, whether the
/// connection stays open, and whether the request was HTTP/1.0. Keys come from the application's
/// code, never from a peer (a status and a `StaticString`), so a few entries serve a whole server;
/// past `capacity` the oldest is replaced.
final class HTTPResponseHeadCache {
    struct Key: Equatable {
        let status: Int
        let contentType: UnsafeRawPointer?
        let contentTypeCount: Int
        let keepAlive: Bool
        let http10: Bool
    }

    // One loop, and no call out while these are touched: nothing to check (DESIGN.md).
    @exclusivity(unchecked) private var keys: [Key] = []
    @exclusivity(unchecked) private var templates: [HTTPResponseHeadTemplate?] = []
    @exclusivity(unchecked) private var oldest = 0
    /// The entry the last lookup found.
    @exclusivity(unchecked) private var last = 0
    private let capacity = 16

    /// Writes this head from its template (made on first use) with `date` and `contentLength`,
    /// and returns its length; nil for a head it does not keep (or that cannot be a template: no
    /// Content-Length), or one that does not fit. The template never leaves the cache: no
    /// reference counting per response.
    func write(status: HTTPStatus, contentType: HTTPContentType?, keepAlive: Bool, requestVersion: HTTPVersion,
               contentLength: Int, date: UnsafeRawBufferPointer, into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        guard let i = index(status: status, contentType: contentType, keepAlive: keepAlive, requestVersion: requestVersion) else { return nil }
        return templates[i]?.write(contentLength: contentLength, date: date, into: buffer)
    }

    /// The entry for this head, made on first use; nil for a head it does not keep.
    private func index(status: HTTPStatus, contentType: HTTPContentType?, keepAlive: Bool, requestVersion: HTTPVersion) -> Int? {
        let typeText: StaticString?
        switch contentType?.text {
        case nil: typeText = nil
        case .static(let text)?: typeText = text
        case .string?: return nil
        }
        let key = Key(status: status.code, contentType: typeText.map { UnsafeRawPointer($0.utf8Start) },
                      contentTypeCount: typeText?.utf8CodeUnitCount ?? 0, keepAlive: keepAlive, http10: requestVersion < .http1_1)
        if last < keys.count && keys[last] == key { return last }  // the usual case: as before
        if let i = keys.firstIndex(of: key) {
            last = i
            return i
        }
        let made = HTTPResponseHeadTemplate(status: status, keepAlive: keepAlive, requestVersion: requestVersion) { w in
            HTTPResponseHeadCache.writeFixedHeaders(contentType: contentType, into: &w)
        }
        if keys.count < capacity {
            keys.append(key)
            templates.append(made)
            last = keys.count - 1
        } else {
            keys[oldest] = key
            templates[oldest] = made
            last = oldest
            oldest = (oldest + 1) % capacity
        }
        return last
    }

    /// The fields every head of the server carries after the framing and Connection fields: the
    /// one place they are written, for templates and for heads encoded each time alike.
    @inline(__always)
    static func writeFixedHeaders(contentType: HTTPContentType?, into w: inout HTTPResponseHeadEncoder) {
        w.header("Server", "Reactor" as StaticString)
        switch contentType?.text {
        case .static(let text)?: w.header("Content-Type", text)
        case .string(let text)?: w.header("Content-Type", text)
        case nil: break
        }
    }
}
