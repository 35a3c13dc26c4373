/// Options of WebSocket connections (server or client side).
public struct WebSocketConfiguration: Sendable {
    public var limits = WebSocketLimits()
    /// Send a ping after this long without hearing from the peer; nil disables keepalive.
    public var pingInterval: Duration? = .seconds(30)
    /// Close the connection if no frame arrives this long after a keepalive ping.
    public var pongTimeout: Duration = .seconds(20)
    /// How long to wait for the peer's close frame after sending ours.
    public var closeTimeout: Duration = .seconds(5)
    /// Accept permessage-deflate when the client offers it.
    public var permessageDeflate = true
    /// Outgoing messages shorter than this are sent uncompressed even when deflate is on:
    /// compressing a small message costs more CPU than the bytes it saves.
    public var compressionThreshold = 1024
    /// Which browser origins may open a socket (server side): by default only pages this server
    /// served, and clients that send no `Origin`; others get 403 (see `OriginPolicy`).
    public var origins = OriginPolicy.sameOrigin

    public init() {}
}
