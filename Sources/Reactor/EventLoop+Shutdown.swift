import CEpollShim
import Glibc

struct GracefulShutdown {
    var deadlineTimer: TimerID?
}

extension EventLoop {
    /// Shuts down in order: stop accepting, ask every connection's handler to finish
    /// (`connectionShouldShutdown`: an HTTP server completes the response in flight, a WebSocket
    /// sends close 1001), and stop the loop when the last connection has closed, or at `deadline`,
    /// when what is left is closed with `.shutdown`.
    public func shutdownGracefully(deadline: Duration = .seconds(10)) {
        guard s.pointee.shutdown == nil else { return }
        s.pointee.shutdown = GracefulShutdown()
        closeAllListeners()
        if s.pointee.connectionCount == 0 {
            finishShutdown()
            return
        }
        s.pointee.shutdown?.deadlineTimer = schedule(after: deadline) { [unowned self] in
            self.s.pointee.shutdown?.deadlineTimer = nil
            self.finishShutdown()
        }
        for fd in 0..<Int32(s.pointee.initializedSlots) {
            let slot = s.pointee.slots + Int(fd)
            guard slot.pointee.kind == .connection || slot.pointee.kind == .connecting else { continue }
            let c = Connection(loop: self, fd: fd, generation: slot.pointee.generation)
            slot.pointee.handler?.connectionShouldShutdown(c)
        }
    }

    /// Whether a graceful shutdown is under way.
    public var isShuttingDown: Bool { s.pointee.shutdown != nil }

    func finishShutdown() {
        if let timer = s.pointee.shutdown?.deadlineTimer { cancel(timer) }
        stop()
    }

    /// Turns SIGINT and SIGTERM into a graceful shutdown of this loop (a second signal stops it at
    /// once). The signals are blocked for the calling thread and delivered through a signalfd, so
    /// call this on the main thread before starting other threads (they inherit the mask).
    public func handleTerminationSignals(drainDeadline: Duration = .seconds(10)) throws(SystemError) {
        let fd = try Sys.signalFD(for: [SIGINT, SIGTERM])
        do throws(SystemError) {
            try register(fd, kind: .signal, interest: .read)
        } catch {
            Sys.close(fd)
            throw error
        }
        s.pointee.signalFD = fd
        signalDrainDeadline = drainDeadline
    }

    /// Turns SIGHUP into a call of `onReloadSignal` on this loop (reload certificates or
    /// configuration) instead of the default, which ends the process. Like
    /// `handleTerminationSignals`: call it on the main thread before starting other threads.
    public func handleReloadSignal() throws(SystemError) {
        let fd = try Sys.signalFD(for: [SIGHUP])
        do throws(SystemError) {
            try register(fd, kind: .signal, interest: .read)
        } catch {
            Sys.close(fd)
            throw error
        }
    }

    func handleSignal(_ fd: Int32) {
        while let signal = Sys.readSignal(fd) {
            if signal == SIGHUP {
                onReloadSignal?()
            } else if isShuttingDown {
                finishShutdown()
            } else {
                onTerminationSignal?(signal)
                shutdownGracefully(deadline: signalDrainDeadline)
            }
        }
    }
}
