import Glibc
import Protocols

/// Handles one request: respond through the responder, at once or later.
public typealias HTTPHandler = (HTTPRequest, HTTPResponder) -> Void

/// Method + exact path routes, and prefix routes, looked up without allocating.
///
/// Lookup order: exact path, then the longest matching prefix. A path that matches with another
/// method answers 405 with `Allow`; no match at all answers 404. HEAD falls back to the GET route
/// (the server drops the body), and OPTIONS without a route answers 204 with `Allow`.
public final class HTTPRouter {
    /// A method and its handler. A struct, not a tuple: a closure kept in an array of tuples is
    /// stored in its most general form, and taking it out allocates a thunk every request.
    struct MethodHandler {
        let method: HTTPMethod
        let handler: HTTPHandler
    }

    struct MethodTable {
        var handlers: [MethodHandler] = []
        var anyMethod: HTTPHandler?

        func handler(for method: HTTPMethod) -> HTTPHandler? {
            for entry in handlers where entry.method == method { return entry.handler }
            if method == .head { for entry in handlers where entry.method == .get { return entry.handler } }
            return anyMethod
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

    private var exact: [PathRoute] = []
    /// Exact routes by a hash of the path bytes: a lookup hashes the borrowed path, no String.
    private var exactIndex: [UInt64: [Int]] = [:]
    /// Prefix routes, longest prefix first.
    private var prefixes: [PathRoute] = []

    public init() {}

    /// Routes `method` on exactly `path` (percent-encoded form as sent, without the query).
    public func on(_ method: HTTPMethod, _ path: String, _ handler: @escaping HTTPHandler) {
        let bytes = Array(path.utf8)
        let hash = FNV1a.hash(bytes.withUnsafeBytes { $0 })
        if let i = exactIndex[hash]?.first(where: { exact[$0].path == bytes }) {
            exact[i].table.handlers.append(MethodHandler(method: method, handler: handler))
        } else {
            var route = PathRoute(path: bytes)
            route.table.handlers.append(MethodHandler(method: method, handler: handler))
            exactIndex[hash, default: []].append(exact.count)
            exact.append(route)
        }
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
        if let method { prefixes[i!].table.handlers.append(MethodHandler(method: method, handler: handler)) } else { prefixes[i!].table.anyMethod = handler }
    }

    public func get(_ path: String, _ handler: @escaping HTTPHandler) { on(.get, path, handler) }
    public func post(_ path: String, _ handler: @escaping HTTPHandler) { on(.post, path, handler) }
    public func put(_ path: String, _ handler: @escaping HTTPHandler) { on(.put, path, handler) }
    public func delete(_ path: String, _ handler: @escaping HTTPHandler) { on(.delete, path, handler) }

    enum Match {
        case handler(HTTPHandler)
        case methodNotAllowed(allow: String)
        case options(allow: String)
        case notFound
    }

    func match(method: HTTPMethod, path: HTTPByteView) -> Match {
        if let table = exactTable(path) ?? prefixTable(path) {
            if let h = table.handler(for: method) { return .handler(h) }
            return method == .options ? .options(allow: table.allowHeader) : .methodNotAllowed(allow: table.allowHeader)
        }
        return .notFound
    }

    private func exactTable(_ path: HTTPByteView) -> MethodTable? {
        guard let candidates = exactIndex[FNV1a.hash(path.bytes)] else { return nil }
        for i in candidates where exact[i].path.count == path.count {
            let same = exact[i].path.withUnsafeBytes { stored in
                path.count == 0 || memcmp(stored.baseAddress!, path.start, path.count) == 0
            }
            if same { return exact[i].table }
        }
        return nil
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
