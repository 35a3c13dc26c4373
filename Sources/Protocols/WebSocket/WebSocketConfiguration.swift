/// Options of WebSocket connections (server or client side).
public struct WebSocketConfiguration: Sendable {
    public var limits = WebSocketLimits()
    /// Send a ping after this long without hearing from the peer; nil disables keepalive.
    public var pingInterval: Duration? = .seconds(30)
    /// Close the connection if no frame arrives this long after a keepalive ping.
    public var pongTimeout: Duration = .seconds(20)
    /// How long to wait for the peer's close frame after sending ours.
    public var closeTimeout: Duration = .seconds(5)
    /// A message begun (its first fragment, or the first part of a long frame) must be finished
    /// within this, else the connection closes with 1008: a peer may not pin a reassembly
    /// buffer, or a decompressor, by never sending the last fragment.
    public var messageTimeout: Duration = .seconds(30)
    /// Accept permessage-deflate when the client offers it.
    public var permessageDeflate = true
    /// Let the peers keep their compression context from one message to the next (RFC 7692 7.1.1).
    /// Off by default: the answer then always carries `server_no_context_takeover` and
    /// `client_no_context_takeover` (7.1.1.1 and 7.1.1.2 let a server add both unasked), so no
    /// zlib state outlives a message. A socket then shares its loop's compressor and holds a
    /// decompressor only while a compressed message is arriving: an idle compressed socket costs
    /// what a plain one does. Measured (release echo, RSS growth over 1,000 sockets after one
    /// 3 KB compressed echo each, then idle; `Tests/Conformance/hostile/test_websocket.py`):
    /// 0.4 KiB per socket off, 115 KiB per socket on (a compressor of up to 256 KiB and a
    /// decompressor of about 40 KiB each, of which the pages touched stay resident). On, small
    /// repetitive messages compress better.
    public var deflateContextTakeover = false
    /// Outgoing messages shorter than this are sent uncompressed even when deflate is on:
    /// compressing a small message costs more CPU than the bytes it saves.
    public var compressionThreshold = 1024
    /// Which browser origins may open a socket (server side): by default only pages this server
    /// served, and clients that send no `Origin`; others get 403 (see `OriginPolicy`).
    public var origins = OriginPolicy.sameOrigin

    public init() {}
}

extension WebSocketConnection.Timings {
    /// The timings of `c` (here rather than beside the machine, which knows no configuration: the
    /// fuzzer builds it without the origin policy this file brings).
    public init(_ c: WebSocketConfiguration) {
        self.init(pingInterval: c.pingInterval, pongTimeout: c.pongTimeout, closeTimeout: c.closeTimeout,
                  messageTimeout: c.messageTimeout, compressionThreshold: c.compressionThreshold)
    }
}
