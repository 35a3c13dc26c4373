import Protocols

/// The HTTP server's limits and timeouts. Every one has a safe default; all are parameters.
public struct HTTPServerConfiguration: Sendable {
    /// Request line, head, header count and body limits (414, 431, 413).
    public var limits = HTTPParserLimits.default
    /// A request head must arrive whole within this time of its first byte (or of the connection
    /// opening): the slowloris defence. A partial head then gets 408 and the connection closes.
    public var headerReadTimeout: Duration = .seconds(10)
    /// A keep-alive connection with no request in progress closes quietly after this long; also
    /// the longest pause allowed between two pieces of a request body.
    public var idleTimeout: Duration = .seconds(60)
    /// Bytes of a response written in the same write as its head when they fit (larger bodies are
    /// sent by reference, after the head).
    public var scratchSize = 64 * 1024
    /// Capacity of a connection's request-body buffer kept for its next request. A body that grew
    /// the buffer beyond this (a 1 MiB upload) gives it back once its handler returns, so an idle
    /// keep-alive connection never holds its largest body's memory; at or below, the buffer is
    /// kept, so small bodies on a busy connection cost no allocation each.
    public var retainedBodyCapacity = 1024
    /// What reading an `HTTPRequest` after its response is complete does: trap (true), or return
    /// an empty value and write one line to the server's `log`, at most one every 10 s
    /// (false). Either way no other request's bytes are returned. Defaults to true in debug builds
    /// (the mistake is found where it is made), false in release builds (a service keeps serving).
    public var trapsOnStaleRequest = HTTPServerConfiguration.isDebugBuild

    public init() {}

    /// True when this module was compiled with assertions on (`swift build`, not `-c release`).
    private static var isDebugBuild: Bool {
        var debug = false
        assert({ debug = true; return true }())
        return debug
    }
}
