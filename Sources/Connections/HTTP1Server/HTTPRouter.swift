import Glibc
import Protocols

/// Handles one request: respond through the responder, at once or later.
public typealias HTTPHandler = (HTTPRequest, HTTPResponder) -> Void

/// What one route may override of the server's `HTTPServerConfiguration`.
public struct HTTPRouteOptions: Sendable {
    /// The largest request body this route accepts, instead of `limits.maxBodyLength`; checked
    /// when the head arrives (a Content-Length over it is answered 413 before any body byte is
    /// read) and as chunks add up. Larger or smaller than the server's. Register such a route
    /// before the server accepts connections: a connection sizes its parser's bound (the largest
    /// limit of any route) when it opens.
    public var maxBodyBytes: Int?
    /// How long this route's request body may take to arrive, from its head, instead of
    /// `idleTimeout` (408 after it).
    public var timeout: Duration?
    /// The handler runs when the head arrives and reads the body as it comes
    /// (`HTTPRequest.bodyStream`), instead of after the whole body was buffered.
    public var streamsBody: Bool

    public init(maxBodyBytes: Int? = nil, timeout: Duration? = nil, streamsBody: Bool = false) {
        precondition(maxBodyBytes.map { $0 >= 0 } ?? true, "maxBodyBytes must not be negative")
        self.maxBodyBytes = maxBodyBytes
        self.timeout = timeout
        self.streamsBody = streamsBody
    }
}

/// Routes requests by method and path, looked up without allocating.
///
/// Paths: exact paths (`/plaintext`), patterns (`/users/:id`, `/files/*`, see `HTTPRoutePattern`)
/// and prefixes (`onPrefix`). Lookup order: the exact path (one hash lookup, so static routes
/// cost what they always did), then patterns from the most specific (a literal segment before a
/// parameter before `*`), then the longest matching prefix. The first path that matches decides:
/// with another method it answers 405 with `Allow`. No match at all answers 404. HEAD falls back
/// to the GET route (the server drops the body), and OPTIONS without a route answers 204 with
/// `Allow`. Paths are matched as sent, before percent-decoding.
///
/// Registration refuses what it cannot route, loudly: `register` throws an
/// `HTTPRoutePatternError` (a pattern it cannot parse, or a method already routed on a path of
/// the same shape); the short forms (`get`, `post`, `on`, `group`...) stop the program with that
/// error's message, as a programming error found at start-up.
///
///     router.get("/users/:id") { req, res in
///         res.respond(contentType: "text/plain", body: "user \(req.parameters.decoded("id")!)")
///     }
///     router.group("/api") { api in
///         api.post("/upload", maxBodyBytes: 16 << 20, timeout: .seconds(30)) { req, res in ... }
///     }
public final class HTTPRouter: HTTPRouteRegistering {
    /// A method and its handler. A struct, not a tuple: a closure kept in an array of tuples is
    /// stored in its most general form, and taking it out allocated a thunk every request.
    struct MethodHandler {
        let method: HTTPMethod
        let handler: HTTPHandler
    }

    /// What a route adds to its handler: its overrides and its pattern. Made once at
    /// registration and owned by the router (`ownedExtras`, released in its deinit), so tables, a
    /// `Match` and a connection between head and dispatch hold it unretained: no reference count
    /// on the request path. Every holder lives shorter than the router (a connection holds its
    /// server, which holds the router).
    final class RouteExtras {
        /// -1: the server's body limit.
        let maxBodyBytes: Int
        let timeout: Duration?
        /// Set for a pattern route: the request names its parameters through it.
        let pattern: HTTPRoutePattern?
        let streamsBody: Bool

        init(maxBodyBytes: Int, timeout: Duration?, pattern: HTTPRoutePattern?, streamsBody: Bool) {
            self.maxBodyBytes = maxBodyBytes
            self.timeout = timeout
            self.pattern = pattern
            self.streamsBody = streamsBody
        }


    }

