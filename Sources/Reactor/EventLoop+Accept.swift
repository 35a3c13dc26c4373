import CEpollShim
import Glibc

/// A listening socket of a loop. `address` carries the real port when bound to port 0.
public struct Listener: Sendable {
    public let address: SocketAddress
    let fd: Int32
    let generation: UInt32
}

struct ListenerState {
    let fd: Int32
    let makeHandler: (Connection) -> any ConnectionHandler
}

extension EventLoop {
    /// Listens on `address` and gives each accepted connection the handler `makeHandler` returns
    /// (the same object for every connection, or a new one each).
    ///
    /// - Parameters:
    ///   - reusePort: SO_REUSEPORT, so several loops (or processes) can each own a listener on the
    ///     same port and let the kernel spread connections.
    ///   - v6Only: for an IPv6 address, refuse IPv4-mapped peers (the default accepts both on `::`).
    @discardableResult
    public func listen(
        on address: SocketAddress, backlog: Int32 = 1024, reusePort: Bool = false, v6Only: Bool = false,
        makeHandler: @escaping (Connection) -> any ConnectionHandler
    ) throws(SystemError) -> Listener {
        let fd = try Sys.socket(family: address.family)
        do throws(SystemError) {
            try Sys.setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
            if reusePort { try Sys.setOption(fd, SOL_SOCKET, CEPOLL_SO_REUSEPORT, 1) }
            if address.family == AF_INET6 { try Sys.setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, v6Only ? 1 : 0) }
            try Sys.bind(fd, to: address)
            try Sys.listen(fd, backlog: backlog)
            let generation = try register(fd, kind: .listener, interest: .read)
            s.pointee.slots[Int(fd)].listenerIndex = Int32(s.pointee.listeners.count)
            s.pointee.listeners.append(ListenerState(fd: fd, makeHandler: makeHandler))
            if s.pointee.acceptPaused { setInterest(fd, []) }
            return Listener(address: SocketAddress.local(of: fd) ?? address, fd: fd, generation: generation)
        } catch {
            if Int(fd) < s.pointee.initializedSlots && s.pointee.slots[Int(fd)].kind == .listener {
                deregisterAndRelease(fd, closeDescriptor: true)
            } else {
                Sys.close(fd)
            }
            throw error
        }
    }

    /// Stops listening; accepted connections are not affected.
    public func close(_ listener: Listener) {
        guard Int(listener.fd) < s.pointee.initializedSlots,
              s.pointee.slots[Int(listener.fd)].generation == listener.generation else { return }
        closeListener(listener.fd)
    }

    /// Closes every listener (the first step of a graceful shutdown).
    public func closeAllListeners() {
        for state in s.pointee.listeners { if let state { closeListener(state.fd) } }
    }

    func closeListener(_ fd: Int32) {
        let slot = s.pointee.slots + Int(fd)
        guard slot.pointee.kind == .listener else { return }
        s.pointee.listeners[Int(slot.pointee.listenerIndex)] = nil
        deregisterAndRelease(fd, closeDescriptor: true)
    }

    /// Accepts until EAGAIN. When the process or system is out of descriptors, accepting pauses
    /// (every listener leaves the interest set, so a full backlog cannot spin the loop) until a
    /// connection closes or `acceptRetryDelay` passes, whichever comes first.
    func acceptConnections(listenerFD: Int32) {
        let listenerSlot = s.pointee.slots + Int(listenerFD)
        let listenerGeneration = listenerSlot.pointee.generation
        let index = Int(listenerSlot.pointee.listenerIndex)
        guard let state = s.pointee.listeners[index] else { return }
        // A `connectionDidOpen` may close this listener (and its fd be reused): stop then.
        while !s.pointee.acceptPaused && listenerSlot.pointee.generation == listenerGeneration {
            if s.pointee.connectionCount >= configuration.maxConnections {
                pauseAccepting(retry: false)
                return
            }
            let fd: Int32
            switch Sys.accept(listenerFD) {
            case .accepted(let accepted):
                fd = accepted
            case .failed(EAGAIN), .failed(EWOULDBLOCK):
                return
            case .failed(EINTR), .failed(ECONNABORTED), .failed(EPROTO):
                continue
            case .failed(EMFILE), .failed(ENFILE), .failed(ENOBUFS), .failed(ENOMEM):
                pauseAccepting(retry: true)
                return
            case .failed:
                return  // e.g. a listener closed under us; the next readiness event tells more
            }
            try? Sys.setOption(fd, Int32(IPPROTO_TCP), CEPOLL_TCP_NODELAY, 1)
            let connection: Connection
            do {
                connection = try openConnection(fd)
            } catch {
                // Beyond the descriptor table (or epoll refused it): a defined end for the peer,
                // a count for the operator, and on to the next.
                Sys.close(fd)
                s.pointee.statistics.refusedDescriptors &+= 1
                continue
            }
            s.pointee.statistics.accepted &+= 1
            let handler = state.makeHandler(connection)
            guard liveSlot(connection) != nil else { continue }
            s.pointee.slots[Int(fd)].handler = handler
            handler.connectionDidOpen(connection)
        }
    }

    /// Whether accepting is paused (descriptors exhausted or `maxConnections` reached).
    public var isAcceptingPaused: Bool { s.pointee.acceptPaused }

    private func pauseAccepting(retry: Bool) {
        guard !s.pointee.acceptPaused else { return }
        s.pointee.acceptPaused = true
        for state in s.pointee.listeners { if let state { setInterest(state.fd, []) } }
        if retry {
            s.pointee.acceptRetryTimer = schedule(after: configuration.acceptRetryDelay) { [unowned self] in
                self.s.pointee.acceptRetryTimer = nil
                self.resumeAccepting()
            }
        }
    }

    private func resumeAccepting() {
        guard s.pointee.acceptPaused, s.pointee.shutdown == nil else { return }
        s.pointee.acceptPaused = false
        if let timer = s.pointee.acceptRetryTimer {
            cancel(timer)
            s.pointee.acceptRetryTimer = nil
        }
        // Level-triggered: a backlog that filled while paused is reported at the next wait.
        for state in s.pointee.listeners { if let state { setInterest(state.fd, .read) } }
    }

    /// A descriptor was freed: the moment to accept again if we had run out, and to finish a
    /// graceful shutdown once the last connection is gone.
    func connectionDidRelease() {
        if s.pointee.acceptPaused { resumeAccepting() }
        if s.pointee.shutdown != nil && s.pointee.connectionCount == 0 { finishShutdown() }
    }
}
