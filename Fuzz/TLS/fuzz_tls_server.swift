// libFuzzer target for the TLS machine (Sources/TLS) as a server: arbitrary bytes where a
// ClientHello should be, and arbitrary records after a real handshake.
//
// The first byte holds the options: bit 0 the mode, bits 1-7 the chunk size (0: whole). Mode 0:
// the rest is fed from the first byte, as a peer that is not a TLS client (or a broken one) would
// send it. Mode 1: a client machine handshakes with the server in memory first, then the rest is
// fed as if the client sent it after the handshake (records with a wrong key, truncated ones,
// alerts, garbage). Either way: no trap, every view lies in the plaintext buffer and holds at
// least the prefix, a failed or closed connection stays so and yields nothing more, and no
// plaintext appears before the handshake is done.
import Glibc

func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("invariant violated: \(message())") }
}

// A self-signed P-256 certificate and key made for this fuzz target only (CN=fuzz.invalid): it
// protects nothing. Written to temporary files once, since TLSContext reads PEM files.
let certificatePEM = """
-----BEGIN CERTIFICATE-----
MIIBgzCCASmgAwIBAgIUNxwgDfw9U70mZhqag1pu5p37Y9UwCgYIKoZIzj0EAwIw
FzEVMBMGA1UEAwwMZnV6ei5pbnZhbGlkMB4XDTI2MTIwNzAzNDMxNVoXDTM2MTIw
NDAzNDMxNVowFzEVMBMGA1UEAwwMZnV6ei5pbnZhbGlkMFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAEcYcLie7LFXckHQNiiG/pV0gFI1p3mlgdPTrtvWgt8owWaAp+
ECBHgTf97bmHZ3eKPGXSH34Ca9AQhgDDA74w4aNTMFEwHQYDVR0OBBYEFE64ihs7
lCs6YH3tBVT9+XoH/pE/MB8GA1UdIwQYMBaAFE64ihs7lCs6YH3tBVT9+XoH/pE/
MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIga+ZG94bJjGL7HvVS
/yF5jBSG3lKkqZIII7sZpT4LA/0CIQD/T03hcREXmvWyKq5aFh2ArjlxZnbHsQi2
/zUT19RV/A==
-----END CERTIFICATE-----
"""
let keyPEM = """
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgdNdF34MnOyp1rCmh
LX34i+JHQ3yxRak4VsXjZKflADyhRANCAARxhwuJ7ssVdyQdA2KIb+lXSAUjWnea
WB09Ou29aC3yjBZoCn4QIEeBN/3tuYdnd4o8ZdIffgJr0BCGAMMDvjDh
-----END PRIVATE KEY-----
"""

func temporaryFile(_ text: String) -> String {
    var template = Array("/tmp/tls-fuzz-XXXXXX".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    check(fd >= 0, "mkstemp")
    let bytes = Array(text.utf8)
    check(bytes.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) } == bytes.count, "write")
    close(fd)
    return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}

let certificateFile = temporaryFile(certificatePEM)
let keyFile = temporaryFile(keyPEM)
let serverContext = try! TLSContext(server: TLSConfiguration(certificateChainFile: certificateFile, privateKeyFile: keyFile))
let clientContext: TLSContext = {
    var c = TLSClientConfiguration()
    c.verifyPeer = false
    return try! TLSContext(client: c)
}()

let plaintextCapacity = 64 * 1024

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let options = bytes[0]
    let handshakeFirst = options & 1 == 1
    let chunk = Int(options >> 1)
    let input = UnsafeRawBufferPointer(start: bytes + 1, count: size - 1)

    let serverBuffers = TLSBuffers(plaintextCapacity: plaintextCapacity)
    let server = try! TLSConnection(context: serverContext, buffers: serverBuffers)
    var toClient: [UInt8] = []
    let prefix: [UInt8] = Array("kept".utf8)

    if handshakeFirst {
        let client = try! TLSConnection(context: clientContext, buffers: TLSBuffers(plaintextCapacity: plaintextCapacity))
        var toServer: [UInt8] = []
        _ = client.receive(ciphertext: UnsafeRawBufferPointer(start: nil, count: 0)) { toServer += $0 }
        var rounds = 0
        while !(toServer.isEmpty && toClient.isEmpty) && rounds < 20 {
            rounds += 1
            let a = toServer; toServer = []
            _ = a.withUnsafeBytes { server.receive(ciphertext: $0) { toClient += $0 } }
            let b = toClient; toClient = []
            _ = b.withUnsafeBytes { client.receive(ciphertext: $0) { toServer += $0 } }
        }
        check(server.state == .open, "the in-memory handshake failed: \(server.state)")
    }

    var offset = 0
    while offset < input.count || offset == 0 {
        let n = chunk == 0 ? input.count - offset : min(chunk, input.count - offset)
        let wasOpen = server.isOpen
        let before = server.state
        let view = prefix.withUnsafeBytes { p in
            server.receive(ciphertext: UnsafeRawBufferPointer(rebasing: input[offset..<(offset + n)]), prefix: p) { toClient += $0 }
        }
        check(view.count >= prefix.count && view.count <= plaintextCapacity, "view of \(view.count) bytes")
        check(Array(view.prefix(prefix.count)) == prefix, "the prefix comes first")
        if !wasOpen { check(view.count == prefix.count, "plaintext before the handshake finished") }
        switch before {
        case .failed, .closed:
            check(server.state == before, "left \(before) for \(server.state)")
            check(view.count == prefix.count, "plaintext after \(before)")
        default: break
        }
        // Draining what did not fit must end.
        var drains = 0
        while server.hasPendingInput && drains < 64 {
            drains += 1
            _ = server.receive(ciphertext: UnsafeRawBufferPointer(start: nil, count: 0)) { toClient += $0 }
        }
        check(drains < 64, "pending input that never drains")
        offset += max(n, 1)
    }
    // Sending and closing after whatever happened: no trap, and refused unless open.
    let sent = Array("reply".utf8).withUnsafeBytes { server.send(plaintext: $0) { toClient += $0 } }
    if case .failed = server.state { check(!sent, "sent on a failed connection") }
    server.close { toClient += $0 }
    return 0
}
