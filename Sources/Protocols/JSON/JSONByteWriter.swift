/// A growable byte buffer for the serializer's output and the parser's unescaped strings.
///
/// Why not `[UInt8]`: every `Array.append` checks uniqueness and capacity, and
/// `append(contentsOf:)` with a buffer pointer cost about 250 instructions a call on short runs
/// (measured with callgrind), more than escaping the run itself. Here a write is a capacity
/// compare and a store or a `memcpy`. The public API still speaks `[UInt8]` and `String`;
/// the bytes are handed over once, at the end.
///
/// Non-copyable, so the memory has exactly one owner and is freed by `deinit`.
struct JSONByteWriter: ~Copyable {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int = 256) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// The bytes written so far, valid until the next write.
    var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }

    mutating func removeAll() { count = 0 }

    /// Makes room for `extra` more bytes and returns where they go; the caller fills them and
    /// calls `commit(extra)`.
    @inline(__always)
    mutating func reserve(_ extra: Int) -> UnsafeMutablePointer<UInt8> {
        if capacity - count < extra { grow(to: count + extra) }
        return base + count
    }

    @inline(__always)
    mutating func commit(_ written: Int) {
        assert(count + written <= capacity)
        count += written
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        if count == capacity { grow(to: count + 1) }
        base[count] = byte
        count += 1
    }

    @inline(__always)
    mutating func append(_ source: UnsafePointer<UInt8>, count length: Int) {
        let destination = reserve(length)
        destination.update(from: source, count: length)
        count += length
    }

    @inline(__always)
    mutating func append(_ text: StaticString) {
        append(text.utf8Start, count: text.utf8CodeUnitCount)
    }

    private mutating func grow(to needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.initialize(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    /// The bytes as a new array of exactly their size.
    func makeArray() -> [UInt8] {
        guard count > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            buffer.baseAddress!.initialize(from: base, count: count)
            initialized = count
        }
    }

    /// The bytes as a String. They are valid UTF-8 by construction (checked input, escapes).
    func makeString() -> String {
        String(decoding: bytes, as: UTF8.self)
    }
}

/// The parser's stack of values whose container is still open (see `JSONParser`).
///
/// Manual memory rather than an `Array`, for one reason: closing a container *moves* its
/// values into their final array of exact size. An array cannot give up elements without
/// copying (retaining) them and then destroying (releasing) the originals; here the move is a
/// `memcpy` and the stack just forgets them. Non-copyable; `deinit` destroys whatever an
/// error left behind.
struct JSONPendingStack<Element>: ~Copyable {
    private var base: UnsafeMutablePointer<Element>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 4)
        base = .allocate(capacity: self.capacity)
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }

    @inline(__always)
    mutating func push(_ element: consuming Element) {
        if count == capacity { grow() }
        (base + count).initialize(to: element)
        count += 1
    }

    /// Moves the elements from `first` to the top into a new array, and pops them.
    mutating func popArray(from first: Int) -> [Element] {
        let n = count - first
        guard n > 0 else { return [] }
        let source = base + first
        count = first
        // Not Array(unsafeUninitializedCapacity:): its allocation goes through an unspecialized
        // library function that looks up the storage type's metadata on every call.
        var result: [Element] = []
        result.reserveCapacity(n)
        for k in 0..<n { result.append((source + k).move()) }
        return result
    }

    private mutating func grow() {
        let newCapacity = capacity * 2
        let newBase = UnsafeMutablePointer<Element>.allocate(capacity: newCapacity)
        newBase.moveInitialize(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }
}
