import Protocols

/// Each loop's hub, for relays that span loops. Element i is written (at registration) and read
/// only on loop i; loops register concurrently, so the storage is raw memory in which each loop
/// touches only its own element, never an Array that every write would mutate as a whole.
final class LoopHubs: @unchecked Sendable {
    private let storage: UnsafeMutablePointer<PubSub?>
    let count: Int

    init(count: Int) {
        self.count = count
        storage = .allocate(capacity: count)
        storage.initialize(repeating: nil, count: count)
    }

    deinit {
        storage.deinitialize(count: count)
        storage.deallocate()
    }

    /// On loop `index` only.
    subscript(index: Int) -> PubSub? {
        get { storage[index] }
        set { storage[index] = newValue }
    }
}
