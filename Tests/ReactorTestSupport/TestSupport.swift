import Dispatch
import Foundation
import Glibc
import Reactor

/// Helpers shared by the test targets: a blocking POSIX client (the tests' independent peer),
/// loop-thread plumbing, descriptor counting.

/// A value shared between the loop's thread and the test's thread.
public final class Shared<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    public init(_ value: T) { self.value = value }
    public func with<R>(_ body: (inout T) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
    public var get: T { with { $0 } }
}

/// Runs `body` on the loop's thread and waits for its result.
public func onLoop<T: Sendable>(_ thread: EventLoopThread, _ body: @escaping @Sendable (EventLoop) -> T) -> T {
    onLoop(thread.handle, body)
}

/// Runs `body` on the loop behind `handle` and waits for its result.
public func onLoop<T: Sendable>(_ handle: EventLoopHandle, _ body: @escaping @Sendable (EventLoop) -> T) -> T {
    guard let value = handle.runAndWait(body) else { fatalError("the loop had closed before the test's work ran") }
    return value
}

/// Starts a loop on its own thread listening on 127.0.0.1 (a free port) with the given handlers.
public func startServer(
    configuration: EventLoopConfiguration = EventLoopConfiguration(),
    makeHandler: @escaping @Sendable (Connection) -> any ConnectionHandler
) throws -> (EventLoopThread, UInt16) {
    let port = Shared<UInt16>(0)
    let thread = try EventLoopThread(configuration: configuration) { loop in
        let listener = try loop.listen(on: SocketAddress(ip: "127.0.0.1", port: 0), makeHandler: makeHandler)
        port.with { $0 = listener.address.port }
    }
    return (thread, port.get)
}

/// Polls `condition` until it holds or `seconds` pass.
public func eventually(_ seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(2000)
    }
    return condition()
}

/// A blocking client socket: the tests' independent peer, written with plain POSIX calls.
public struct BlockingClient {
    public let fd: Int32

    public init(port: UInt16, receiveBuffer: Int32? = nil, timeoutSeconds: Int = 5) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SystemError(errno: errno, call: "socket") }
        if let size = receiveBuffer { setInt(SOL_SOCKET, SO_RCVBUF, size) }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        try connectTo(port: port)
    }

    /// A socket created now and connected later (the EMFILE test needs descriptors up front).
    public init(unconnected: Void) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    public func connectTo(port: UInt16) throws {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw SystemError(errno: errno, call: "connect") }
    }

    public func setInt(_ level: Int32, _ name: Int32, _ value: Int32) {
        var v = value
        setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size))
    }

    public func send(_ bytes: [UInt8]) {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            off += n
        }
    }

    public func send(_ text: String) { send(Array(text.utf8)) }

    /// Reads exactly `count` bytes, or returns what came before EOF/timeout.
    public func receive(exactly count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = out.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress! + got, count - got, 0) }
            if n <= 0 { break }
            got += n
        }
        return Array(out[0..<got])
    }

    /// Reads until EOF (or timeout / error).
    public func receiveAll() -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress!, 65536, 0) }
            if n <= 0 { break }
            out += chunk[0..<n]
        }
        return out
    }

    /// Closes with SO_LINGER 0: the kernel sends RST instead of FIN.
    public func reset() {
        var l = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        Glibc.close(fd)
    }

    public func close() { Glibc.close(fd) }
}

/// Descriptors open in this process (each listing briefly opens one more, the same every time).
public func openDescriptorCount() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
}

public func raiseDescriptorLimit() {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    limit.rlim_cur = limit.rlim_max
    setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}

/// Sends every byte back (the reactor's own echo handler, as the demo uses it).
public final class EchoHandler: ConnectionHandler {
    public init() {}
    public func connection(_ connection: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int {
        connection.send(bytes)
        return bytes.count
    }
}

/// A byte pattern that reveals reordering, loss or duplication.
public func pattern(_ count: Int, seed: Int = 0) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: ($0 &* 31 &+ $0 / 251 &+ seed) & 0xFF) }
}

/// SplitMix64: a tiny seeded generator, so a random test fails the same way twice.
public struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