    /// The routes of one path. `extras` runs beside `handlers` only once a route of this path has
    /// a pattern or overrides: the plain path's lookup is then the same loop over the same array
    /// it always was, with no extra reference to count.
    struct MethodTable {
        var handlers: [MethodHandler] = []
        var extras: [Unmanaged<RouteExtras>?] = []
        var anyMethod: HTTPHandler?

        func has(_ method: HTTPMethod) -> Bool { handlers.contains { $0.method == method } }

        mutating func add(_ method: HTTPMethod, _ handler: @escaping HTTPHandler, _ routeExtras: Unmanaged<RouteExtras>?) {
            if routeExtras != nil && extras.isEmpty { extras = Array(repeating: nil, count: handlers.count) }
            handlers.append(MethodHandler(method: method, handler: handler))
            if routeExtras != nil || !extras.isEmpty { extras.append(routeExtras) }
        }

        func match(_ method: HTTPMethod) -> Match? {
            withUnsafePointer(to: self) { Self.match(at: $0, method) }
        }

        /// `match` of the table at `table`, read where it lies. The exact table keeps its routes
        /// behind a pointer, and a method called on a table read through one ran on a copy: a
        /// retain and a release of both arrays and of the closure, on every request.
        static func match(at table: UnsafePointer<MethodTable>, _ method: HTTPMethod) -> Match? {
            @inline(__always) func find(_ wanted: HTTPMethod) -> Match? {
                for k in 0..<table.pointee.handlers.count where table.pointee.handlers[k].method == wanted {
                    return .route(table.pointee.handlers[k].handler, table.pointee.extras.isEmpty ? nil : table.pointee.extras[k])
                }
                return nil
            }
            if let found = find(method) { return found }
            if method == .head, let found = find(.get) { return found }
            return table.pointee.anyMethod.map { .route($0, nil) }
        }

        /// The answer when this path has no route for `method`: 204 with Allow for OPTIONS, else 405.
        func unrouted(_ method: HTTPMethod) -> Match {
            method == .options ? .options(allow: allowHeader) : .methodNotAllowed(allow: allowHeader)
        }

        var allowHeader: String {
            if anyMethod != nil { return "GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH" }
            var names = handlers.map { $0.method.description }
            if names.contains("GET") && !names.contains("HEAD") { names.append("HEAD") }
            if !names.contains("OPTIONS") { names.append("OPTIONS") }
            return names.joined(separator: ", ")
        }
    }

    struct PathRoute {
        let path: [UInt8]
        var table = MethodTable()
    }

    struct PatternRoute {
        let pattern: HTTPRoutePattern
        var table = MethodTable()
    }

    // Read on every request (`match`), written only by registration. Unchecked: a checked class
    // `var` costs a run-time exclusivity check per access (about 75 instructions of every request
    // for `exact` alone), and no access to these overlaps another: `match` calls out to nothing
    // that registers (hashing, comparing, the method tables), and registration calls no handler.
    @exclusivity(unchecked) private var exact = ExactRoutes()
    /// Pattern routes, most specific first.
    @exclusivity(unchecked) private var patterns: [PatternRoute] = []
    /// Prefix routes, longest prefix first.
    @exclusivity(unchecked) private var prefixes: [PathRoute] = []
    /// The largest `maxBodyBytes` of any route: the parser's own bound must let such a body
    /// through to the route's check.
    private(set) var largestRouteBodyLimit = -1

    public init() {}

    /// Every `RouteExtras` made, retained once here and released in deinit.
    private var ownedExtras: [Unmanaged<RouteExtras>] = []

    deinit {
        exact.release()
        for extras in ownedExtras { extras.release() }
    }

    /// The extras of a route, or nil when there is nothing to add (no pattern, no override).
    private func makeExtras(_ options: HTTPRouteOptions, pattern: HTTPRoutePattern?) -> Unmanaged<RouteExtras>? {
        if pattern == nil && options.maxBodyBytes == nil && options.timeout == nil && !options.streamsBody { return nil }
        let extras = Unmanaged.passRetained(RouteExtras(maxBodyBytes: options.maxBodyBytes ?? -1, timeout: options.timeout,
                                                        pattern: pattern, streamsBody: options.streamsBody))
        ownedExtras.append(extras)
        return extras
    }

