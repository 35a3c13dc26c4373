// A small, strict HTTP/1.1 client for the http-plaintext scenario: it checks that a
// server answers `GET /plaintext` correctly before wrk measures it (wrk counts
// responses but never looks at them), and it is the fixed, repeatable load under
// callgrind (--callgrind), where wrk's timing-driven load would not be.
//
// One blocking connection. N requests go out in batches of D, each batch in one
// write (D = 1: one request at a time; D = 16: 16-deep pipelining); the next batch
// goes only when every answer to this one has come back, so a server sees the same
// reads, in the same sizes, on every run. Every response must be
// "HTTP/1.1 200 ...", carry a Content-Length (no chunked encoding) and a body equal
// to "Hello, World!"; anything else exits with status 2.
//
// Prints: requests=N seconds=S depth=D
//
// --tls (or -T): the same over TLS (tls_client.h: OpenSSL, no certificate verification), the
// handshake before the first request; the tls scenario's check before wrk's https load.
//
// usage: http_client -p PORT [-n REQUESTS] [-d DEPTH] [-u PATH] [--tls]
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tls_client.h"

static const char body[] = "Hello, World!";
static char inbuf[1 << 20];
static size_t in_len;
static int fd;
static SSL *ssl; // --tls

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fail(const char *why, long request) {
    fprintf(stderr, "http_client: response %ld: %s\n", request, why);
    size_t show = in_len < 300 ? in_len : 300;
    fprintf(stderr, "http_client: received so far: %.*s\n", (int)show, inbuf);
    exit(2);
}

static void fill(long request) {
    if (in_len == sizeof inbuf) fail("response larger than 1 MiB", request);
    ssize_t n = ssl ? tls_read(ssl, inbuf + in_len, sizeof inbuf - in_len) : read(fd, inbuf + in_len, sizeof inbuf - in_len);
    if (n < 0 && errno == EINTR) return;
    if (n <= 0) fail(n == 0 ? "connection closed by server" : strerror(errno), request);
    in_len += (size_t)n;
}

// Reads and checks one whole response, and removes it from the buffer.
static void read_response(long request) {
    char *end;
    for (;;) {
        end = memmem(inbuf, in_len, "\r\n\r\n", 4);
        if (end) break;
        fill(request);
    }
    size_t head_len = (size_t)(end - inbuf) + 4;
    if (head_len < 13 || memcmp(inbuf, "HTTP/1.1 200 ", 13) != 0) fail("status is not HTTP/1.1 200", request);
    long length = -1;
    for (char *line = memchr(inbuf, '\n', head_len); line && line < end; line = memchr(line, '\n', (size_t)(end - line))) {
        line++;
        if (strncasecmp(line, "content-length:", 15) == 0) length = strtol(line + 15, NULL, 10);
        if (strncasecmp(line, "transfer-encoding:", 18) == 0) fail("unexpected Transfer-Encoding", request);
    }
    if (length != (long)(sizeof body - 1)) fail("Content-Length is not 13", request);
    while (in_len < head_len + (size_t)length) fill(request);
    if (memcmp(inbuf + head_len, body, (size_t)length) != 0) fail("body is not \"Hello, World!\"", request);
    size_t used = head_len + (size_t)length;
    memmove(inbuf, inbuf + used, in_len - used);
    in_len -= used;
}

int main(int argc, char **argv) {
    int port = 0, depth = 1;
    long requests = 10000;
    const char *path = "/plaintext";
    static const struct option long_options[] = { { "tls", no_argument, NULL, 'T' }, { NULL, 0, NULL, 0 } };
    int tls = 0;
    for (int opt; (opt = getopt_long(argc, argv, "p:n:d:u:T", long_options, NULL)) != -1;) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'n': requests = atol(optarg); break;
        case 'd': depth = atoi(optarg); break;
        case 'u': path = optarg; break;
        case 'T': tls = 1; break;
        default:
            fprintf(stderr, "usage: %s -p PORT [-n REQUESTS] [-d DEPTH] [-u PATH] [--tls]\n", argv[0]);
            return 1;
        }
    }
    if (port <= 0 || requests <= 0 || depth <= 0 || depth > 1024) {
        fprintf(stderr, "http_client: bad arguments\n");
        return 1;
    }

    char request[512];
    int rlen = snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", path, port);
    char *batch = malloc((size_t)rlen * (size_t)depth);
    if (!batch) { perror("malloc"); return 1; }
    for (int i = 0; i < depth; i++) memcpy(batch + (size_t)i * (size_t)rlen, request, (size_t)rlen);

    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        fprintf(stderr, "http_client: connect to port %d: %s\n", port, strerror(errno));
        return 3;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (tls) ssl = tls_connect_blocking(tls_client_context(0), fd, "http_client");

    double t0 = now();
    for (long done = 0; done < requests;) {
        long k = requests - done < depth ? requests - done : depth;
        size_t len = (size_t)k * (size_t)rlen, off = 0;
        while (off < len) {
            ssize_t w = ssl ? tls_write(ssl, batch + off, len - off) : write(fd, batch + off, len - off);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) { fprintf(stderr, "http_client: write: %s\n", strerror(errno)); return 3; }
            off += (size_t)w;
        }
        for (long i = 0; i < k; i++) read_response(done + i);
        done += k;
    }
    double seconds = now() - t0;
    if (in_len != 0) fail("bytes after the last response", requests);
    printf("requests=%ld seconds=%.6f depth=%d\n", requests, seconds, depth);
    close(fd);
    return 0;
}
