extension TCPChannel {
    /// Connects to `address` from the loop behind `handle`, and returns once the connection is
    /// established. Throws `TCPChannelError.closed(.connectFailed(errno))` when refused,
    /// `.closed(.timeout)` after `timeout`, a `SystemError` when no socket could be made.
    public static func connect(
        to address: SocketAddress, on handle: EventLoopHandle, timeout: Duration = .seconds(10),
        inboundHighWatermark: Int = 256 * 1024, inboundLowWatermark: Int = 64 * 1024
    ) async throws -> TCPChannel {
        let channel = try await handle.submit { loop in
            let channel = TCPChannel(handle: handle, inboundHighWatermark: inboundHighWatermark, inboundLowWatermark: inboundLowWatermark)
            let connection = try loop.connect(to: address, handler: TCPChannelHandler(channel), timeout: timeout)
            let reference = ConnectionReference(connection)
            channel.assumeIsolated { $0.attach(reference) }
            return channel
        }
        try await channel.waitUntilOpen()
        return channel
    }
}