    // MARK: Registering

    /// Routes `method` on `pattern`: an exact path (percent-encoded form as sent, without the
    /// query), or a pattern with `:name` segments and a trailing `*`. Throws when the pattern
    /// cannot be parsed or `method` is already routed on a path of the same shape.
    public func register(_ method: HTTPMethod, _ pattern: String, options: HTTPRouteOptions = HTTPRouteOptions(),
                         _ handler: @escaping HTTPHandler) throws(HTTPRoutePatternError) {
        let parsed = try HTTPRoutePattern(pattern)
        if let limit = options.maxBodyBytes { largestRouteBodyLimit = max(largestRouteBodyLimit, limit) }
        if parsed.isStatic {
            let extras = makeExtras(options, pattern: nil)
            let i = exact.index(of: Array(pattern.utf8))
            guard !exact[i].table.has(method) else { throw .duplicateRoute(method: method.description, pattern: pattern) }
            exact[i].table.add(method, handler, extras)
            return
        }
        if let i = patterns.firstIndex(where: { $0.pattern.hasSameShape(as: parsed) }) {
            let existing = patterns[i].pattern
            guard existing.parameterNames == parsed.parameterNames else {
                throw .conflictingNames(pattern: pattern, existing: existing.text)
            }
            guard !patterns[i].table.has(method) else { throw .duplicateRoute(method: method.description, pattern: pattern) }
            patterns[i].table.add(method, handler, makeExtras(options, pattern: existing))
            return
        }
        var entry = PatternRoute(pattern: parsed)
        entry.table.add(method, handler, makeExtras(options, pattern: parsed))
        let at = patterns.firstIndex { parsed.isMoreSpecific(than: $0.pattern) } ?? patterns.endIndex
        patterns.insert(entry, at: at)
    }



    /// Routes every path that starts with `prefix`; `method` nil means any method.
    public func onPrefix(_ prefix: String, method: HTTPMethod? = nil, _ handler: @escaping HTTPHandler) {
        let bytes = Array(prefix.utf8)
        var i = prefixes.firstIndex { $0.path == bytes }
        if i == nil {
            prefixes.append(PathRoute(path: bytes))
            prefixes.sort { $0.path.count > $1.path.count }
            i = prefixes.firstIndex { $0.path == bytes }
        }
        if let method { prefixes[i!].table.add(method, handler, nil) } else { prefixes[i!].table.anyMethod = handler }
    }

    /// Routes registered in `body` under `prefix` (`/api` + `/users/:id` = `/api/users/:id`);
    /// groups nest.
    public func group(_ prefix: String, _ body: (HTTPRouteGroup) -> Void) {
        body(HTTPRouteGroup(router: self, prefix: HTTPRouteGroup.trimmed(prefix)))
    }

    // MARK: Looking up

    enum Match {
        /// A route's handler and extras; for a pattern route (`extras.pattern` set), `captures`
        /// holds its parameters.
        case route(HTTPHandler, Unmanaged<RouteExtras>?)
        case methodNotAllowed(allow: String)
        case options(allow: String)
        case notFound
    }

    /// The route for `method` on `path`. A pattern route writes its parameters' ranges into
    /// `captures`; an exact or prefix route leaves it alone.
    func match(method: HTTPMethod, path: HTTPByteView, captures: inout HTTPRouteCaptures) -> Match {
        // The exact table is used in place (by index), not copied out: a copy would count
        // references to its arrays on every request.
        if let m = exact.match(path.bytes, method) { return m }
        if !patterns.isEmpty {
            // By index, in place: iterating the values would copy each route (and count its references).
            for i in patterns.indices where patterns[i].pattern.match(path.bytes, captures: &captures) {
                return patterns[i].table.match(method) ?? patterns[i].table.unrouted(method)
            }
        }
        if let table = prefixTable(path) {
            if let m = table.match(method) { return m }
            return table.unrouted(method)
        }
        return .notFound
    }


