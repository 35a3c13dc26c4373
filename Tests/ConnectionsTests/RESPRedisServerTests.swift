import Foundation
import Glibc
import Connections
import Protocols
import Reactor
import ReactorTestSupport
import XCTest

/// The Redis client and the relay against a real `redis-server` (Debian's package) on a loopback
/// port, started and killed by the tests. Skipped when redis-server is not installed.
final class RESPRedisServerTests: XCTestCase {
    /// A redis-server child process on 127.0.0.1, without persistence (a restart comes back empty).
    final class RedisServer: @unchecked Sendable {
        let port: UInt16
        private var process: Process?
        static let binary: String? = {
            let candidates = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
            if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) { return found }
            // `swift test` installs nothing: without Debian's redis-server these tests skip (.ci/run
            // installs it first, so CI runs them).
            return nil
        }()

        init() throws {
            guard Self.binary != nil else { throw XCTSkip("redis-server is not installed (apt-get install redis-server)") }
            port = try Self.freePort()
            try start()
        }

        func start() throws {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Self.binary!)
            p.arguments = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--enable-debug-command", "local"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            process = p
            // Ready when it accepts connections.
            for _ in 0..<500 {
                if (try? BlockingClient(port: port, timeoutSeconds: 1)).map({ $0.close(); return true }) == true { return }
                usleep(10_000)
            }
            throw XCTSkip("redis-server did not start on port \(port)")
        }

        /// SIGKILL: no goodbye to clients, and everything in memory is lost.
        func kill() {
            guard let p = process else { return }
            Glibc.kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            process = nil
        }

        deinit { kill() }

        /// Runs one command with a blocking client and returns the raw reply (tests only).
        func command(_ args: [String]) -> RESPValue? {
            guard let c = try? BlockingClient(port: port) else { return nil }
            defer { c.close() }
            c.send(RESPEncoder.command(args))
            var buffer: [UInt8] = []
            var decoder = RESPDecoder()
            while true {
                var chunk = [UInt8](repeating: 0, count: 65536)
                let n = recv(c.fd, &chunk, chunk.count, 0)
                guard n > 0 else { return nil }
                buffer += chunk[..<n]
                if let (v, _) = try? buffer.withUnsafeBytes({ try decoder.decode($0) }) { return v }
            }
        }

        static func freePort() throws -> UInt16 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_addr.s_addr = inet_addr("127.0.0.1")
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
            _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
            return UInt16(bigEndian: a.sin_port)
        }
    }

    /// Objects that live on one loop, reached from the test thread only through `onLoop`.
    final class Box<T>: @unchecked Sendable { var value: T?; init() {} }

    static func configuration(resp3: Bool = true) -> RedisConfiguration {
        var c = RedisConfiguration()
        c.preferRESP3 = resp3
        c.backoff = ReconnectBackoff(initial: .milliseconds(20), maximum: .milliseconds(200))
        return c
    }

    func connect(_ thread: EventLoopThread, _ server: RedisServer, resp3: Bool = true,
                 log: Shared<[String]> = Shared([]), setup: @escaping @Sendable (RedisConnection) -> Void = { _ in }) -> Box<RedisConnection> {
        let box = Box<RedisConnection>()
        let port = server.port
        onLoop(thread) { loop in
            let c = RedisConnection(loop: loop, endpoint: RedisEndpoint(host: "127.0.0.1", port: port),
                                    address: try! SocketAddress(ip: "127.0.0.1", port: port),
                                    configuration: Self.configuration(resp3: resp3),
                                    log: LogSink(level: .debug) { _, line in log.with { $0.append(line) } })
            setup(c)
            c.start()
            box.value = c
        }
        XCTAssertTrue(eventually(5) { onLoop(thread) { _ in box.value!.isReady } }, "never connected")
        return box
    }

    // MARK: The connection

    func testPipelinedCommandsAreAnsweredInOrderOverRESP3() throws {
        let server = try RedisServer()
        let thread = try EventLoopThread()
        defer { thread.stopAndJoin() }
        let c = connect(thread, server)
        let results = Shared<[Result<RESPValue, RedisError>]>([])
        onLoop(thread) { _ in
            let redis = c.value!
            XCTAssertEqual(redis.version, .resp3)
            redis.batch {
                for i in 0..<1000 {
                    redis.send(["SET", "k\(i)", "v\(i)"])
                    redis.send(["GET", "k\(i)"]) { r in results.with { $0.append(r) } }
                }
                redis.send(["HGETALL", "nothing"]) { r in results.with { $0.append(r) } }  // RESP3: an empty map
                redis.send(["NOSUCHCOMMAND"]) { r in results.with { $0.append(r) } }
            }
        }
        XCTAssertTrue(eventually(5) { results.get.count == 1002 })
        let got = results.get
        for i in 0..<1000 { XCTAssertEqual(try got[i].get(), .bulkString(Array("v\(i)".utf8))) }
        XCTAssertEqual(try got[1000].get(), .map([]))
        guard case .failure(.server(let e)) = got[1001] else { return XCTFail("an unknown command must be a server error") }
        XCTAssertTrue(e.hasPrefix("ERR unknown command"), e)
    }

    func testRepliesLargerThanTheReceiveBuffer() throws {
        let server = try RedisServer()
        let thread = try EventLoopThread()
        defer { thread.stopAndJoin() }
        let c = connect(thread, server)
        let value = String(repeating: "0123456789abcdef", count: 40_000)  // 640 KB
        let got = Shared<[RESPValue]>([])
        onLoop(thread) { _ in
            c.value!.send(["SET", "big", value])
            for _ in 0..<3 { c.value!.send(["GET", "big"]) { r in got.with { $0.append(try! r.get()) } } }
            c.value!.send(["PING"]) { r in got.with { $0.append(try! r.get()) } }
        }
        XCTAssertTrue(eventually(10) { got.get.count == 4 })
        XCTAssertEqual(got.get.prefix(3).map { $0.bytes?.count }, [640_000, 640_000, 640_000])
        XCTAssertEqual(got.get.first?.string, value)
        XCTAssertEqual(got.get.last, .simpleString("PONG"))
    }

    func testSubscriberModeOverRESP2AndRESP3() throws {
        let server = try RedisServer()
        let thread = try EventLoopThread()
        defer { thread.stopAndJoin() }
        for resp3 in [false, true] {
            let messages = Shared<[RedisPubSubMessage]>([])
            let subscribed = Shared(0)
            let sub = connect(thread, server, resp3: resp3) { c in
                c.onMessage = { m in messages.with { $0.append(m) } }
                c.onSubscribed = { subscribed.with { $0 += 1 } }
                c.subscribe(channels: ["news"])
                c.psubscribe(patterns: ["room:*"])
            }
            XCTAssertTrue(eventually(5) { subscribed.get == 2 })
            let pub = connect(thread, server)
            let refused = Shared<RedisError?>(nil)
            onLoop(thread) { _ in
                pub.value!.send(["PUBLISH", "news", "one"])
                pub.value!.send(["PUBLISH", "room:7", "two"])
                pub.value!.send(["PUBLISH", "other", "three"])
                // RESP2 in subscribed mode takes only subscribe commands and PING; RESP3 takes all.
                sub.value!.send(["GET", "x"]) { r in if case .failure(let e) = r { refused.with { $0 = e } } }
                sub.value!.send(["PING"])
            }
            XCTAssertTrue(eventually(5) { messages.get.count == 2 })
            XCTAssertEqual(messages.get, [
                RedisPubSubMessage(channel: Array("news".utf8), payload: Array("one".utf8)),
                RedisPubSubMessage(channel: Array("room:7".utf8), pattern: Array("room:*".utf8), payload: Array("two".utf8)),
            ])
            if resp3 { XCTAssertNil(refused.get) } else { XCTAssertEqual(refused.get, .invalidCommand("GET cannot be sent on a RESP2 connection in subscribed mode")) }
            onLoop(thread) { _ in
                XCTAssertEqual(sub.value!.version, resp3 ? .resp3 : .resp2)
                sub.value!.close()
                pub.value!.close()
            }
        }
    }

    /// Redis killed and restarted: one log line per change (not per retry), commands fail fast
    /// while it is down, and the connection comes back with its subscriptions.
    func testReconnectsAfterRedisRestartsLoggingOncePerChange() throws {
        let server = try RedisServer()
        let thread = try EventLoopThread()
        defer { thread.stopAndJoin() }
        let log = Shared<[String]>([])
        let messages = Shared<[String]>([])
        let downs = Shared(0)
        let c = connect(thread, server, log: log) { c in
            c.onMessage = { m in messages.with { $0.append(String(decoding: m.payload, as: UTF8.self)) } }
            c.onDown = { _ in downs.with { $0 += 1 } }
            c.subscribe(channels: ["ch"])
        }
        server.kill()
        XCTAssertTrue(eventually(5) { downs.get == 1 })
        usleep(700_000)  // several retries (backoff capped at 200 ms)
        let whileDown = Shared<RedisError?>(nil)
        onLoop(thread) { _ in c.value!.send(["PING"]) { r in if case .failure(let e) = r { whileDown.with { $0 = e } } } }
        guard case .notConnected(let why)? = whileDown.get else { return XCTFail("a command while down must fail at once: \(String(describing: whileDown.get))") }
        XCTAssertEqual(why, "connection refused")
        let lines = log.get
        XCTAssertEqual(lines.count, 3, "\(lines)")
        // A killed server's socket closes with a FIN or, when data was unread, a reset.
        let lost = ["closed", "reset"].map { "redis 127.0.0.1:\(server.port) connection lost: connection \($0) by the server; reconnecting in " }
        XCTAssertTrue(lost.contains { lines[1].hasPrefix($0) }, lines[1])
        XCTAssertTrue(lines[2].hasPrefix("redis 127.0.0.1:\(server.port) unreachable: connection refused; retrying in "), lines[2])

        try server.start()
        XCTAssertTrue(eventually(5) { onLoop(thread) { _ in c.value!.isReady } })
        XCTAssertTrue(log.get.last!.contains("reachable again after"), log.get.last!)
        // Re-subscribed: a message published now arrives.
        XCTAssertTrue(eventually(5) {
            _ = server.command(["PUBLISH", "ch", "back"])
            return messages.get.contains("back")
        })
        onLoop(thread) { _ in c.value!.close() }
    }

    func testACommandInFlightWhenTheConnectionDropsFailsAsLost() throws {
        let server = try RedisServer()
        let thread = try EventLoopThread()
        defer { thread.stopAndJoin() }
        let c = connect(thread, server)
        let result = Shared<Result<RESPValue, RedisError>?>(nil)
        onLoop(thread) { _ in
            // DEBUG SLEEP holds the reply; the server dies meanwhile.
            c.value!.send(["DEBUG", "SLEEP", "2"]) { r in result.with { $0 = r } }
        }
        usleep(200_000)
        server.kill()
        XCTAssertTrue(eventually(5) { result.get != nil })
        guard case .failure(.connectionLost)? = result.get else { return XCTFail("\(String(describing: result.get))") }
        onLoop(thread) { _ in c.value!.close() }
    }

    func testAReplyThatNeverComesDropsTheConnection() throws {
        let server = try RedisServer()
        let thread = try EventLoopThread()
        defer { thread.stopAndJoin() }
        let box = Box<RedisConnection>()
        let port = server.port
        let result = Shared<Result<RESPValue, RedisError>?>(nil)
        onLoop(thread) { loop in
            var configuration = Self.configuration()
            configuration.replyTimeout = .milliseconds(300)
            let c = RedisConnection(loop: loop, endpoint: RedisEndpoint(host: "127.0.0.1", port: port),
                                    address: try! SocketAddress(ip: "127.0.0.1", port: port), configuration: configuration)
            c.onReady = { c.send(["DEBUG", "SLEEP", "1"]) { r in if result.get == nil { result.with { $0 = r } } } }
            c.start()
            box.value = c
        }
        XCTAssertTrue(eventually(5) { result.get != nil })
        guard case .failure(.connectionLost(let why))? = result.get else { return XCTFail("\(String(describing: result.get))") }
        XCTAssertEqual(why, "no reply within 300 ms")
        onLoop(thread) { _ in box.value!.close() }
    }
}
