/// What a TLS server offers: its certificate and key, and the protocol settings. Every setting has
/// a safe default; only the two files are required.
public struct TLSConfiguration: Sendable {
    /// PEM file with the certificate chain: the leaf first, then the intermediates.
    public var certificateChainFile: String
    /// PEM file with the private key of the leaf certificate.
    public var privateKeyFile: String
    /// TLS 1.2 suites: Mozilla's "intermediate" profile (forward secrecy and AEAD only) without
    /// its DHE suites, which would need DH parameters and are slower than ECDHE for no one's gain.
    public var cipherList = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
        + "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
        + "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
    /// TLS 1.3 suites (all three are AEAD; the order is the server's preference).
    public var cipherSuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
    /// Key exchange groups, in order of preference.
    public var groups = "X25519:prime256v1:secp384r1"
    /// Stateless session resumption (RFC 5077 / TLS 1.3 tickets), with keys OpenSSL makes per
    /// context (so a restart or a reload invalidates old tickets, which is the safe side).
    public var sessionTickets = true
    /// `SSL_MODE_RELEASE_BUFFERS`: OpenSSL frees a connection's record buffers whenever they are
    /// empty, so an idle connection holds none (about 34 KiB less each). The price is a malloc
    /// and free of a record buffer per record read and written.
    public var releaseIdleBuffers = true

    public init(certificateChainFile: String, privateKeyFile: String) {
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
    }
}

/// What a TLS client checks: the peer's certificate against the system trust store or a given CA.
public struct TLSClientConfiguration: Sendable {
    /// PEM file of the CA(s) to trust; nil: the system trust store.
    public var trustedCAFile: String?
    /// Verify the peer's certificate and its name (turn off only in tests).
    public var verifyPeer = true
    /// ALPN protocols offered, in order (empty: no ALPN).
    public var alpn: [String] = ["http/1.1"]
    public var releaseIdleBuffers = true
    /// Offer TLS 1.3 (off: TLS 1.2 only, for talking to old servers and for tests of 1.2 rules).
    public var allowTLS13 = true

    public init(trustedCAFile: String? = nil) {
        self.trustedCAFile = trustedCAFile
    }
}

/// A TLS setup or protocol failure, with OpenSSL's reason when it gave one.
public struct TLSError: Error, Sendable, Equatable, CustomStringConvertible {
    public let what: String
    public var description: String { what }
    public init(_ what: String) { self.what = what }
}