    private func prefixTable(_ path: HTTPByteView) -> MethodTable? {
        for route in prefixes where route.path.count <= path.count {
            let same = route.path.withUnsafeBytes { stored in
                route.path.isEmpty || memcmp(stored.baseAddress!, path.start, route.path.count) == 0
            }
            if same { return route.table }
        }
        return nil
    }
}

/// Routes registered under a common prefix (`HTTPRouter.group`). A value: keep it or nest it.
public struct HTTPRouteGroup: HTTPRouteRegistering {
    let router: HTTPRouter
    /// Without a trailing `/`, so `"/api"` + `"/users"` gives `"/api/users"`.
    let prefix: String

    static func trimmed(_ prefix: String) -> String {
        var p = prefix
        while p.hasSuffix("/") { p.removeLast() }
        return p
    }

    /// The full pattern for `path` in this group (`/` alone is the group's own path).
    func full(_ path: String) -> String {
        if path == "/" && !prefix.isEmpty { return prefix }
        return prefix + path
    }

    /// As `HTTPRouter.register`, under this group's prefix.
    public func register(_ method: HTTPMethod, _ path: String, options: HTTPRouteOptions = HTTPRouteOptions(),
                         _ handler: @escaping HTTPHandler) throws(HTTPRoutePatternError) {
        try router.register(method, full(path), options: options, handler)
    }


    /// A group nested in this one.
    public func group(_ prefix: String, _ body: (HTTPRouteGroup) -> Void) {
        body(HTTPRouteGroup(router: router, prefix: self.prefix + HTTPRouteGroup.trimmed(prefix)))
    }
}

/// What routes can be registered on: the router, and a group of it. The method shorthands are
/// written once, here, over `on`.
public protocol HTTPRouteRegistering {
    /// Routes `method` on `path` (an exact path or a pattern) with `options`; throws when the
    /// pattern cannot be parsed or `method` is already routed on a path of the same shape.
    func register(_ method: HTTPMethod, _ path: String, options: HTTPRouteOptions, _ handler: @escaping HTTPHandler) throws(HTTPRoutePatternError)
}

extension HTTPRouteRegistering {
    /// Routes `method` on `path`; a pattern the router refuses stops the program with the reason
    /// (use `register` to handle it instead, for patterns read from configuration).
    public func on(_ method: HTTPMethod, _ path: String, maxBodyBytes: Int? = nil, timeout: Duration? = nil,
                   streamsBody: Bool = false, _ handler: @escaping HTTPHandler) {
        do {
            try register(method, path, options: HTTPRouteOptions(maxBodyBytes: maxBodyBytes, timeout: timeout, streamsBody: streamsBody), handler)
        } catch {
            preconditionFailure("HTTPRouter: \(error)")
        }
    }

    public func get(_ path: String, maxBodyBytes: Int? = nil, timeout: Duration? = nil, _ handler: @escaping HTTPHandler) {
        on(.get, path, maxBodyBytes: maxBodyBytes, timeout: timeout, handler)
    }
    public func post(_ path: String, maxBodyBytes: Int? = nil, timeout: Duration? = nil, streamsBody: Bool = false, _ handler: @escaping HTTPHandler) {
        on(.post, path, maxBodyBytes: maxBodyBytes, timeout: timeout, streamsBody: streamsBody, handler)
    }
    public func put(_ path: String, maxBodyBytes: Int? = nil, timeout: Duration? = nil, streamsBody: Bool = false, _ handler: @escaping HTTPHandler) {
        on(.put, path, maxBodyBytes: maxBodyBytes, timeout: timeout, streamsBody: streamsBody, handler)
    }
    public func patch(_ path: String, maxBodyBytes: Int? = nil, timeout: Duration? = nil, streamsBody: Bool = false, _ handler: @escaping HTTPHandler) {
        on(.patch, path, maxBodyBytes: maxBodyBytes, timeout: timeout, streamsBody: streamsBody, handler)
    }
    public func delete(_ path: String, maxBodyBytes: Int? = nil, timeout: Duration? = nil, _ handler: @escaping HTTPHandler) {
        on(.delete, path, maxBodyBytes: maxBodyBytes, timeout: timeout, handler)
    }
}
