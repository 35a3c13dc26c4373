import Glibc
import Protocols

extension HTTPRouter {
    /// The exact-path routes, by the FNV-1a hash of the path bytes, in an open-addressing table
    /// of our own: the lookup hashes the borrowed path once (no String, no second hash as a
    /// `Dictionary` would compute with its seeded SipHash, no array per bucket to count
    /// references to), then probes a few slots. This is the plain path's lookup (`GET /plaintext`).
    struct ExactRoutes {
        private(set) var routes: [PathRoute] = []
        /// Per slot: the index in `routes` plus one (0: empty). Capacity a power of two, at most
        /// half full, so a probe ends at an empty slot within a few steps.
        private var slots: [Int32] = Array(repeating: 0, count: 16)
        private var hashes: [UInt64] = Array(repeating: 0, count: 16)

        /// The index of the route for `path` (the bytes as sent), or nil. Inlined, so the lookup
        /// reads the router's table in place instead of copying it (three references counted).
        @inline(__always)
        func find(_ path: UnsafeRawBufferPointer) -> Int? {
            find(path, hash: FNV1a.hash(path))
        }

        @inline(__always)
        private func find(_ path: UnsafeRawBufferPointer, hash: UInt64) -> Int? {
            let mask = slots.count - 1
            var i = Int(truncatingIfNeeded: hash) & mask
            while true {
                let slot = Int(slots[i])
                if slot == 0 { return nil }
                if hashes[i] == hash {
                    let same = routes[slot - 1].path.withUnsafeBytes { stored in
                        stored.count == path.count && (path.count == 0 || memcmp(stored.baseAddress!, path.baseAddress!, path.count) == 0)
                    }
                    if same { return slot - 1 }
                }
                i = (i + 1) & mask
            }
        }

        /// The answer for `method` on `path`, or nil when no exact route has that path. Decided
        /// here, on the routes in place: taking a route out (`self[i]`) would copy it and count
        /// references to each of its arrays.
        @inline(__always)
        func match(_ path: UnsafeRawBufferPointer, _ method: HTTPMethod) -> Match? {
            guard let i = find(path) else { return nil }
            return routes[i].table.match(method) ?? routes[i].table.unrouted(method)
        }

        subscript(index: Int) -> PathRoute {
            get { routes[index] }
            set { routes[index] = newValue }
        }

        /// The index of `path`'s route, added (empty) if absent.
        mutating func index(of path: [UInt8]) -> Int {
            let hash = path.withUnsafeBytes { FNV1a.hash($0) }
            if let i = path.withUnsafeBytes({ find($0, hash: hash) }) { return i }
            routes.append(PathRoute(path: path))
            if routes.count * 2 > slots.count {
                rebuild(capacity: slots.count * 2)
            } else {
                insert(routes.count - 1, hash: hash)
            }
            return routes.count - 1
        }

        private mutating func insert(_ index: Int, hash: UInt64) {
            let mask = slots.count - 1
            var i = Int(truncatingIfNeeded: hash) & mask
            while slots[i] != 0 { i = (i + 1) & mask }
            slots[i] = Int32(index + 1)
            hashes[i] = hash
        }

        private mutating func rebuild(capacity: Int) {
            slots = Array(repeating: 0, count: capacity)
            hashes = Array(repeating: 0, count: capacity)
            for (index, route) in routes.enumerated() {
                insert(index, hash: route.path.withUnsafeBytes { FNV1a.hash($0) })
            }
        }
    }
}
