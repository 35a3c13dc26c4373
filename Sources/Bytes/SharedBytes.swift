/// An immutable, reference-counted block of bytes that many connections can send without copying.
///
/// A broadcast encodes its frame once into a `SharedBytes`; every outbound queue that must keep it
/// holds a reference and an offset. The bytes are written once, by the initializer, and never
/// change afterwards, which is what makes the type safe to hand to other threads (`Sendable`).
///
/// ```
///  SharedBytes (one heap object)
///  +-----------+------------------------------------------+
///  | header    | bytes[0 ..< count]  (tail-allocated)     |
///  +-----------+------------------------------------------+
///        ^ queue of connection A (offset 0)
///        ^ queue of connection B (offset 1200: partially written already)
/// ```
public final class SharedBytes: @unchecked Sendable {
    // A class with a tail allocation would save one pointer hop; a separately allocated buffer keeps
    // this simple and the hop is off the per-byte path.
    /// `package`: the loop hands it to `writev` without a closure per segment; nothing else may.
    @usableFromInline package let base: UnsafeMutableRawPointer
    public let count: Int

    /// Creates a block of `capacity` bytes and lets `initialize` fill a prefix of it, returning the
    /// number of bytes written. This is the only moment the bytes are mutable.
    public init(capacity: Int, initializingWith initialize: (UnsafeMutableRawBufferPointer) throws -> Int) rethrows {
        let storage = UnsafeMutableRawPointer.allocate(byteCount: max(capacity, 1), alignment: 16)
        let written: Int
        do {
            written = try initialize(UnsafeMutableRawBufferPointer(start: storage, count: capacity))
        } catch {
            storage.deallocate()
            throw error
        }
        precondition(written >= 0 && written <= capacity, "initializer reported \(written) of \(capacity) bytes")
        self.base = storage
        self.count = written
    }

    /// Copies `bytes` into a new block.
    public convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(capacity: bytes.count) { out in
            if let src = bytes.baseAddress, bytes.count > 0 { out.baseAddress!.copyMemory(from: src, byteCount: bytes.count) }
            return bytes.count
        }
    }

    public convenience init<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        let array = Array(bytes)
        self.init(capacity: array.count) { out in
            array.withUnsafeBytes { out.copyMemory(from: $0) }
            return array.count
        }
    }

    public convenience init(_ string: String) {
        var s = string
        let n = s.utf8.count
        self.init(capacity: n) { out in
            s.withUTF8 { out.copyMemory(from: UnsafeRawBufferPointer($0)) }
            return n
        }
    }

    deinit { base.deallocate() }

    /// Borrowed access; the pointer is valid for the duration of `body` only.
    @inlinable
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    /// A copy as an array, for tests and slow paths.
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }
}
