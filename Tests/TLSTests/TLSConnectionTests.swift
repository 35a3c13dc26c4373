import ReactorTestSupport
import XCTest
@testable import TLS

/// A client and a server machine joined in memory: what one hands to `send` is the other's input.
private final class Pair {
    let server: TLSConnection
    let client: TLSConnection
    /// Ciphertext in flight each way.
    var toServer: [UInt8] = []
    var toClient: [UInt8] = []
    /// Plaintext each side received.
    var serverGot: [UInt8] = []
    var clientGot: [UInt8] = []

    init(server serverContext: TLSContext, client clientContext: TLSContext, serverName: String? = "localhost",
         serverPlaintextCapacity: Int = 64 * 1024) throws {
        server = try TLSConnection(context: serverContext, buffers: TLSBuffers(plaintextCapacity: serverPlaintextCapacity))
        client = try TLSConnection(context: clientContext, buffers: TLSBuffers(plaintextCapacity: 64 * 1024),
                                   serverName: serverName)
    }

    /// Starts the client's handshake and moves bytes until neither side has any to send.
    func run() {
        client.receive(ciphertext: UnsafeRawBufferPointer(start: nil, count: 0)) { toServer += $0 }
            .withMemoryRebound { clientGot += $0 }
        pump()
    }

    static var none: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: nil, count: 0) }

    func pump() {
        var rounds = 0
        while !(toServer.isEmpty && toClient.isEmpty) && rounds < 100 {
            rounds += 1
            let a = toServer
            toServer = []
            a.withUnsafeBytes { bytes in
                serverGot += server.receive(ciphertext: bytes) { toClient += $0 }
            }
            while server.hasPendingInput { serverGot += server.receive(ciphertext: Self.none) { toClient += $0 } }
            let b = toClient
            toClient = []
            b.withUnsafeBytes { bytes in
                clientGot += client.receive(ciphertext: bytes) { toServer += $0 }
            }
            while client.hasPendingInput { clientGot += client.receive(ciphertext: Self.none) { toServer += $0 } }
        }
    }
}

private extension UnsafeRawBufferPointer {
    func withMemoryRebound(_ body: (UnsafeRawBufferPointer) -> Void) { body(self) }
}

final class TLSConnectionTests: XCTestCase {
    private var serverContext: TLSContext!
    private var clientContext: TLSContext!

    override func setUpWithError() throws {
        let files = TestCertificate.files
        serverContext = try TLSContext(server: TLSConfiguration(certificateChainFile: files.certificate, privateKeyFile: files.key))
        clientContext = try TLSContext(client: TLSClientConfiguration(trustedCAFile: files.certificate))
    }

    func testHandshakeAgreesOnTLS13AndHTTP11() throws {
        let pair = try Pair(server: serverContext, client: clientContext)
        pair.run()
        XCTAssertEqual(pair.server.state, .open)
        XCTAssertEqual(pair.client.state, .open)
        XCTAssertEqual(pair.server.protocolVersion, "TLSv1.3")
        XCTAssertEqual(pair.server.negotiatedProtocol, "http/1.1")
        XCTAssertEqual(pair.client.negotiatedProtocol, "http/1.1")
    }

    func testTLS12Handshake() throws {
        var c = TLSClientConfiguration(trustedCAFile: TestCertificate.files.certificate)
        c.allowTLS13 = false
        let pair = try Pair(server: serverContext, client: TLSContext(client: c))
        pair.run()
        XCTAssertEqual(pair.server.state, .open)
        XCTAssertEqual(pair.server.protocolVersion, "TLSv1.2")
    }

    func testDataBothWaysIncludingLargeWrites() throws {
        let pair = try Pair(server: serverContext, client: clientContext)
        pair.run()
        let request = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        var records = 0
        request.withUnsafeBytes { _ = pair.client.send(plaintext: $0) { pair.toServer += $0; records += 1 } }
        pair.pump()
        XCTAssertEqual(pair.serverGot, request)
        // 100 KB: full 16 KiB records, the whole payload intact on the other side.
        let big = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var wireBytes = 0
        big.withUnsafeBytes { _ = pair.server.send(plaintext: $0) { pair.toClient += $0; wireBytes += $0.count } }
        XCTAssertLessThan(wireBytes, big.count + 7 * 64, "one record per 16 KiB, not per piece")
        pair.pump()
        XCTAssertEqual(pair.clientGot.count, big.count)
        XCTAssertTrue(pair.clientGot == big)
    }

