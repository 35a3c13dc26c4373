import Protocols
import Reactor

/// Where a connection's current request lives while it may be read, and the check that stops an
/// `HTTPRequest` from reading past that time: one per connection (`HTTPServerConnection.request`),
/// allocated with it and reused by every request on it.
///
/// The danger it closes (issue 21): a request's head points into the loop's receive buffer,
/// which the next readable socket overwrites. A handler that captured the request in a timer used
/// to read another client's bytes there. Now an `HTTPRequest` is this store plus the generation
/// its request was given (it holds the connection, which owns the store), and every accessor
/// compares the two (one integer compare) before it reads through the store:
///
///     generation   2n ──begin──▶ 2n+1: live, readable ──────────────────end──▶ 2n+2 ──begin──▶ …
///     head              borrowed ──retain──▶ a copy in `retained`
///                       (the loop's receive buffer or the connection's tail: valid while the
///                       read callback runs)   (per-connection storage, reused by each request)
///     body              buffered here from the first byte (kept until `end`)
///
/// - `begin`: a head was parsed; it is borrowed, pointing into the bytes being read.
/// - `retain`: those bytes are about to be reused (the body goes on in a later read, or the
///   handler returned without completing its response): the head is copied into storage this
///   store allocates the first time and reuses after, and now points there. The plain path (the
///   answer sent inside the handler) never copies.
/// - `end`: the response is complete, the connection switched protocols, or it closed. The
///   generation moves on, so every `HTTPRequest` of that request is stale, whatever bytes now lie
///   where its head was.
///
/// A stale read is a defined failure, never someone else's bytes: a trap when
/// `HTTPServerConfiguration.trapsOnStaleRequest` (the default in debug builds), otherwise an
/// empty value and a rate-limited line in the server's `log` (`StaleRequestLog`). One stale
/// read is no mistake and gets the empty value quietly: the request whose connection closed
/// before its response (`abandon`). The client left while its answer was being prepared; a
/// deferred answer cannot know in advance, and its `respond` is ignored all the same.
///
/// Why at run time: a compile-time check needs a `~Escapable` request whose lifetime is the
/// handler call, and Swift 6.3.1 builds those only with the experimental `Lifetimes` feature
/// (checked: "a method cannot return a ~Escapable result" without it). It would also be the wrong
/// contract: a deferred answer may keep its request, and read it until it responds.
///
/// A handle to state behind a pointer, not a class with `var` properties: a class's `var` pays a
/// runtime exclusivity check on every access (DESIGN.md), and these run for every request; and
/// the connection's `let` handle costs one allocation per connection, not two. The connection
/// frees it (`release`) in its deinit; a request keeps the connection, so never sooner.
struct HTTPRequestStore {
    struct State {
        let server: HTTPServer
        var generation: UInt64 = 0
        /// The generation of a request whose connection closed before its response (0: none).
        var abandoned: UInt64 = 0
        var head: HTTPRequestHead
        var headIsBorrowed = false
        var retained = RetainedHead()
        var body: UnsafeMutableRawPointer?
        var bodyCount = 0
        var bodyCapacity = 0
        /// The pattern of the route that matched, and the ranges of the path its parameters
        /// captured: nil for a static route. Unretained: the router owns its patterns and
        /// outlives every connection of its server (each holds the server, which holds it).
        var routePattern: Unmanaged<HTTPRoutePattern>?
        var routeCaptures = HTTPRouteCaptures()
        /// The body as it arrives, for a route that streams its body (nil otherwise).
        var bodyStream: HTTPBodyStream?
    }

    private let state: UnsafeMutablePointer<State>
    private var server: HTTPServer { state.pointee.server }

    init(server: HTTPServer) {
        state = .allocate(capacity: 1)
        state.initialize(to: State(server: server, head: .empty(over: server.headerTable)))
    }

    /// Frees the storage: once, from the owning connection's deinit.
    func release() {
        state.pointee.retained.release()
        state.pointee.body?.deallocate()
        state.deinitialize(count: 1)
        state.deallocate()
    }

    // MARK: The connection's side

    /// The current request's generation: what an `HTTPRequest` made now is given.
    var generation: UInt64 { state.pointee.generation }

    /// The current head, unchecked: for the connection itself, between `begin` and `end`.
    var head: HTTPRequestHead { state.pointee.head }

    var bodyCount: Int { state.pointee.bodyCount }
    var retainedHeadCapacity: (bytes: Int, fields: Int) { state.pointee.retained.capacity }
    var bodyCapacity: Int { state.pointee.bodyCapacity }

    /// A new request: `head` is borrowed from the bytes being read.
    func begin(_ head: HTTPRequestHead) {
        end()
        state.pointee.generation &+= 1
        state.pointee.head = head
        state.pointee.headIsBorrowed = true
        state.pointee.bodyCount = 0
        state.pointee.routePattern = nil
        if state.pointee.bodyStream != nil { state.pointee.bodyStream = nil }
    }

    /// The current request's body arrives through `stream` (a route that streams its body).
    func setBodyStream(_ stream: HTTPBodyStream) {
        state.pointee.bodyStream = stream
    }

    /// The current request was routed by a pattern, which captured `captures` in its path.
    func setRoute(_ pattern: HTTPRoutePattern, _ captures: HTTPRouteCaptures) {
        state.pointee.routePattern = .passUnretained(pattern)
        state.pointee.routeCaptures = captures
    }

