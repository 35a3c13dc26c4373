import Foundation

/// Loopback ports for the servers under test, taken from 19000 up.
///
/// Every run gets a fresh port that nothing is bound to (not even a TIME_WAIT left by
/// the previous run), so a server that does not set SO_REUSEADDR still starts, and a
/// stale server from an earlier crash can never answer in place of the new one.
struct PortAllocator {
    private var next: UInt16 = 19000

    mutating func take() throws -> UInt16 {
        while next < 19900 {
            let port = next
            next += 1
            if Ports.isFree(port) { return port }
        }
        throw BenchError("no free port left in 19000..<19900")
    }
}

enum Ports {
    /// True if a plain bind (no SO_REUSEADDR) to 127.0.0.1:port succeeds.
    static func isFree(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = loopback(port)
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// True if something accepts a TCP connection on 127.0.0.1:port.
    static func accepts(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = loopback(port)
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// Waits until `server` accepts connections on `port`: readiness is the port
    /// itself, not a line the server prints, so any server works unchanged.
    /// Throws, with the server's output, if it exits or is not up within `timeout`.
    static func waitUntilListening(_ server: Child, port: UInt16, timeout: Double = 10) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !accepts(port) {
            if !server.isRunning {
                let status = server.wait(timeout: 1).map(String.init) ?? "?"
                throw BenchError("\(server.name) exited (status \(status)) before listening on port \(port):\n\(server.logTail())")
            }
            if Date() >= deadline {
                throw BenchError("\(server.name) did not listen on port \(port) within \(Int(timeout)) s:\n\(server.logTail())")
            }
            usleep(20_000)
        }
    }

    private static func loopback(_ port: UInt16) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        return addr
    }
}
