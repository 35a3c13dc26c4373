import Protocols

extension HTTPRequest {
    /// The route's parameters by name, as borrowed views of the path (percent-encoded as sent):
    /// `req.parameters["id"]`, `req.parameters.decoded("id")` for a decoded String,
    /// `req.parameters.rest` for what a trailing `*` matched. Empty for a route without any.
    /// Borrowed like the head: copy out what must outlive it.
    public var parameters: HTTPRouteParameters {
        let (pattern, captures) = store.route(generation, "parameters")
        guard let pattern else { return HTTPRouteParameters() }
        return HTTPRouteParameters(pattern: pattern.takeUnretainedValue(), captures: captures, path: head.path)
    }

    /// The decoded value of route parameter `name` (`/users/:id` -> `parameter("id")`), or nil
    /// when the route has no such parameter. Allocates the String it returns.
    public func parameter(_ name: String) -> String? { parameters.decoded(name) }
}
