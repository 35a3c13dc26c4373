import CEpollShim
import Glibc

/// Interest in readiness, level-triggered (see `EventLoop` for why): one byte in every
/// descriptor's slot, turned into epoll's flags only when registered or changed.
struct Interest: OptionSet {
    let rawValue: UInt8
    static let read = Interest(rawValue: 1 << 0)
    static let write = Interest(rawValue: 1 << 1)

    var epollEvents: UInt32 {
        (contains(.read) ? CEPOLL_IN | CEPOLL_RDHUP : 0) | (contains(.write) ? CEPOLL_OUT : 0)
    }
}

/// One readiness report, decoded from the packed `epoll_event`.
struct ReadyEvent {
    let token: UInt64
    let flags: UInt32

    var isReadable: Bool { flags & (CEPOLL_IN | CEPOLL_RDHUP | CEPOLL_HUP | CEPOLL_ERR) != 0 }
    var isWritable: Bool { flags & (CEPOLL_OUT | CEPOLL_HUP | CEPOLL_ERR) != 0 }
    var isError: Bool { flags & CEPOLL_ERR != 0 }
}

/// The epoll instance: create, register, modify, deregister, wait. The loop never names epoll
/// itself; everything epoll-specific (including the packed struct layout) stays in this file.
struct EpollBackend: ~Copyable {
    let fd: Int32
    private let events: UnsafeMutableRawPointer
    let capacity: Int

    init(capacity: Int) throws(SystemError) {
        self.fd = try Sys.epollCreate()
        self.capacity = capacity
        self.events = .allocate(byteCount: capacity * cepoll_event_size(), alignment: 8)
    }

    deinit {
        events.deallocate()
        Sys.close(fd)
    }

    /// `token` comes back with every event for `socket`: the loop packs the fd and a generation.
    func register(_ socket: Int32, interest: Interest, token: UInt64) throws(SystemError) {
        let e = Sys.epollControl(fd, EPOLL_CTL_ADD, socket, events: interest.epollEvents, token: token)
        if e != 0 { throw SystemError(errno: e, call: "epoll_ctl(ADD)") }
    }

    func modify(_ socket: Int32, interest: Interest, token: UInt64) {
        // MOD fails only for a descriptor that is not registered, a bug the loop asserts against.
        let e = Sys.epollControl(fd, EPOLL_CTL_MOD, socket, events: interest.epollEvents, token: token)
        assert(e == 0, "epoll_ctl(MOD) failed: \(e)")
    }

    func deregister(_ socket: Int32) {
        _ = Sys.epollControl(fd, EPOLL_CTL_DEL, socket, events: 0, token: 0)
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever) and returns how many events are ready.
    func wait(timeoutMilliseconds: Int32) -> Int {
        Sys.epollWait(fd, events, Int32(capacity), timeoutMilliseconds)
    }

    @inline(__always)
    func event(at index: Int) -> ReadyEvent {
        let e = cepoll_event_at(events, Int32(index))!
        return ReadyEvent(token: cepoll_event_data(e), flags: cepoll_event_events(e))
    }
}
