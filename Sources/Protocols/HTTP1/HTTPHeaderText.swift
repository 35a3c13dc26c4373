/// Text the response encoder can copy straight from where it lives: a `StaticString` from the
/// binary, a `String`'s own UTF-8 storage, a borrowed `HTTPByteView`, or an `Int` formatted on
/// the stack. One generic `header(_:_:)` takes any pair, with no intermediate String.
public protocol HTTPHeaderText {
    /// Calls `body` with the UTF-8 bytes of this text, valid for the call only.
    func withHeaderBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R
}

extension StaticString: HTTPHeaderText {
    @inlinable
    public func withHeaderBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        precondition(hasPointerRepresentation, "header text must be a string, not a single scalar")
        return body(UnsafeRawBufferPointer(start: utf8Start, count: utf8CodeUnitCount))
    }
}

extension String: HTTPHeaderText {
    @inlinable
    public func withHeaderBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUTF8Bytes(of: self) { body(UnsafeRawBufferPointer($0)) }
    }
}

extension Substring: HTTPHeaderText {
    @inlinable
    public func withHeaderBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        if let r = utf8.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) { return r }
        return String(self).withHeaderBytes(body)
    }
}

extension HTTPByteView: HTTPHeaderText {
    @inlinable
    public func withHeaderBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R { body(bytes) }
}

extension Int: HTTPHeaderText {
    /// Decimal digits, formatted into stack memory.
    @inlinable
    public func withHeaderBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeTemporaryAllocation(byteCount: 20, alignment: 1) { scratch in
            let n = writeDecimal(self, into: scratch, at: 0)!  // any Int fits 20 bytes (sign + 19 digits)
            return body(UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
        }
    }
}

/// Writes `value` in decimal at `offset`; returns the new offset, or nil when it does not fit.
@usableFromInline
func writeDecimal(_ value: Int, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int? {
    var digits = 1
    var rest = value.magnitude
    while rest >= 10 { rest /= 10; digits += 1 }
    let sign = value < 0 ? 1 : 0
    guard offset + sign + digits <= buffer.count else { return nil }
    if sign == 1 { buffer[offset] = 0x2D }
    var v = value.magnitude
    var i = offset + sign + digits
    repeat {
        i -= 1
        buffer[i] = UInt8(0x30 + v % 10)
        v /= 10
    } while v > 0
    return offset + sign + digits
}
