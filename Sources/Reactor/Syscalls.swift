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
/// (Library calls that are more than one system call stay with their types: threads and mutexes
/// in `EventLoopThread` and `Locked`, name resolution in `SocketAddress.resolve`.)
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

    // MARK: Sockets

    static func bind(_ fd: Int32, to address: SocketAddress) throws(SystemError) {
        if address.withSockAddr({ Glibc.bind(fd, $0, $1) }) != 0 { throw SystemError(errno: Glibc.errno, call: "bind") }
    }

    static func listen(_ fd: Int32, backlog: Int32) throws(SystemError) {
        if Glibc.listen(fd, backlog) != 0 { throw SystemError(errno: Glibc.errno, call: "listen") }
    }

    /// Starts a nonblocking connect: 0 when under way (EINPROGRESS) or done, else the errno.
    static func connect(_ fd: Int32, to address: SocketAddress) -> Int32 {
        if address.withSockAddr({ Glibc.connect(fd, $0, $1) }) == 0 { return 0 }
        let e = Glibc.errno
        return e == EINPROGRESS ? 0 : e
    }

    /// The outcome of one `accept4`.
    enum AcceptResult {
        case accepted(Int32)
        case failed(Int32)
    }

    /// Accepts one connection, nonblocking and close-on-exec from the start.
    @inline(__always)
    static func accept(_ listenerFD: Int32) -> AcceptResult {
        let fd = cepoll_accept4(listenerFD, nil, nil, CEPOLL_SOCK_NONBLOCK | CEPOLL_SOCK_CLOEXEC)
        return fd >= 0 ? .accepted(fd) : .failed(Glibc.errno)
    }

    /// The socket's local (`getsockname`) or peer (`getpeername`) address.
    static func address(of fd: Int32, peer: Bool) -> SocketAddress? {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutableBytes(of: &storage) {
            let address = $0.baseAddress!.assumingMemoryBound(to: sockaddr.self)
            return peer ? getpeername(fd, address, &len) : getsockname(fd, address, &len)
        }
        return rc == 0 ? SocketAddress(storage: storage, length: len) : nil
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

    // MARK: Waking and signals

    static func eventfd() throws(SystemError) -> Int32 {
        let fd = CEpollShim.eventfd(0, CEPOLL_EFD_NONBLOCK | CEPOLL_EFD_CLOEXEC)
        if fd < 0 { throw SystemError(errno: Glibc.errno, call: "eventfd") }
        return fd
    }

    /// Adds one to an eventfd's counter, making it readable (a wake-up from another thread). A
    /// full counter (EAGAIN) is readable already, so a failed write loses nothing.
    static func signalEventFD(_ fd: Int32) {
        var one: UInt64 = 1
        _ = retryingEINTR { Glibc.write(fd, &one, 8) }
    }

    /// Resets an eventfd's counter to zero, so it stops being readable.
    static func drainEventFD(_ fd: Int32) {
        var counter: UInt64 = 0
        _ = retryingEINTR { Glibc.read(fd, &counter, 8) }
    }

    /// Blocks `signals` for the calling thread (threads it starts later inherit the mask) and
    /// returns a nonblocking signalfd that reports them instead.
    static func signalFD(for signals: [Int32]) throws(SystemError) -> Int32 {
        var mask = sigset_t()
        sigemptyset(&mask)
        for signal in signals { sigaddset(&mask, signal) }
        if pthread_sigmask(SIG_BLOCK, &mask, nil) != 0 { throw SystemError(errno: Glibc.errno, call: "pthread_sigmask") }
        let fd = signalfd(-1, &mask, CEPOLL_SFD_NONBLOCK | CEPOLL_SFD_CLOEXEC)
        if fd < 0 { throw SystemError(errno: Glibc.errno, call: "signalfd") }
        return fd
    }

    /// The next signal a signalfd reports, or nil when none is pending.
    static func readSignal(_ fd: Int32) -> Int32? {
        var info = signalfd_siginfo()
        let size = MemoryLayout<signalfd_siginfo>.size
        let (n, _) = retryingEINTR { Glibc.read(fd, &info, size) }
        return n == size ? Int32(info.ssi_signo) : nil
    }

    // MARK: epoll (for `EpollBackend`, which owns the event array's packed layout)

    static func epollCreate() throws(SystemError) -> Int32 {
        let fd = epoll_create1(Int32(EPOLL_CLOEXEC))
        if fd < 0 { throw SystemError(errno: Glibc.errno, call: "epoll_create1") }
        return fd
    }

    /// One `epoll_ctl`: 0, or the errno.
    @inline(__always)
    static func epollControl(_ epollFD: Int32, _ operation: Int32, _ fd: Int32, events: UInt32, token: UInt64) -> Int32 {
        cepoll_ctl(epollFD, operation, fd, events, token) == 0 ? 0 : Glibc.errno
    }

    /// Waits for events: how many are ready, 0 on EINTR (the loop iterates again; a signal such
    /// as the malloc counter's must not end it).
    @inline(__always)
    static func epollWait(_ epollFD: Int32, _ events: UnsafeMutableRawPointer, _ capacity: Int32, _ timeoutMilliseconds: Int32) -> Int {
        let n = cepoll_wait(epollFD, events, capacity, timeoutMilliseconds)
        return n < 0 ? 0 : Int(n)
    }

    // MARK: Process and memory

    /// The size of a memory page.
    static var pageSize: Int { Int(sysconf(Int32(_SC_PAGESIZE))) }

    /// CPUs online now (at least 1).
    static var onlineProcessors: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

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
