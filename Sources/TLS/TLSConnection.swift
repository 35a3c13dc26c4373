import COpenSSL

/// The states of one TLS connection, as its user sees them.
public enum TLSState: Equatable, Sendable {
    /// Handshake records are exchanged; no application data yet.
    case handshaking
    /// Application data flows both ways.
    case open
    /// We sent close_notify; the peer's may still come (records after it are still decrypted).
    case closing
    /// The peer's close_notify arrived (and ours is sent): nothing more flows.
    case closed
    /// A handshake or record error, or bytes that are not TLS. The reason is OpenSSL's, for a log
    /// line; any alert for the peer has been handed to `send` already.
    case failed(String)
}

/// One TLS connection as a sans-I/O machine over OpenSSL: ciphertext in, plaintext and ciphertext
/// out, no descriptor anywhere.
///
/// OpenSSL reads and writes through a BIO over borrowed memory (`copenssl_io`): during `receive`
/// it reads the caller's ciphertext in place (an incomplete record goes into OpenSSL's record
/// buffer, which `SSL_MODE_RELEASE_BUFFERS` frees once empty), decrypts into the loop's shared
/// `TLSBuffers.plaintext`, and writes records into `TLSBuffers.wire`, handed to `send` whenever it
/// fills and before the call returns. Between calls the BIO points at nothing, so an idle
/// connection holds only OpenSSL's `SSL` object.
///
/// Use on one thread (the loop's), and consume a `receive` view before the next call on any
/// connection sharing the same `TLSBuffers`.
public final class TLSConnection {
    /// A TLS record carries at most 16 KiB of plaintext; encryption adds at most this much.
    public static let maxRecordPlaintext = 16 * 1024
    public static let maxRecordOverhead = 512

    public private(set) var state: TLSState = .handshaking
    /// The ALPN protocol agreed on, once open (nil: none).
    public private(set) var negotiatedProtocol: String?

    let context: TLSContext
    let buffers: TLSBuffers
    private let ssl: OpaquePointer
    private let io: UnsafeMutablePointer<copenssl_io>
    /// Ciphertext OpenSSL did not take because the plaintext buffer filled first (rare: a handler
    /// that left a large tail); fed first by the next `receive`.
    private var pendingCiphertext: [UInt8] = []
    /// Plaintext sent before the handshake finished, written once it has (a client's request).
    private var pendingPlaintext: [UInt8] = []

    /// - Parameter serverName: for a client, the name sent as SNI and checked against the peer's
    ///   certificate (when the context verifies peers).
    public init(context: TLSContext, buffers: TLSBuffers, serverName: String? = nil) throws(TLSError) {
        guard let ssl = SSL_new(context.ctx) else { throw TLSContext.lastError("SSL_new") }
        guard let bio = BIO_new(context.bioMethod) else {
            SSL_free(ssl)
            throw TLSContext.lastError("BIO_new")
        }
        io = .allocate(capacity: 1)
        io.initialize(to: copenssl_io(in: nil, in_len: 0, out: nil, out_len: 0, out_cap: 0))
        BIO_set_data(bio, io)
        SSL_set_bio(ssl, bio, bio)  // one BIO both ways; the SSL object owns it now
        self.ssl = ssl
        self.context = context
        self.buffers = buffers
        if context.isServer {
            SSL_set_accept_state(ssl)
        } else {
            SSL_set_connect_state(ssl)
            if let serverName {
                _ = copenssl_set_host_name(ssl, serverName)
                _ = SSL_set1_host(ssl, serverName)
            }
        }
    }

    deinit {
        SSL_free(ssl)
        io.deallocate()
    }

    /// True once the handshake is done and until the connection closes or fails.
    public var isOpen: Bool { state == .open || state == .closing }

    /// True when plaintext is left inside OpenSSL or in `pendingCiphertext` because the plaintext
    /// buffer filled: call `receive` again (with no new ciphertext) to get it. Only while open: a
    /// record OpenSSL took apart before the connection failed (application data where a
    /// ClientHello belongs) stays in `SSL_pending` forever, and asking again would never end (the
    /// fuzz target found it).
    public var hasPendingInput: Bool { isOpen && (!pendingCiphertext.isEmpty || SSL_pending(ssl) > 0) }

