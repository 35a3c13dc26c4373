import Foundation
import Glibc
import Connections
import Protocols
import Reactor
import ReactorTestSupport
import TLS
import XCTest

/// `rediss://`: the Redis client over TLS against Debian's redis-server with its TLS port on (the
/// test certificate as its certificate and CA). Skipped when redis-server is not installed.
final class RedisTLSTests: XCTestCase {
    func testCommandsOverRediss() throws {
        guard let binary = RESPRedisServerTests.RedisServer.binary else { throw XCTSkip("redis-server is not installed") }
        let port = try RESPRedisServerTests.RedisServer.freePort()
        let files = TestCertificate.files
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["--port", "0", "--tls-port", String(port), "--tls-cert-file", files.certificate, "--tls-key-file", files.key,
                       "--tls-ca-cert-file", files.certificate, "--tls-auth-clients", "no", "--bind", "127.0.0.1",
                       "--save", "", "--appendonly", "no", "--daemonize", "no"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        XCTAssertTrue(eventually(5) { (try? BlockingClient(port: port, timeoutSeconds: 1)).map { $0.close(); return true } ?? false })

        let thread = try EventLoopThread()
        defer { thread.stopAndJoin() }
        let tls = try TLSClient(configuration: TLSClientConfiguration(trustedCAFile: files.certificate), log: .discard)
        let endpoint = try RedisEndpoint(url: "rediss://localhost:\(port)")
        XCTAssertTrue(endpoint.tls)
        let box = RESPRedisServerTests.Box<RedisConnection>()
        onLoop(thread) { loop in
            let c = RedisConnection(loop: loop, endpoint: endpoint, address: try! SocketAddress(ip: "127.0.0.1", port: port),
                                    configuration: RESPRedisServerTests.configuration(), tls: tls, log: .discard)
            c.start()
            box.value = c
        }
        XCTAssertTrue(eventually(5) { onLoop(thread) { _ in box.value!.isReady } }, "never connected over TLS")
        let results = Shared<[Result<RESPValue, RedisError>]>([])
        onLoop(thread) { _ in
            let redis = box.value!
            redis.send(["SET", "k", "over tls"])
            redis.send(["GET", "k"]) { r in results.with { $0.append(r) } }
        }
        XCTAssertTrue(eventually(5) { results.get.count == 1 })
        XCTAssertEqual(try results.get[0].get(), .bulkString(Array("over tls".utf8)))
        onLoop(thread) { _ in box.value!.close() }
    }
}
