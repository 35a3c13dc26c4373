import Foundation

/// The tls scenario's certificates: a self-signed RSA 2048 and a self-signed ECDSA P-256
/// certificate for localhost, made for each run with `openssl req` (as Tests/Conformance/tls.sh
/// makes its own) in a temporary directory that `remove()` deletes.
struct TLSCertificates {
    struct Pair {
        let name: String
        let certificate: String
        let key: String
    }

    let directory: String
    let rsa: Pair
    let ecdsa: Pair

    static func make(_ context: Context) throws -> TLSCertificates {
        let directory = NSTemporaryDirectory() + "reactor-bench-tls-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func pair(_ name: String, _ keyOptions: [String]) throws -> Pair {
            let p = Pair(name: name, certificate: "\(directory)/\(name)-cert.pem", key: "\(directory)/\(name)-key.pem")
            // A child, so that openssl's progress dots go to its log rather than the terminal.
            let openssl = try Child(name: "openssl req", command: ["openssl", "req", "-x509"] + keyOptions + [
                "-nodes", "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                "-keyout", p.key, "-out", p.certificate,
            ], logPath: context.logPath("tls-openssl-\(name)"))
            defer { openssl.stop() }
            guard openssl.wait(timeout: 60) == 0 else { throw BenchError("openssl req failed:\n\(openssl.logTail())") }
            return p
        }
        return TLSCertificates(
            directory: directory,
            rsa: try pair("rsa2048", ["-newkey", "rsa:2048"]),
            ecdsa: try pair("p256", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]))
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}
