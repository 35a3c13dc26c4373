// What OpenSSL itself keeps per idle server connection: the floor under "RSS per idle TLS
// connection" in the tls scenario, whatever the runtime around it does.
//
//   cc -O2 Benchmarks/C/openssl_idle_bytes.c -o /tmp/openssl_idle_bytes -lssl -lcrypto
//   /tmp/openssl_idle_bytes CERT.pem KEY.pem      (a P-256 pair: bench tls makes one per run)
//
// Prints the heap bytes in use (mallinfo2, so no fragmentation is counted) per server `SSL`
// (1) right after SSL_new, before any handshake, and (2) idle after a TLS 1.3 handshake and one
// byte each way, with SSL_MODE_RELEASE_BUFFERS as the demo sets it, its BIOs replaced by empty
// ones whose size is subtracted. Client and server talk through memory BIOs in one process.
#include <malloc.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>

enum { N = 2000 };

static size_t in_use(void) {
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

static void shuttle(BIO *from, BIO *to) {
    char b[20000];
    int k;
    while ((k = BIO_read(from, b, sizeof b)) > 0) BIO_write(to, b, k);
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s CERT.pem KEY.pem\n", argv[0]); return 2; }
    SSL_CTX *sc = SSL_CTX_new(TLS_server_method()), *cc = SSL_CTX_new(TLS_client_method());
    if (SSL_CTX_use_certificate_chain_file(sc, argv[1]) != 1 || SSL_CTX_use_PrivateKey_file(sc, argv[2], SSL_FILETYPE_PEM) != 1) {
        fprintf(stderr, "cannot load %s / %s\n", argv[1], argv[2]);
        return 1;
    }
    SSL_CTX_set_mode(sc, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_mode(cc, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_min_proto_version(sc, TLS1_3_VERSION);
    SSL **kept = calloc(2 * N, sizeof *kept);

    SSL_free(SSL_new(sc));  // the context's lazily built parts
    size_t before = in_use();
    for (int i = 0; i < N; i++) kept[i] = SSL_new(sc);
    size_t fresh = (in_use() - before) / N;

    size_t bios_before = in_use();
    for (int i = 0; i < 2 * 16; i++) BIO_new(BIO_s_mem());
    size_t two_bios = 2 * (in_use() - bios_before) / (2 * 16);

    size_t idle = 0;
    for (int round = 0; round < 2; round++) {  // round 0 warms the context up (tickets, caches)
        before = in_use();
        for (int i = 0; i < N; i++) {
            SSL *s = SSL_new(sc), *c = SSL_new(cc);
            BIO *sin = BIO_new(BIO_s_mem()), *sout = BIO_new(BIO_s_mem()), *cin = BIO_new(BIO_s_mem()), *cout = BIO_new(BIO_s_mem());
            SSL_set_bio(s, sin, sout);
            SSL_set_bio(c, cin, cout);
            SSL_set_accept_state(s);
            SSL_set_connect_state(c);
            for (int step = 0; step < 20; step++) {
                SSL_do_handshake(c); shuttle(cout, sin);
                SSL_do_handshake(s); shuttle(sout, cin);
            }
            char buf[64];
            SSL_write(c, "x", 1); shuttle(cout, sin); SSL_read(s, buf, sizeof buf);
            SSL_write(s, "y", 1); shuttle(sout, cin); SSL_read(c, buf, sizeof buf);
            if (!SSL_is_init_finished(s) || SSL_version(s) != TLS1_3_VERSION) { fprintf(stderr, "handshake failed\n"); return 1; }
            SSL_free(c);
            SSL_set_bio(s, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
            if (round == 1) kept[N + i] = s; else SSL_free(s);
        }
        if (round == 1) idle = (in_use() - before) / N - two_bios;
    }
    printf("%s, %s\n", OpenSSL_version(OPENSSL_VERSION), SSL_get_cipher_name(kept[N]));
    printf("heap bytes per server SSL right after SSL_new: %zu\n", fresh);
    printf("heap bytes per idle server SSL after a TLS 1.3 handshake (record buffers released): %zu\n", idle);
    return 0;
}