    /// Copies a borrowed head into this connection's own storage (allocated once, reused).
    func retainHead() {
        guard state.pointee.headIsBorrowed else { return }
        state.pointee.head = state.pointee.retained.retain(state.pointee.head)
        state.pointee.headIsBorrowed = false
    }

    /// Appends body bytes (the caller has checked them against the body limit).
    func appendBody(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        let needed = state.pointee.bodyCount + bytes.count
        if needed > state.pointee.bodyCapacity {
            // Doubling, as an Array grows: a body read in many small pieces copies O(n) in all.
            let capacity = max(needed, 2 * state.pointee.bodyCapacity)
            let grown = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
            if let old = state.pointee.body {
                grown.copyMemory(from: old, byteCount: state.pointee.bodyCount)
                old.deallocate()
            }
            state.pointee.body = grown
            state.pointee.bodyCapacity = capacity
        }
        (state.pointee.body! + state.pointee.bodyCount).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        state.pointee.bodyCount = needed
    }

    /// The request is over (answered, upgraded, or its connection closed): from now on its
    /// `HTTPRequest`s are stale. The body buffer is kept for the next request unless a large body
    /// grew it past `retainedBodyCapacity` (an idle keep-alive connection must not hold a 1 MiB
    /// upload's memory); so is the head's copy, unless a large head grew it (`RetainedHead.trim`).
    /// Idempotent.
    func end() {
        guard state.pointee.generation & 1 == 1 else { return }
        state.pointee.generation &+= 1
        state.pointee.bodyCount = 0
        if !state.pointee.headIsBorrowed { state.pointee.retained.trim() }
        if state.pointee.bodyCapacity > server.configuration.retainedBodyCapacity {
            state.pointee.body?.deallocate()
            state.pointee.body = nil
            state.pointee.bodyCapacity = 0
        }
    }

    /// The connection closed: a request still waiting for its response was abandoned by its
    /// client, and reads as empty without the trap or the log line of a stale read.
    func abandon() {
        if state.pointee.generation & 1 == 1 { state.pointee.abandoned = state.pointee.generation }
        end()
    }

    // MARK: The request's side

    /// Whether a request of `generation` may still be read.
    @inline(__always)
    func isCurrent(_ generation: UInt64) -> Bool { state.pointee.generation == generation }

    /// The head of the request of `generation`; `accessor` names what was read, for the log.
    @inline(__always)
    func head(_ generation: UInt64, _ accessor: StaticString) -> HTTPRequestHead {
        if _fastPath(state.pointee.generation == generation) { return state.pointee.head }
        staleRead(generation, accessor)
        return .empty(over: server.headerTable)
    }

    /// The body of the request of `generation`.
    @inline(__always)
    func body(_ generation: UInt64, _ accessor: StaticString) -> UnsafeRawBufferPointer {
        if _fastPath(state.pointee.generation == generation) {
            return UnsafeRawBufferPointer(start: state.pointee.body, count: state.pointee.bodyCount)
        }
        staleRead(generation, accessor)
        return UnsafeRawBufferPointer(start: nil, count: 0)
    }

    /// The route pattern and captures of the request of `generation` (nil: a static route, or
    /// a stale request).
    @inline(__always)
    func route(_ generation: UInt64, _ accessor: StaticString) -> (Unmanaged<HTTPRoutePattern>?, HTTPRouteCaptures) {
        if _fastPath(state.pointee.generation == generation) { return (state.pointee.routePattern, state.pointee.routeCaptures) }
        staleRead(generation, accessor)
        return (nil, HTTPRouteCaptures())
    }

    /// The streamed body of the request of `generation` (nil: the route buffers its body, or a
    /// stale request).
    func bodyStream(_ generation: UInt64) -> HTTPBodyStream? {
        if _fastPath(state.pointee.generation == generation) { return state.pointee.bodyStream }
        staleRead(generation, "bodyStream")
        return nil
    }

    @inline(never)
    private func staleRead(_ generation: UInt64, _ accessor: StaticString) {
        if generation == state.pointee.abandoned { return }
        if server.configuration.trapsOnStaleRequest {
            preconditionFailure("HTTPRequest.\(accessor) read after its response was complete: copy what a deferred "
                                + "answer needs (String(view), [UInt8](view)) before it responds")
        }
        server.staleRequestLog.note(accessor, server: server)
    }
}

/// The log of stale request reads: one line in the server's `log` at most every
/// `interval`, counting the reads since the previous line. A handler that reads its request
/// after answering does it on every request; the log must say so once, not once per request.
struct StaleRequestLog {
    static let interval: UInt64 = 10_000_000_000  // ns
    private var readsSinceLine = 0
    private var lineAt: UInt64?

    mutating func note(_ accessor: StaticString, server: HTTPServer) {
        readsSinceLine += 1
        let now = server.loop.now
        if let lineAt, now &- lineAt < Self.interval { return }
        lineAt = now
        let reads = readsSinceLine
        readsSinceLine = 0
        server.log("HTTPRequest.\(accessor) was read after its response was complete and got an empty value "
                   + "(\(reads) such read\(reads == 1 ? "" : "s") since the last line; at most one line every "
                   + "\(Self.interval / 1_000_000_000) s): copy what a deferred answer needs before it responds")
    }
}
