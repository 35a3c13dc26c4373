import Foundation

/// A self-signed P-256 certificate for `localhost`, made once per test run by the `openssl` tool
/// into a temporary directory (nothing secret is committed, and the test judges its own machine
/// against a certificate OpenSSL made, not one we wrote).
public enum TestCertificate {
    public struct Files: Sendable {
        public let directory: String
        public let certificate: String
        public let key: String
    }

    public static let files: Files = make(name: "localhost")

    /// A certificate for `name` (its CN and DNS SAN), in a directory of its own.
    public static func make(name: String) -> Files {
        let directory = NSTemporaryDirectory() + "tls-tests-\(getpid())-\(name)"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let files = Files(directory: directory, certificate: directory + "/cert.pem", key: directory + "/key.pem")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                       "-days", "2", "-subj", "/CN=\(name)", "-addext", "subjectAltName=DNS:\(name)",
                       "-keyout", files.key, "-out", files.certificate]
        p.standardError = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        try! p.run()
        p.waitUntilExit()
        precondition(p.terminationStatus == 0, "openssl req failed")
        return files
    }
}
