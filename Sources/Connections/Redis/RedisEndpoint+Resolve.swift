import Glibc
import Protocols
import Reactor

extension RedisEndpoint {
    /// The address to connect to: the numeric host itself, or the name resolved with getaddrinfo,
    /// IPv4 first (`localhost` is 127.0.0.1, which a default redis-server binds, before ::1).
    /// Blocks while resolving: call it before the loop runs.
    public func resolve() throws(RedisEndpointError) -> SocketAddress {
        if let numeric = try? SocketAddress(ip: host, port: port) { return numeric }
        let all: [SocketAddress]
        do {
            all = try SocketAddress.resolve(host: host, port: port)
        } catch {
            throw RedisEndpointError("cannot resolve redis host '\(host)'")
        }
        guard let chosen = all.first(where: { $0.family == AF_INET }) ?? all.first else {
            throw RedisEndpointError("redis host '\(host)' has no address")
        }
        return chosen
    }
}
