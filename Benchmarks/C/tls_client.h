// TLS for the load generators (ws_loadgen.c, http_client.c, tls_handshake.c): OpenSSL's client
// side over a socket the caller connected. No certificate verification: the servers under test
// present localhost certificates the tls scenario makes for the run, and what is measured is
// the server's cost, not the client's trust decisions. ALPN offers http/1.1, as a browser does.
//
// tls_read and tls_write behave like read and write: > 0 bytes moved, 0 end of stream (the
// peer's close_notify, or its plain EOF), -1 with errno set: EAGAIN when OpenSSL wants the
// socket again (either direction), EPROTO on a TLS failure (OpenSSL's reasons are printed).
#ifndef TLS_CLIENT_H
#define TLS_CLIENT_H

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

static inline void tls_print_errors(const char *who) {
    unsigned long e;
    char text[256];
    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, text, sizeof text);
        fprintf(stderr, "%s: %s\n", who, text);
    }
}

// A client context. release_buffers: SSL_MODE_RELEASE_BUFFERS, so that thousands of idle
// connections on the client side do not hold 34 KiB of record buffers each.
static inline SSL_CTX *tls_client_context(int release_buffers) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) { tls_print_errors("tls"); exit(1); }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    long mode = SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER;
    if (release_buffers) mode |= SSL_MODE_RELEASE_BUFFERS;
    SSL_CTX_set_mode(ctx, mode);
    // A server that closes without close_notify ends the stream like one that sends it.
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    static const unsigned char alpn[] = "\x08http/1.1";
    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn - 1);
    return ctx;
}

// The handshake on a connected, blocking socket; exits (status 3) if it fails.
static inline SSL *tls_connect_blocking(SSL_CTX *ctx, int fd, const char *who) {
    SSL *ssl = SSL_new(ctx);
    if (!ssl || SSL_set_fd(ssl, fd) != 1) { tls_print_errors(who); exit(1); }
    SSL_set_tlsext_host_name(ssl, "localhost");
    if (SSL_connect(ssl) != 1) {
        fprintf(stderr, "%s: TLS handshake failed\n", who);
        tls_print_errors(who);
        exit(3);
    }
    return ssl;
}

static inline ssize_t tls_result(SSL *ssl, int ok, size_t n) {
    if (ok == 1) return (ssize_t)n;
    switch (SSL_get_error(ssl, ok)) {
    case SSL_ERROR_ZERO_RETURN: return 0;
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE: errno = EAGAIN; return -1;
    case SSL_ERROR_SYSCALL: if (errno == 0) return 0; return -1;
    default: tls_print_errors("tls"); errno = EPROTO; return -1;
    }
}

static inline ssize_t tls_read(SSL *ssl, void *buf, size_t len) {
    size_t n = 0;
    ERR_clear_error();
    int ok = SSL_read_ex(ssl, buf, len, &n);
    return tls_result(ssl, ok, n);
}

static inline ssize_t tls_write(SSL *ssl, const void *buf, size_t len) {
    size_t n = 0;
    ERR_clear_error();
    int ok = SSL_write_ex(ssl, buf, len, &n);
    return tls_result(ssl, ok, n);
}

#endif