    // MARK: Inbound

    /// Feeds ciphertext from the peer (borrowed; may be empty, to start a client's handshake or to
    /// drain pending input) and returns the plaintext it decrypted, after a copy of `prefix` (the
    /// input the caller's protocol left unconsumed last time), as one view into the shared
    /// plaintext buffer, valid until the next call on a connection sharing these buffers. Records
    /// for the peer (handshake, alerts, tickets, close_notify) go to `send`.
    public func receive(
        ciphertext: UnsafeRawBufferPointer, prefix: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
        send: (UnsafeRawBufferPointer) -> Void
    ) -> UnsafeRawBufferPointer {
        let out = buffers.plaintext
        precondition(prefix.count <= out.count - Self.maxRecordPlaintext, "prefix larger than the plaintext buffer allows")
        if prefix.count > 0 { out.baseAddress!.copyMemory(from: prefix.baseAddress!, byteCount: prefix.count) }
        var produced = prefix.count
        if pendingCiphertext.isEmpty {
            produced = receive(ciphertext, out, produced, send)
        } else {
            // Rare: join the leftover and the new bytes, and feed them together.
            pendingCiphertext.append(contentsOf: ciphertext)
            let joined = pendingCiphertext
            pendingCiphertext.removeAll()
            produced = joined.withUnsafeBytes { receive($0, out, produced, send) }
        }
        return UnsafeRawBufferPointer(start: out.baseAddress, count: produced)
    }

    private func receive(_ input: UnsafeRawBufferPointer, _ out: UnsafeMutableRawBufferPointer, _ start: Int,
                         _ send: (UnsafeRawBufferPointer) -> Void) -> Int {
        attach(input: input)
        defer { detach(send) }
        var produced = start
        loop: while true {
            switch state {
            case .failed, .closed:
                break loop
            case .handshaking:
                ERR_clear_error()
                let r = SSL_do_handshake(ssl)
                if r == 1 {
                    state = .open
                    negotiatedProtocol = readALPN()
                    if !pendingPlaintext.isEmpty {
                        let queued = pendingPlaintext
                        pendingPlaintext = []
                        queued.withUnsafeBytes { _ = write($0, send) }
                    }
                    continue
                }
                if !handleError(r, send) { break loop }
            case .open, .closing:
                if produced == out.count { break loop }  // full: `hasPendingInput` tells the caller
                ERR_clear_error()
                var n = 0
                let r = SSL_read_ex(ssl, out.baseAddress! + produced, out.count - produced, &n)
                if r == 1 {
                    produced += n
                    // All input taken and nothing buffered: done. Asking again would only hear
                    // WANT_READ, and cost a record buffer's malloc and free under RELEASE_BUFFERS.
                    if io.pointee.in_len == 0 && SSL_has_pending(ssl) == 0 { break loop }
                    continue
                }
                if SSL_get_error(ssl, r) == SSL_ERROR_ZERO_RETURN {
                    // The peer's close_notify: answer with ours (unless sent already) and stop.
                    if state == .open { _ = SSL_shutdown(ssl) }
                    state = .closed
                    break loop
                }
                if !handleError(r, send) { break loop }
            }
        }
        if io.pointee.in_len > 0 && !isFailedOrClosed {
            pendingCiphertext.append(contentsOf: UnsafeRawBufferPointer(start: io.pointee.in, count: io.pointee.in_len))
        }
        return produced
    }

    // MARK: Outbound

    /// Encrypts `plaintext` into records (full 16 KiB records for large writes: one call is one
    /// record per 16 KiB, never one per small piece) and hands them to `send`. Before the
    /// handshake completes the bytes wait (copied) and leave right after it. Returns false when the
    /// connection cannot send (closing, closed, failed).
    @discardableResult
    public func send(plaintext: UnsafeRawBufferPointer, send: (UnsafeRawBufferPointer) -> Void) -> Bool {
        switch state {
        case .handshaking:
            pendingPlaintext.append(contentsOf: plaintext)
            return true
        case .open:
            attach(input: UnsafeRawBufferPointer(start: nil, count: 0))
            defer { detach(send) }
            return write(plaintext, send)
        case .closing, .closed, .failed:
            return false
        }
    }

