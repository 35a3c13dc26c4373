// OpenSSL 3, and what Swift cannot call directly: macros (SSL_CTX_set_mode, SSL_set_tlsext_host_name,
// ...) as static inline functions, and a BIO over borrowed memory. No protocol logic lives here.
#ifndef COPENSSL_H
#define COPENSSL_H

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/bio.h>
#include <openssl/x509v3.h>
#include <string.h>

// --- Macros, callable ---------------------------------------------------------------------------

static inline long copenssl_ctx_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }
static inline long copenssl_set_mode(SSL *ssl, long mode) { return SSL_set_mode(ssl, mode); }
static inline int copenssl_ctx_set_min_proto(SSL_CTX *ctx, int v) { return (int)SSL_CTX_set_min_proto_version(ctx, v); }
static inline int copenssl_ctx_set_max_proto(SSL_CTX *ctx, int v) { return (int)SSL_CTX_set_max_proto_version(ctx, v); }
static inline int copenssl_set_host_name(SSL *ssl, const char *name) { return (int)SSL_set_tlsext_host_name(ssl, name); }
static inline long copenssl_ctx_set_session_cache_mode(SSL_CTX *ctx, long m) { return SSL_CTX_set_session_cache_mode(ctx, m); }
static inline int copenssl_ctx_set_groups(SSL_CTX *ctx, const char *list) { return (int)SSL_CTX_set1_groups_list(ctx, list); }
static inline int copenssl_tls1_2_version(void) { return TLS1_2_VERSION; }
static inline int copenssl_tls1_3_version(void) { return TLS1_3_VERSION; }
static inline uint64_t copenssl_op_no_renegotiation(void) { return SSL_OP_NO_RENEGOTIATION; }
static inline uint64_t copenssl_op_cipher_server_preference(void) { return SSL_OP_CIPHER_SERVER_PREFERENCE; }
static inline uint64_t copenssl_op_no_compression(void) { return SSL_OP_NO_COMPRESSION; }
static inline uint64_t copenssl_op_no_ticket(void) { return SSL_OP_NO_TICKET; }
static inline long copenssl_mode_release_buffers(void) { return SSL_MODE_RELEASE_BUFFERS; }
static inline long copenssl_mode_partial_write(void) { return SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER; }
static inline int copenssl_ctx_set_servername_cb(SSL_CTX *ctx, int (*cb)(SSL *, int *, void *), void *arg) {
    SSL_CTX_set_tlsext_servername_arg(ctx, arg);
    return (int)SSL_CTX_set_tlsext_servername_callback(ctx, cb);
}
static inline const char *copenssl_servername(const SSL *ssl) { return SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name); }
static inline int copenssl_tlsext_err_ok(void) { return SSL_TLSEXT_ERR_OK; }

// ALPN, server side: pick "http/1.1" when the client offers it, and go on without ALPN when it does
// not (an https client without ALPN is an HTTP/1.1 client).
static inline int copenssl_alpn_select_http11(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                                              const unsigned char *in, unsigned int inlen, void *arg) {
    (void)ssl; (void)arg;
    static const unsigned char wanted[] = "\x08http/1.1";
    unsigned char *selected = NULL;
    if (SSL_select_next_proto(&selected, outlen, wanted, sizeof(wanted) - 1, in, inlen) == OPENSSL_NPN_NEGOTIATED) {
        *out = selected;
        return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_NOACK;
}
static inline void copenssl_ctx_use_alpn_http11(SSL_CTX *ctx) {
    SSL_CTX_set_alpn_select_cb(ctx, copenssl_alpn_select_http11, NULL);
}

// --- A BIO over borrowed memory ------------------------------------------------------------------
// The TLS machine never lets OpenSSL own a byte buffer of its own beyond its record buffers: reads
// come from the caller's borrowed ciphertext (`in`, advanced as OpenSSL takes it), writes go to the
// caller's output buffer (`out`, one per loop). Between calls both are detached (NULL), so a BIO
// holds nothing while a connection idles. A read with nothing left and a write with no room say
// "retry", which OpenSSL turns into SSL_ERROR_WANT_READ / WANT_WRITE.
typedef struct {
    const unsigned char *in;
    size_t in_len;
    unsigned char *out;
    size_t out_len;
    size_t out_cap;
} copenssl_io;

static inline int copenssl_io_read(BIO *b, char *buf, size_t len, size_t *readbytes) {
    copenssl_io *io = (copenssl_io *)BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (io == NULL || io->in_len == 0) { BIO_set_retry_read(b); *readbytes = 0; return 0; }
    size_t n = len < io->in_len ? len : io->in_len;
    memcpy(buf, io->in, n);
    io->in += n;
    io->in_len -= n;
    *readbytes = n;
    return 1;
}

static inline int copenssl_io_write(BIO *b, const char *buf, size_t len, size_t *written) {
    copenssl_io *io = (copenssl_io *)BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (io == NULL || io->out == NULL) { BIO_set_retry_write(b); *written = 0; return 0; }
    size_t room = io->out_cap - io->out_len;
    if (room == 0) { BIO_set_retry_write(b); *written = 0; return 0; }
    size_t n = len < room ? len : room;
    memcpy(io->out + io->out_len, buf, n);
    io->out_len += n;
    *written = n;
    return 1;
}

static inline long copenssl_io_ctrl(BIO *b, int cmd, long num, void *ptr) {
    (void)b; (void)num; (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;  // the caller writes `out` to the socket after every call
    case BIO_CTRL_DUP: return 1;
    default: return 0;
    }
}

static inline int copenssl_io_create(BIO *b) { BIO_set_init(b, 1); return 1; }

// The method table, made once per TLS context (not a C global: the Swift owner frees it).
static inline BIO_METHOD *copenssl_io_method_new(void) {
    BIO_METHOD *m = BIO_meth_new(BIO_TYPE_SOURCE_SINK | 0x7e, "reactor borrowed memory");
    if (m == NULL) return NULL;
    BIO_meth_set_read_ex(m, copenssl_io_read);
    BIO_meth_set_write_ex(m, copenssl_io_write);
    BIO_meth_set_ctrl(m, copenssl_io_ctrl);
    BIO_meth_set_create(m, copenssl_io_create);
    return m;
}

// The last OpenSSL error queued on this thread, as text, and the queue cleared.
static inline void copenssl_last_error(char *buf, size_t len) {
    unsigned long e = ERR_peek_last_error();
    if (e == 0) { if (len) buf[0] = 0; }
    else ERR_error_string_n(e, buf, len);
    ERR_clear_error();
}

#endif
