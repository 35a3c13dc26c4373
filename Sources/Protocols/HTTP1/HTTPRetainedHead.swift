/// A request head copied out of the receive buffer: for a request whose body spans several reads
/// (the head is consumed before the body arrives), and for one whose handler returned without
/// answering (its bytes are reused when the read callback returns). The storage is reused from
/// request to request, so a connection allocates it once; `trim` gives back what a large head grew.
package struct RetainedHead {
    /// What the first copy allocates, and the most kept between requests (`trim`): a typical
    /// browser head fits, and an idle connection holds no more than 768 bytes of it.
    package static let keptBytes = 512
    package static let keptFields = 16

    private var bytes: UnsafeMutableRawPointer?
    private var byteCapacity = 0
    private var slots: UnsafeMutablePointer<HTTPHeaderTable.Slot>?
    private var slotCapacity = 0

    package init() {}

    package mutating func retain(_ head: HTTPRequestHead) -> HTTPRequestHead {
        let length = head.headRange.upperBound
        if length > byteCapacity {
            bytes?.deallocate()
            byteCapacity = max(length, Self.keptBytes)
            bytes = .allocate(byteCount: byteCapacity, alignment: 8)
        }
        if head.headerCount > slotCapacity {
            slots?.deallocate()
            slotCapacity = max(head.headerCount, Self.keptFields)
            slots = .allocate(capacity: slotCapacity)
        }
        bytes!.copyMemory(from: head.base, byteCount: length)
        if head.headerCount > 0 { slots!.update(from: head.slots, count: head.headerCount) }
        return head.rebased(base: bytes!, slots: slots ?? UnsafeMutablePointer(mutating: head.slots))
    }

    /// Frees storage a large head grew past `keptBytes`/`keptFields`, once no head points into it:
    /// a client that sent one 16 KiB head to a deferred route does not leave its idle connection
    /// holding 16 KiB.
    package mutating func trim() {
        if byteCapacity > Self.keptBytes {
            bytes?.deallocate()
            bytes = nil
            byteCapacity = 0
        }
        if slotCapacity > Self.keptFields {
            slots?.deallocate()
            slots = nil
            slotCapacity = 0
        }
    }

    /// The bytes held, for tests and accounting.
    package var capacity: (bytes: Int, fields: Int) { (byteCapacity, slotCapacity) }

    package func release() {
        bytes?.deallocate()
        slots?.deallocate()
    }
}

extension HTTPRequestHead {
    /// The same head over a copy of its bytes and header table: every offset stays as it is,
    /// only the two pointers change (rebuilt through the init, it re-checked every offset).
    func rebased(base: UnsafeRawPointer, slots: UnsafePointer<HTTPHeaderTable.Slot>) -> HTTPRequestHead {
        var head = self
        head.base = base
        head.slots = slots
        return head
    }
}

extension HTTPRequestHead {
    /// A head with no bytes at all: empty method name, target and path, no query, no fields,
    /// `.other` as its method. What the glue hands out in place of a head that may no longer be
    /// read (a stale request), so the caller gets a defined empty value rather than whatever
    /// bytes now lie where the head was. Every range is empty, so no byte is ever read through
    /// it; `table` only supplies valid, aligned addresses for its two pointers.
    package static func empty(over table: HTTPHeaderTable) -> HTTPRequestHead {
        HTTPRequestHead(
            base: UnsafeRawPointer(table.slots), slots: table.slots, headerCount: 0, method: .other,
            version: .http1_1, methodRange: 0..<0, targetRange: 0..<0, pathRange: 0..<0, queryRange: nil,
            headRange: 0..<0, bodyFraming: .none, keepAlive: false, expectsContinue: false,
            upgradeRequested: false, hasHost: false)
    }
}
