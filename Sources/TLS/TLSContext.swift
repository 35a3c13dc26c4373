import COpenSSL

/// One OpenSSL `SSL_CTX` (server or client) and the BIO method its connections read and write
/// through. Shared by every connection it makes (OpenSSL's context is reference counted and
/// read-only after setup, so several loops may share one); freed when the last user lets go.
public final class TLSContext: @unchecked Sendable {
    let ctx: OpaquePointer
    let bioMethod: OpaquePointer
    let isServer: Bool
    let releaseIdleBuffers: Bool
    /// Server contexts for other names (SNI), tried in order against the name a client asks for.
    let alternatives: [TLSContext]

    /// A server context from PEM files. Throws when a file cannot be read, the key does not match
    /// the certificate, or a setting is refused.
    ///
    /// With `alternatives` (SNI, several certificates on one port): a client that names a host
    /// (server_name) gets the first alternative whose certificate covers that name (its SAN or
    /// CN, wildcards as OpenSSL's `X509_check_host` allows); any other client gets `c`'s.
    public init(server c: TLSConfiguration, alternatives: [TLSConfiguration] = []) throws(TLSError) {
        var others: [TLSContext] = []
        for a in alternatives { others.append(try TLSContext(server: a)) }
        self.alternatives = others
        guard let ctx = SSL_CTX_new(TLS_server_method()) else { throw Self.lastError("SSL_CTX_new") }
        guard let method = copenssl_io_method_new() else {
            SSL_CTX_free(ctx)
            throw Self.lastError("BIO_meth_new")
        }
        self.ctx = ctx
        self.bioMethod = method
        self.isServer = true
        self.releaseIdleBuffers = c.releaseIdleBuffers
        try commonSetup()
        // Renegotiation is a DoS lever (a handshake's CPU at the client's will) and TLS 1.3 has none.
        SSL_CTX_set_options(ctx, copenssl_op_no_renegotiation() | copenssl_op_cipher_server_preference())
        if !c.sessionTickets { SSL_CTX_set_options(ctx, copenssl_op_no_ticket()) }
        // Tickets only: no server-side session cache that peers could grow.
        _ = copenssl_ctx_set_session_cache_mode(ctx, Int(SSL_SESS_CACHE_OFF))
        try check(SSL_CTX_set_cipher_list(ctx, c.cipherList), "cipher list \(c.cipherList)")
        try check(SSL_CTX_set_ciphersuites(ctx, c.cipherSuites), "TLS 1.3 suites \(c.cipherSuites)")
        try check(copenssl_ctx_set_groups(ctx, c.groups), "groups \(c.groups)")
        try check(SSL_CTX_use_certificate_chain_file(ctx, c.certificateChainFile), "certificate chain \(c.certificateChainFile)")
        try check(SSL_CTX_use_PrivateKey_file(ctx, c.privateKeyFile, SSL_FILETYPE_PEM), "private key \(c.privateKeyFile)")
        try check(SSL_CTX_check_private_key(ctx), "key does not match certificate")
        copenssl_ctx_use_alpn_http11(ctx)
        if !others.isEmpty {
            _ = copenssl_ctx_set_servername_cb(ctx, Self.chooseByServerName, Unmanaged.passUnretained(self).toOpaque())
        }
    }

    /// OpenSSL's server_name callback: switches the connection to the alternative whose
    /// certificate covers the requested name. The context outlives its connections (each `SSL`
    /// holds its `SSL_CTX`, and every `TLSConnection` holds its `TLSContext`), so the unretained
    /// pointer is safe.
    static let chooseByServerName: @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int32>?, UnsafeMutableRawPointer?) -> Int32 = {
        ssl, _, arg in
        guard let ssl, let arg, let name = copenssl_servername(ssl) else { return copenssl_tlsext_err_ok() }
        let context = Unmanaged<TLSContext>.fromOpaque(arg).takeUnretainedValue()
        for alternative in context.alternatives {
            if let certificate = SSL_CTX_get0_certificate(alternative.ctx),
               X509_check_host(certificate, name, 0, 0, nil) == 1 {
                _ = SSL_set_SSL_CTX(ssl, alternative.ctx)
                break
            }
        }
        return copenssl_tlsext_err_ok()
    }

    /// A client context: verifies the peer against `trustedCAFile` or the system trust store.
    public init(client c: TLSClientConfiguration) throws(TLSError) {
        guard let ctx = SSL_CTX_new(TLS_client_method()) else { throw Self.lastError("SSL_CTX_new") }
        guard let method = copenssl_io_method_new() else {
            SSL_CTX_free(ctx)
            throw Self.lastError("BIO_meth_new")
        }
        self.ctx = ctx
        self.bioMethod = method
        self.isServer = false
        self.releaseIdleBuffers = c.releaseIdleBuffers
        self.alternatives = []
        try commonSetup()
        if let ca = c.trustedCAFile {
            try check(SSL_CTX_load_verify_locations(ctx, ca, nil), "CA file \(ca)")
        } else {
            try check(SSL_CTX_set_default_verify_paths(ctx), "system trust store")
        }
        if !c.allowTLS13 { try check(copenssl_ctx_set_max_proto(ctx, copenssl_tls1_2_version()), "maximum TLS 1.2") }
        SSL_CTX_set_verify(ctx, c.verifyPeer ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nil)
        if !c.alpn.isEmpty {
            var wire: [UInt8] = []
            for p in c.alpn { wire.append(UInt8(clamping: p.utf8.count)); wire += p.utf8 }
            guard SSL_CTX_set_alpn_protos(ctx, wire, UInt32(wire.count)) == 0 else { throw Self.lastError("ALPN") }
        }
    }

    private func commonSetup() throws(TLSError) {
        try check(copenssl_ctx_set_min_proto(ctx, copenssl_tls1_2_version()), "minimum TLS 1.2")
        try check(copenssl_ctx_set_max_proto(ctx, copenssl_tls1_3_version()), "maximum TLS 1.3")
        SSL_CTX_set_options(ctx, copenssl_op_no_compression())
        var mode = copenssl_mode_partial_write()
        if releaseIdleBuffers { mode |= copenssl_mode_release_buffers() }
        _ = copenssl_ctx_set_mode(ctx, mode)
    }

    deinit {
        SSL_CTX_free(ctx)
        BIO_meth_free(bioMethod)
    }

    private func check(_ result: Int32, _ what: String) throws(TLSError) {
        if result != 1 { throw Self.lastError(what) }
    }

    static func lastError(_ what: String) -> TLSError {
        TLSError("\(what): \(openSSLErrorText() ?? "failed")")
    }
}

/// OpenSSL's newest queued error on this thread as text (and the queue cleared), or nil.
func openSSLErrorText() -> String? {
    var buffer = [CChar](repeating: 0, count: 256)
    copenssl_last_error(&buffer, buffer.count)
    let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return text.isEmpty ? nil : text
}
