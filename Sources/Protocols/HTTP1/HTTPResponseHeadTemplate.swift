/// A response head encoded once and written again for every response like it: everything is fixed
/// but the `Date` value and the `Content-Length` digits, so writing one is two copies, the date and
/// the digits, instead of a field-by-field encoding with its checks (about a tenth of the
/// instructions, measured on the server's `GET /plaintext`). The last head written is kept whole:
/// the next one with the same date and length (every answer of a fixed-size body within the same
/// second) is a single copy of it.
///
/// Not thread-safe (it keeps that last head): one per event loop, as `HTTPResponseHeadCache` has it.
///
///     let t = HTTPResponseHeadTemplate(status: .ok, keepAlive: true, requestVersion: .http1_1) { w in
///         w.header("Content-Type", "text/plain")
///     }
///     let n = t?.write(contentLength: body.count, date: imfFixdate, into: buffer)
///
/// The bytes are exactly those of `HTTPResponseHeadEncoder.encode` with the same arguments and
/// `framing: .contentLength(n)` (the template is made by that encoder). Only heads that carry a
/// Content-Length can be templates: not 1xx or 204, which must not.
public final class HTTPResponseHeadTemplate {
    /// Status line, `Date: `, 29 bytes of date, `\r\nContent-Length: `.
    private let prefix: UnsafeMutableRawBufferPointer
    /// `\r\n`, the Connection field if any, the extra headers, the empty line.
    private let suffix: UnsafeMutableRawBufferPointer
    private let dateOffset: Int
    /// The last head written (room for the longest, `prefix`, 20 digits and `suffix`), and its
    /// length (0: none yet) and Content-Length; its date lies at `dateOffset`.
    private let last: UnsafeMutableRawPointer
    // Unchecked: a checked class `var` costs a run-time exclusivity check per access, and each
    // access here is a load or a store with no call inside.
    @exclusivity(unchecked) private var lastCount = 0
    @exclusivity(unchecked) private var lastLength = 0

    /// The longest head a template holds; a longer one is better encoded each time.
    public static let maxBytes = 1024

    /// Nil when the status carries no Content-Length, or the head is invalid or over `maxBytes`.
    public init?(status: HTTPStatus, keepAlive: Bool, requestVersion: HTTPVersion,
                 extraHeaders: (inout HTTPResponseHeadEncoder) -> Void = { _ in }) {
        guard status.code >= 200, status.code != 204 else { return nil }
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.maxBytes, alignment: 1)
        defer { scratch.deallocate() }
        let placeholderDate = HTTPResponseHeadTemplate.placeholderDate
        var w = HTTPResponseHeadEncoder(into: scratch, status: status)
        let statusLine = w.count
        placeholderDate.withUTF8Buffer { w.date(UnsafeRawBufferPointer($0)) }
        let lengthDigits = w.count + HTTPResponseHeadTemplate.contentLengthName.utf8CodeUnitCount
        w.framing(.contentLength(0))  // one digit, "0", which the template leaves out
        w.connection(keepAlive: keepAlive, requestVersion: requestVersion)
        extraHeaders(&w)
        guard let length = w.finish() else { return nil }
        prefix = .allocate(byteCount: lengthDigits, alignment: 1)
        prefix.copyMemory(from: UnsafeRawBufferPointer(rebasing: scratch[0..<lengthDigits]))
        suffix = .allocate(byteCount: length - lengthDigits - 1, alignment: 1)
        suffix.copyMemory(from: UnsafeRawBufferPointer(rebasing: scratch[(lengthDigits + 1)..<length]))
        dateOffset = statusLine + 6  // after "Date: "
        last = .allocate(byteCount: lengthDigits + 20 + suffix.count, alignment: 8)
    }

    deinit {
        prefix.deallocate()
        suffix.deallocate()
        last.deallocate()
    }

    /// Writes the head with `date` (the 29 bytes of an IMF-fixdate, `HTTPDateCache`) and
    /// `Content-Length: contentLength`. Returns its length, or nil when it does not fit.
    public func write(contentLength: Int, date: UnsafeRawBufferPointer, into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        precondition(contentLength >= 0, "negative Content-Length")
        precondition(date.count == 29, "an IMF-fixdate is 29 bytes")
        guard let base = buffer.baseAddress, prefix.count + 20 + suffix.count <= buffer.count else { return nil }
        if lastCount > 0 && contentLength == lastLength && Self.sameDate(last + dateOffset, date.baseAddress!) {
            base.copyMemory(from: last, byteCount: lastCount)
            return lastCount
        }
        base.copyMemory(from: prefix.baseAddress!, byteCount: prefix.count)
        (base + dateOffset).copyMemory(from: date.baseAddress!, byteCount: 29)
        let digitsEnd = writeDecimal(contentLength, into: buffer, at: prefix.count)!  // room checked above
        (base + digitsEnd).copyMemory(from: suffix.baseAddress!, byteCount: suffix.count)
        let count = digitsEnd + suffix.count
        last.copyMemory(from: base, byteCount: count)
        lastCount = count
        lastLength = contentLength
        return count
    }

    /// Whether the 29 bytes of two dates are equal: four word loads each, the last overlapping.
    private static func sameDate(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer) -> Bool {
        @inline(__always) func word(_ p: UnsafeRawPointer, _ at: Int) -> UInt64 { p.loadUnaligned(fromByteOffset: at, as: UInt64.self) }
        return word(a, 0) == word(b, 0) && word(a, 8) == word(b, 8) && word(a, 16) == word(b, 16) && word(a, 21) == word(b, 21)
    }

    private static let placeholderDate: StaticString = "Thu, 01 Jan 1970 00:00:00 GMT"
    private static let contentLengthName: StaticString = "Content-Length: "
}
