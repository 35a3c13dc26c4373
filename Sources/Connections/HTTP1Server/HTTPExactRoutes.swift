import Glibc
import Protocols

extension HTTPRouter {
    /// The exact-path routes, by the FNV-1a hash of the path bytes, in an open-addressing table
    /// of our own: the lookup hashes the borrowed path once (no String, no second hash as a
    /// `Dictionary` would compute with its seeded SipHash, no array per bucket), then probes a
    /// few slots. This is the plain path's lookup (`GET /plaintext`).
    ///
    /// Storage is two blocks the router owns (`release()` in its deinit), reached through
    /// pointers: reading the table out of the router's property then copies a few words and
    /// counts no reference, where arrays would be retained and released on every request.
    ///
    ///     slots:  [hash | route index + 1] x capacity (power of two, at most half full; 0: empty)
    ///     routes: [PathRoute] x count, in registration order
    struct ExactRoutes {
        struct Slot {
            var hash: UInt64
            var route: Int  // index in `routes` plus one; 0: empty
        }

        private var slots: UnsafeMutablePointer<Slot>
        private var slotCount: Int
        private var routes: UnsafeMutablePointer<PathRoute>
        private var routeCapacity: Int
        private(set) var count = 0

        init() {
            slotCount = 16
            slots = .allocate(capacity: slotCount)
            slots.initialize(repeating: Slot(hash: 0, route: 0), count: slotCount)
            routeCapacity = 8
            routes = .allocate(capacity: routeCapacity)
        }

        /// Frees the storage; the router calls it once, from its deinit.
        func release() {
            routes.deinitialize(count: count)
            routes.deallocate()
            slots.deallocate()
        }

        /// The index of the route for `path` (the bytes as sent), or nil.
        @inline(__always)
        func find(_ path: UnsafeRawBufferPointer) -> Int? {
            find(path, hash: FNV1a.hash(path))
        }

        @inline(__always)
        private func find(_ path: UnsafeRawBufferPointer, hash: UInt64) -> Int? {
            let mask = slotCount - 1
            var i = Int(truncatingIfNeeded: hash) & mask
            while true {
                let slot = slots[i]
                if slot.route == 0 { return nil }
                if slot.hash == hash {
                    let same = routes[slot.route - 1].path.withUnsafeBytes { stored in
                        stored.count == path.count && (path.count == 0 || memcmp(stored.baseAddress!, path.baseAddress!, path.count) == 0)
                    }
                    if same { return slot.route - 1 }
                }
                i = (i + 1) & mask
            }
        }

        /// The answer for `method` on `path`, or nil when no exact route has that path. Decided
        /// on the route in place: taking it out would copy it and count references to its arrays.
        @inline(__always)
        func match(_ path: UnsafeRawBufferPointer, _ method: HTTPMethod) -> Match? {
            guard let i = find(path) else { return nil }
            return routes[i].table.match(method) ?? routes[i].table.unrouted(method)
        }

        /// The route at `index` (registration only: it copies).
        subscript(index: Int) -> PathRoute {
            get {
                precondition(index >= 0 && index < count)
                return routes[index]
            }
            nonmutating set {
                precondition(index >= 0 && index < count)
                routes[index] = newValue
            }
        }

        /// The index of `path`'s route, added (empty) if absent.
        mutating func index(of path: [UInt8]) -> Int {
            let hash = path.withUnsafeBytes { FNV1a.hash($0) }
            if let i = path.withUnsafeBytes({ find($0, hash: hash) }) { return i }
            if count == routeCapacity {
                let grown = UnsafeMutablePointer<PathRoute>.allocate(capacity: routeCapacity * 2)
                grown.moveInitialize(from: routes, count: count)
                routes.deallocate()
                routes = grown
                routeCapacity *= 2
            }
            (routes + count).initialize(to: PathRoute(path: path))
            count += 1
            if count * 2 > slotCount {
                rebuild(slotCount: slotCount * 2)
            } else {
                insert(count - 1, hash: hash)
            }
            return count - 1
        }

        private func insert(_ index: Int, hash: UInt64) {
            let mask = slotCount - 1
            var i = Int(truncatingIfNeeded: hash) & mask
            while slots[i].route != 0 { i = (i + 1) & mask }
            slots[i] = Slot(hash: hash, route: index + 1)
        }

        private mutating func rebuild(slotCount newCount: Int) {
            slots.deallocate()
            slotCount = newCount
            slots = .allocate(capacity: slotCount)
            slots.initialize(repeating: Slot(hash: 0, route: 0), count: slotCount)
            for index in 0..<count {
                insert(index, hash: routes[index].path.withUnsafeBytes { FNV1a.hash($0) })
            }
        }
    }
}
