import Glibc
import Protocols

extension HTTPRouter {
    /// The exact-path routes, by a hash of the path bytes (`pathHash`), in an open-addressing table
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

        /// The table's hash of a path: its length, then its bytes eight at a time (the last word
        /// overlapping the one before; a shorter path in two overlapping halves, or three bytes),
        /// each folded in with a multiply, then MurmurHash3's 64-bit finaliser, so that the low
        /// bits the table's mask keeps depend on every byte. FNV-1a, a multiply per byte, cost 66
        /// instructions of every request for `/plaintext`. Only speed depends on its quality: a
        /// lookup compares the path itself wherever the hashes match.
        @inline(__always)
        static func pathHash(_ path: UnsafeRawBufferPointer) -> UInt64 {
            let odd: UInt64 = 0x9E37_79B9_7F4A_7C15  // 2^64 over the golden ratio
            let n = path.count
            var h = UInt64(truncatingIfNeeded: n) &* odd
            guard let base = path.baseAddress else { return h }
            @inline(__always) func word(_ at: Int) -> UInt64 { base.loadUnaligned(fromByteOffset: at, as: UInt64.self) }
            @inline(__always) func half(_ at: Int) -> UInt64 { UInt64(base.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
            @inline(__always) func byte(_ at: Int) -> UInt64 { UInt64(base.load(fromByteOffset: at, as: UInt8.self)) }
            if n >= 8 {
                var i = 0
                while i + 8 < n {
                    h = (h ^ word(i)) &* odd
                    i += 8
                }
                h = (h ^ word(n - 8)) &* odd
            } else if n >= 4 {
                h = (h ^ (half(0) | half(n - 4) &<< 32)) &* odd
            } else if n > 0 {
                h = (h ^ (byte(0) | byte(n / 2) &<< 8 | byte(n - 1) &<< 16)) &* odd
            }
            h ^= h &>> 33
            h = h &* 0xFF51_AFD7_ED55_8CCD
            return h ^ (h &>> 33)
        }

        /// The index of the route for `path` (the bytes as sent), or nil.
        @inline(__always)
        func find(_ path: UnsafeRawBufferPointer) -> Int? {
            find(path, hash: Self.pathHash(path))
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
            return withUnsafeMutablePointer(to: &routes[i].table) { MethodTable.match(at: $0, method) } ?? routes[i].table.unrouted(method)
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
            let hash = path.withUnsafeBytes { Self.pathHash($0) }
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
                insert(index, hash: routes[index].path.withUnsafeBytes { Self.pathHash($0) })
            }
        }
    }
}
