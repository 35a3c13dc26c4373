import CEpollShim
import Glibc

extension EventLoop {
    /// Starts a nonblocking connect. The handler's `connectionDidOpen` runs once it is established;
    /// if it fails, `connectionDidClose` runs with `.connectFailed(errno)`. `timeout` bounds the
    /// attempt (reason `.timeout`). `source`, when given, is the local address to bind first: a
    /// client that holds more connections to one server than one source address has ephemeral
    /// ports for (about 28,000 on Linux) spreads them over 127.0.0.2, 127.0.0.3, ...
    @discardableResult
    public func connect(
        to address: SocketAddress, from source: SocketAddress? = nil, handler: any ConnectionHandler,
        timeout: Duration? = .seconds(10)
    ) throws(SystemError) -> Connection {
        let fd = try Sys.socket(family: address.family)
        try? Sys.setOption(fd, Int32(IPPROTO_TCP), CEPOLL_TCP_NODELAY, 1)
        if let source {
            // Port 0: let connect() choose the port by the whole 4-tuple, not bind() by the
            // address alone, which would make the ports of closed connections (TIME_WAIT)
            // unusable and cap the address at far fewer connections.
            if source.port == 0, source.family == AF_INET {
                try? Sys.setOption(fd, Int32(IPPROTO_IP), IP_BIND_ADDRESS_NO_PORT, 1)
            }
        }
        if let source {
            do throws(SystemError) {
                try Sys.bind(fd, to: source)
            } catch {
                Sys.close(fd)
                throw error
            }
        }
        let e = Sys.connect(fd, to: address)
        if e != 0 {
            Sys.close(fd)
            throw SystemError(errno: e, call: "connect")
        }
        // Either way, completion is reported by writability: one path for immediate and deferred.
        let connection: Connection
        do throws(SystemError) {
            connection = try openConnection(fd, kind: .connecting, interest: .write)
        } catch {
            Sys.close(fd)
            throw error
        }
        s.pointee.slots[Int(fd)].handler = handler
        if let timeout { setTimeout(connection, timeout) }
        return connection
    }

    func completeConnect(_ fd: Int32) {
        let slot = s.pointee.slots + Int(fd)
        let e = Sys.socketError(fd)
        guard e == 0 else {
            closeNow(fd, reason: .connectFailed(e))
            return
        }
        let connection = Connection(loop: self, fd: fd, generation: slot.pointee.generation)
        disarmTimeout(slot)
        slot.pointee.kind = .connection
        updateInterest(fd)
        if slot.pointee.flags.contains(.transformed) {
            transformWillOpen(connection)
            guard liveSlot(connection) != nil else { return }
        }
        slot.pointee.handler?.connectionDidOpen(connection)
    }
}
