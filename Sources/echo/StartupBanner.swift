/// The lines printed once the web demo listens: where to point a browser, and the endpoints the
/// notes' snippets and a Prometheus scraper use, so a newcomer can copy them from the terminal.
func startupBanner(hosts: [String], port: UInt16, tls: Bool = false) -> String {
    // Loopback and wildcard listeners are all reached as "localhost" from this machine.
    let local = ["127.0.0.1", "::1", "0.0.0.0", "::"]
    let host = hosts.allSatisfy(local.contains) ? "localhost" : hosts.first.map { $0.contains(":") ? "[\($0)]" : $0 } ?? "localhost"
    let http = "\(tls ? "https" : "http")://\(host):\(port)"
    let ws = "\(tls ? "wss" : "ws")://\(host):\(port)"
    return """
    echo: open \(http)/ in a browser
    echo:   WebSocket echo   \(ws)/echo  \(ws)/echo-async (written with async/await)
    echo:   chat             \(ws)/chat?room=lobby  \(http)/events?room=lobby (SSE)  POST \(http)/send?room=lobby
    echo:   metrics          \(http)/metrics
    echo:   deferred answer  \(http)/later?ms=250
    """
}