    func testBytesSentBeforeTheHandshakeEndsLeaveAfterIt() throws {
        let pair = try Pair(server: serverContext, client: clientContext)
        let early = Array("early".utf8)
        early.withUnsafeBytes { _ = pair.client.send(plaintext: $0) { pair.toServer += $0 } }
        XCTAssertTrue(pair.toServer.isEmpty)
        pair.run()
        XCTAssertEqual(pair.serverGot, early)
    }

    func testCloseNotifyBothWays() throws {
        let pair = try Pair(server: serverContext, client: clientContext)
        pair.run()
        pair.client.close { pair.toServer += $0 }
        XCTAssertEqual(pair.client.state, .closing)
        XCTAssertFalse(pair.toServer.isEmpty, "close_notify is a record")
        pair.pump()
        XCTAssertEqual(pair.server.state, .closed)
        XCTAssertEqual(pair.client.state, .closed, "the server answered with its close_notify")
        XCTAssertFalse(Array("late".utf8).withUnsafeBytes { pair.server.send(plaintext: $0) { _ in } })
    }

    func testGarbageInsteadOfAClientHelloFails() throws {
        let server = try TLSConnection(context: serverContext, buffers: TLSBuffers(plaintextCapacity: 64 * 1024))
        var out: [UInt8] = []
        let view = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8).withUnsafeBytes {
            server.receive(ciphertext: $0) { out += $0 }.count
        }
        XCTAssertEqual(view, 0)
        guard case .failed(let reason) = server.state else { return XCTFail("state \(server.state)") }
        XCTAssertFalse(reason.isEmpty)
        // Further input is ignored, not a crash.
        _ = [UInt8](repeating: 0x16, count: 100).withUnsafeBytes { server.receive(ciphertext: $0) { _ in } }
        XCTAssertFalse(server.isOpen)
    }

    /// Found by the fuzz target: OpenSSL keeps a record it took apart before failing in
    /// `SSL_pending`, which must not read as input to drain (the loop would ask forever).
    func testApplicationDataInsteadOfAClientHelloLeavesNothingPending() throws {
        let server = try TLSConnection(context: serverContext, buffers: TLSBuffers(plaintextCapacity: 64 * 1024))
        let record: [UInt8] = [0x17, 0x03, 0x01, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03]
        let got = record.withUnsafeBytes { server.receive(ciphertext: $0) { _ in }.count }
        XCTAssertEqual(got, 0)
        guard case .failed = server.state else { return XCTFail("state \(server.state)") }
        XCTAssertFalse(server.hasPendingInput)
    }

    func testRandomBytesNeverOpenAConnection() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let server = try TLSConnection(context: serverContext, buffers: TLSBuffers(plaintextCapacity: 64 * 1024))
            let bytes = (0..<Int.random(in: 1...3000, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let got = bytes.withUnsafeBytes { server.receive(ciphertext: $0) { _ in }.count }
            XCTAssertEqual(got, 0)
            XCTAssertNotEqual(server.state, .open)
        }
    }

    func testARecordSplitAtEveryByteStillDecrypts() throws {
        let pair = try Pair(server: serverContext, client: clientContext)
        pair.run()
        var wire: [UInt8] = []
        let message = Array("split across reads".utf8)
        message.withUnsafeBytes { _ = pair.client.send(plaintext: $0) { wire += $0 } }
        var got: [UInt8] = []
        for byte in wire {
            [byte].withUnsafeBytes { got += pair.server.receive(ciphertext: $0) { _ in } }
        }
        XCTAssertEqual(got, message)
        XCTAssertEqual(pair.server.state, .open)
    }

    func testATamperedRecordFailsTheConnection() throws {
        let pair = try Pair(server: serverContext, client: clientContext)
        pair.run()
        var wire: [UInt8] = []
        Array("secret".utf8).withUnsafeBytes { _ = pair.client.send(plaintext: $0) { wire += $0 } }
        wire[wire.count - 1] ^= 0x01
        var alert: [UInt8] = []
        let got = wire.withUnsafeBytes { pair.server.receive(ciphertext: $0) { alert += $0 }.count }
        XCTAssertEqual(got, 0)
        guard case .failed = pair.server.state else { return XCTFail("state \(pair.server.state)") }
        XCTAssertFalse(alert.isEmpty, "the peer is told (bad_record_mac alert)")
    }

    func testATruncatedRecordWaitsAndYieldsNothing() throws {
        let pair = try Pair(server: serverContext, client: clientContext)
        pair.run()
        var wire: [UInt8] = []
        Array("truncated".utf8).withUnsafeBytes { _ = pair.client.send(plaintext: $0) { wire += $0 } }
        let got = wire.dropLast(3).withUnsafeBytes { pair.server.receive(ciphertext: $0) { _ in }.count }
        XCTAssertEqual(got, 0)
        XCTAssertEqual(pair.server.state, .open, "a record cut short waits for its rest (the loop's timeouts bound the wait)")
    }

    func testRenegotiationIsRefused() throws {
        var c = TLSClientConfiguration(trustedCAFile: TestCertificate.files.certificate)
        c.allowTLS13 = false
        let pair = try Pair(server: serverContext, client: TLSContext(client: c))
        pair.run()
        XCTAssertEqual(pair.server.protocolVersion, "TLSv1.2")
        XCTAssertTrue(pair.client.requestRenegotiation { pair.toServer += $0 })
        XCTAssertFalse(pair.toServer.isEmpty, "a ClientHello went out")
        pair.pump()
        // The server refuses with a no_renegotiation alert; OpenSSL's client gives up on that
        // with a fatal alert, which ends the server's side too: a clean failure, no second handshake.
        guard case .failed(let clientReason) = pair.client.state else { return XCTFail("client \(pair.client.state)") }
        XCTAssertTrue(clientReason.contains("no renegotiation"), clientReason)
        guard case .failed = pair.server.state else { return XCTFail("server \(pair.server.state)") }
    }

    func testSessionTicketResumes() throws {
        let first = try Pair(server: serverContext, client: clientContext)
        first.run()
        // TLS 1.3 tickets come after the handshake: exchange one record so the client reads them.
        Array("x".utf8).withUnsafeBytes { _ = first.server.send(plaintext: $0) { first.toClient += $0 } }
        first.pump()
        let session = try XCTUnwrap(first.client.copySession())
        let second = try Pair(server: serverContext, client: clientContext)
        second.client.resume(session: session)
        second.run()
        XCTAssertEqual(second.server.state, .open)
        XCTAssertTrue(second.server.isResumed)
    }

    func testWrongNameIsRejectedByTheClient() throws {
        let pair = try Pair(server: serverContext, client: clientContext, serverName: "example.com")
        pair.run()
        guard case .failed = pair.client.state else { return XCTFail("client state \(pair.client.state)") }
        XCTAssertNotEqual(pair.server.state, .open)
    }

    func testSNIPicksTheCertificateForTheRequestedName() throws {
        let other = TestCertificate.make(name: "other.test")
        let files = TestCertificate.files
        let context = try TLSContext(
            server: TLSConfiguration(certificateChainFile: files.certificate, privateKeyFile: files.key),
            alternatives: [TLSConfiguration(certificateChainFile: other.certificate, privateKeyFile: other.key)])
        // A client that trusts only the other certificate and asks for its name is served it.
        let trustsOther = try TLSContext(client: TLSClientConfiguration(trustedCAFile: other.certificate))
        let named = try Pair(server: context, client: trustsOther, serverName: "other.test")
        named.run()
        XCTAssertEqual(named.client.state, .open)
        // Asking for the default name (or one no alternative covers) gets the default certificate.
        let plain = try Pair(server: context, client: clientContext, serverName: "localhost")
        plain.run()
        XCTAssertEqual(plain.client.state, .open)
        let unknown = try Pair(server: context, client: trustsOther, serverName: "unknown.test")
        unknown.run()
        guard case .failed = unknown.client.state else { return XCTFail("client \(unknown.client.state)") }
    }

    func testMissingKeyFileIsAnError() {
        let c = TLSConfiguration(certificateChainFile: TestCertificate.files.certificate, privateKeyFile: "/nonexistent.pem")
        XCTAssertThrowsError(try TLSContext(server: c))
    }

    func testFullPlaintextBufferLeavesTheRestPending() throws {
        // A server whose plaintext buffer is small: 40 KB arrives, 20 KiB fits per call.
        let pair = try Pair(server: serverContext, client: clientContext, serverPlaintextCapacity: 20 * 1024)
        pair.run()
        let big = (0..<40_000).map { UInt8(truncatingIfNeeded: $0) }
        var wire: [UInt8] = []
        big.withUnsafeBytes { _ = pair.client.send(plaintext: $0) { wire += $0 } }
        var got = wire.withUnsafeBytes { Array(pair.server.receive(ciphertext: $0) { _ in }) }
        var calls = 1
        while pair.server.hasPendingInput && calls < 10 {
            got += pair.server.receive(ciphertext: UnsafeRawBufferPointer(start: nil, count: 0)) { _ in }
            calls += 1
        }
        XCTAssertEqual(got.count, big.count)
        XCTAssertTrue(got == big)
        XCTAssertGreaterThan(calls, 1, "it did not all fit at once")
    }
}
