/// The fixed-capacity table where the parser records each header field of the head it is
/// parsing, as offsets into the input. It is the parser's only allocation.
///
/// Layout: `capacity` slots of four Int32 offsets (16 bytes), relative to the start of the buffer
/// passed to `next(_:)`:
///
///     input: G E T ␠ / ␠ ... \r \n H o s t : ␠ e x . c o m \r \n ...
///                                  ^nameStart ^nameEnd ^valueStart ^valueEnd
///
/// Sharing: a head's fields are read only until the next call to `next(_:)`, so every parser
/// on one event loop may share one table (`HTTPRequestParser(limits:headerTable:)`): an idle
/// connection then holds no table at all. Sharing across threads is not allowed, which is why
/// the class is not Sendable.
public final class HTTPHeaderTable {
    struct Slot {
        var nameStart: Int32
        var nameEnd: Int32
        var valueStart: Int32
        var valueEnd: Int32
    }

    /// Number of fields the table can hold; a parser needs at least its `maxHeaderCount`.
    public let capacity: Int
    // A `let` pointer rather than a `var` array: writing through it needs no exclusivity check
    // and no uniqueness check, which on a class property would be paid per header.
    let slots: UnsafeMutablePointer<Slot>

    /// Allocates room for `capacity` fields (16 bytes each).
    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        self.slots = .allocate(capacity: capacity)
    }

    deinit {
        slots.deallocate()
    }
}

@available(*, unavailable)
extension HTTPHeaderTable: Sendable {}
