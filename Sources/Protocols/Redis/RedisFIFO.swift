/// A first-in first-out queue over an array with a moving head: O(1) amortized push and pop, and
/// in-order iteration. The dead prefix is dropped once it is most of the storage.
package struct RedisFIFO<Element> {
    private var storage: [Element] = []
    private var head = 0

    package init() {}

    package var count: Int { storage.count - head }
    package var isEmpty: Bool { head == storage.count }
    package var first: Element? { isEmpty ? nil : storage[head] }

    package mutating func append(_ e: Element) { storage.append(e) }

    package mutating func popFirst() -> Element? {
        guard head < storage.count else { return nil }
        let e = storage[head]
        head += 1
        if head == storage.count {
            storage.removeAll(keepingCapacity: storage.count <= 1024)
            head = 0
        } else if head >= 64 && head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return e
    }

    /// Changes the first element in place.
    package mutating func updateFirst(_ body: (inout Element) -> Void) {
        precondition(!isEmpty)
        body(&storage[head])
    }

    /// The element `offset` places from the oldest.
    package subscript(offset: Int) -> Element {
        get { storage[head + offset] }
        set { storage[head + offset] = newValue }
    }

    /// Removes and returns everything, oldest first.
    package mutating func removeAll() -> ArraySlice<Element> {
        let rest = storage[head...]
        storage = []
        head = 0
        return rest
    }

    package var elements: ArraySlice<Element> { storage[head...] }
}