    /// Sends close_notify (once). Records from the peer are still decrypted until its own.
    public func close(send: (UnsafeRawBufferPointer) -> Void) {
        guard state == .open || state == .handshaking else { return }
        if state == .handshaking {
            state = .closed  // nothing was agreed: there is nothing to close politely
            return
        }
        attach(input: UnsafeRawBufferPointer(start: nil, count: 0))
        defer { detach(send) }
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        state = .closing
    }

    /// Writes with the BIO attached; on a full wire buffer, hands it out and goes on.
    private func write(_ plaintext: UnsafeRawBufferPointer, _ send: (UnsafeRawBufferPointer) -> Void) -> Bool {
        var offset = 0
        while offset < plaintext.count {
            let chunk = min(plaintext.count - offset, Self.maxRecordPlaintext)
            ERR_clear_error()
            var written = 0
            let r = SSL_write_ex(ssl, plaintext.baseAddress! + offset, chunk, &written)
            if r == 1 {
                offset += written
                continue
            }
            if !handleError(r, send) { return false }
        }
        return true
    }

    // MARK: The BIO and errors

    private var isFailedOrClosed: Bool {
        if case .failed = state { return true }
        return state == .closed
    }

    private func attach(input: UnsafeRawBufferPointer) {
        io.pointee.in = input.baseAddress?.assumingMemoryBound(to: UInt8.self)
        io.pointee.in_len = input.count
        io.pointee.out = buffers.wire.baseAddress!.assumingMemoryBound(to: UInt8.self)
        io.pointee.out_len = 0
        io.pointee.out_cap = buffers.wire.count
    }

    /// Hands out what the wire buffer holds and points the BIO at nothing again.
    private func detach(_ send: (UnsafeRawBufferPointer) -> Void) {
        flushWire(send)
        io.pointee = copenssl_io(in: nil, in_len: 0, out: nil, out_len: 0, out_cap: 0)
    }

    private func flushWire(_ send: (UnsafeRawBufferPointer) -> Void) {
        guard io.pointee.out_len > 0 else { return }
        let n = io.pointee.out_len
        io.pointee.out_len = 0
        send(UnsafeRawBufferPointer(start: io.pointee.out, count: n))
    }

    /// After a failed SSL call: true to try again (the wire buffer was full and is now handed out),
    /// false to stop (more input needed, or the connection failed: state says which).
    private func handleError(_ result: Int32, _ send: (UnsafeRawBufferPointer) -> Void) -> Bool {
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ:
            return false
        case SSL_ERROR_WANT_WRITE:
            flushWire(send)
            return true
        case let code:
            let reason = openSSLErrorText() ?? "SSL error \(code)"
            state = .failed(reason)
            return false
        }
    }

    private func readALPN() -> String? {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    /// The negotiated protocol version ("TLSv1.3"), for logs and tests.
    public var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    /// True when this connection resumed an earlier session (a ticket).
    public var isResumed: Bool { SSL_session_reused(ssl) == 1 }

    /// The session to resume with later (client side), as OpenSSL's opaque handle: pass it to
    /// `resume(session:)` on a new connection before its handshake starts.
    public func copySession() -> TLSSession? {
        guard let s = SSL_get1_session(ssl) else { return nil }
        return TLSSession(s)
    }

    public func resume(session: TLSSession) {
        _ = SSL_set_session(ssl, session.session)
    }

    /// Starts a renegotiation (TLS 1.2 client), for tests that check the server refuses it.
    func requestRenegotiation(send: (UnsafeRawBufferPointer) -> Void) -> Bool {
        attach(input: UnsafeRawBufferPointer(start: nil, count: 0))
        defer { detach(send) }
        guard SSL_renegotiate(ssl) == 1 else { return false }
        ERR_clear_error()
        _ = SSL_do_handshake(ssl)
        return true
    }
}

/// A TLS session a client may resume (an OpenSSL `SSL_SESSION`, reference counted).
public final class TLSSession: @unchecked Sendable {
    let session: OpaquePointer
    init(_ session: OpaquePointer) { self.session = session }
    deinit { SSL_SESSION_free(session) }
}
