import Reactor

/// README.md, "Embedding a loop": an echo server on 127.0.0.1:9000 that runs until SIGINT or
/// SIGTERM. The body is the README's snippet verbatim (`ExamplesTests` compares the two).
func embeddingALoop() throws {
    final class Echo: ConnectionHandler {
        // `bytes` is borrowed from the loop's receive buffer: valid only during this call.
        func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int {
            c.send(bytes)          // written at once; only what the kernel refuses is queued
            return bytes.count     // unconsumed bytes would be presented again with the next read
        }
    }

    let loop = try EventLoop()
    let echo = Echo()
    try loop.listen(on: SocketAddress(ip: "127.0.0.1", port: 9000)) { _ in echo }
    loop.scheduleRepeating(every: .seconds(1)) { print("connections:", loop.connectionCount) }
    try loop.handleTerminationSignals()    // SIGINT/SIGTERM: graceful shutdown
    loop.run()                             // or call loop.runOnce(timeout:) from your own main loop
}
