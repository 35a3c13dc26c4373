import CEpollShim
import Glibc

/// A failed system call: the errno it set and the call's name, for logs and close reasons.
public struct SystemError: Error, Equatable, CustomStringConvertible, Sendable {
    public let errno: Int32
    public let call: StaticString

    public init(errno: Int32, call: StaticString) {
        self.errno = errno
        self.call = call
    }

    public static func == (a: SystemError, b: SystemError) -> Bool {
        a.errno == b.errno && a.call.description == b.call.description
    }

    public var description: String {
        "\(call): \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

/// Every system call the reactor makes goes through this file: one thin wrapper each, EINTR retried
/// in one place, errors returned as values on the hot path (no `throws` where EAGAIN is routine).
enum Sys {
    /// The outcome of a nonblocking read or write.
    enum IOResult {
        case bytes(Int)
        case wouldBlock
        case eof
        case error(Int32)
    }

    @inline(__always)
    static func retryingEINTR(_ body: () -> Int) -> (Int, Int32) {
        while true {
            let r = body()
            if r >= 0 { return (r, 0) }
            let e = Glibc.errno
            if e != EINTR { return (r, e) }
        }
    }

    @inline(__always)
    static func read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> IOResult {
        let (n, e) = retryingEINTR { Glibc.read(fd, buffer, count) }
        if n > 0 { return .bytes(n) }
        if n == 0 { return .eof }
        return (e == EAGAIN || e == EWOULDBLOCK) ? .wouldBlock : .error(e)
    }

    /// `send` with MSG_NOSIGNAL: a peer that went away yields EPIPE, never SIGPIPE.
    @inline(__always)
    static func send(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> IOResult {
        let (n, e) = retryingEINTR { Glibc.send(fd, buffer, count, CEPOLL_MSG_NOSIGNAL) }
        if n >= 0 { return .bytes(n) }
        return (e == EAGAIN || e == EWOULDBLOCK) ? .wouldBlock : .error(e)
    }

    /// Gathering write (`sendmsg` so MSG_NOSIGNAL applies, which `writev` cannot take).
    @inline(__always)
    static func sendv(_ fd: Int32, _ iov: UnsafeMutablePointer<iovec>, _ count: Int) -> IOResult {
        var msg = msghdr()
        msg.msg_iov = iov
        msg.msg_iovlen = count
        let (n, e) = retryingEINTR { Glibc.sendmsg(fd, &msg, CEPOLL_MSG_NOSIGNAL) }
        if n >= 0 { return .bytes(n) }
        return (e == EAGAIN || e == EWOULDBLOCK) ? .wouldBlock : .error(e)
    }

    /// Shuts down the sending side (a FIN after the queued bytes). Its only failures are a
    /// descriptor that is not a connected socket, which the loop never passes, or one the peer
    /// reset, which the next read reports: nothing to act on here.
    static func shutdownWrite(_ fd: Int32) {
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    static func close(_ fd: Int32) {
        // Never retry close on EINTR: on Linux the descriptor is released either way.
        _ = Glibc.close(fd)
    }

    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) throws(SystemError) {
        var v = value
        if setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            throw SystemError(errno: Glibc.errno, call: "setsockopt")
        }
    }

    static func socketError(_ fd: Int32) -> Int32 {
        var value: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &len) != 0 { return Glibc.errno }
        return value
    }

    static func socket(family: Int32) throws(SystemError) -> Int32 {
        let fd = Glibc.socket(family, Int32(SOCK_STREAM.rawValue) | CEPOLL_SOCK_NONBLOCK | CEPOLL_SOCK_CLOEXEC, 0)
        if fd < 0 { throw SystemError(errno: Glibc.errno, call: "socket") }
        return fd
    }

    static func eventfd() throws(SystemError) -> Int32 {
        let fd = CEpollShim.eventfd(0, CEPOLL_EFD_NONBLOCK | CEPOLL_EFD_CLOEXEC)
        if fd < 0 { throw SystemError(errno: Glibc.errno, call: "eventfd") }
        return fd
    }

    /// The hard limit on this process's open descriptors (RLIMIT_NOFILE), nil when unlimited or
    /// unknown. The soft limit may be raised up to it at any time without privileges; the hard
    /// one only with CAP_SYS_RESOURCE.
    static func descriptorHardLimit() -> Int? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_max != rlim_t.max else { return nil }  // RLIM_INFINITY
        return Int(clamping: limit.rlim_max)
    }

    /// Reserves `byteCount` bytes of zeroed address space that is committed page by page as it is
    /// first touched (MAP_NORESERVE: no swap is reserved for it up front), and never moves.
    static func reserveLazily(_ byteCount: Int) throws(SystemError) -> UnsafeMutableRawPointer {
        let p = mmap(nil, byteCount, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let p, p != MAP_FAILED else { throw SystemError(errno: Glibc.errno, call: "mmap") }
        return p
    }

    static func unmap(_ base: UnsafeMutableRawPointer, _ byteCount: Int) {
        _ = munmap(base, byteCount)
    }

    /// The monotonic clock in nanoseconds: the loop reads it once per iteration.
    @inline(__always)
    static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Ignore SIGPIPE for the whole process. Every socket write already passes MSG_NOSIGNAL; this
    /// also covers writes an embedding application makes on its own descriptors.
    static func ignoreSIGPIPE() {
        _ = signal(SIGPIPE, SIG_IGN)
    }
}
