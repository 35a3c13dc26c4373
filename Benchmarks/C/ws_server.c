// Minimal WebSocket (RFC 6455) echo server: the ceiling the reactor's WebSocket echo
// is measured against (the websocket-echo scenario).
//
// One thread, one level-triggered epoll instance, one shared 64 KiB read buffer and
// one output buffer, the design of echo_server.c.
//
// The handshake takes a shortcut: it checks that the request head carries the fixed
// key the load generator always sends ("dGhlIHNhbXBsZSBub25jZQ==", RFC 6455's own
// example) and answers with that key's precomputed Sec-WebSocket-Accept
// ("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), so it needs no SHA-1 or base64; any other key
// gets a 400. The head is collected in a small buffer allocated for the handshake
// only and freed at its end, so an open connection costs a few words in a static
// table and nothing on the heap.
//
// Frames are echoed frame by frame and streamed: as soon as a client frame's header
// is read, the server's header (same FIN bit and opcode, same length, no mask) is
// queued, and every payload byte is unmasked and queued as it arrives, so a frame
// may span any number of reads and nothing is ever buffered per connection. All
// that one read produces goes out in one write. Ping is answered with pong, close
// with close (then the connection is closed); text is not checked for UTF-8 and
// extensions are never negotiated: a ceiling, not a server.
//
// If the kernel takes only part of a write, the tail is copied to a per-connection
// queue and the connection stops reading until it drains, as in echo_server.c.
//
// usage: ws_server PORT
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FDS 262144  // the idle-memory scenario holds 100,000 connections
#define MAX_EVENTS 512
#define MAX_HEAD 4096

static const char accept_response[] =
    "HTTP/1.1 101 Switching Protocols\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
    "\r\n";
static const char reject_response[] =
    "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
static const char fixed_key[] = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

struct conn {
    char *head;            // the handshake's request head so far (NULL once open)
    uint16_t head_len;
    uint8_t open;          // handshake done: frames from here on
    uint8_t hdr_len;       // bytes of the current frame header collected
    uint8_t hdr[14];       // the frame header being collected
    uint8_t opcode_byte;   // FIN | opcode of the frame whose payload is flowing
    uint8_t mask[4];
    uint64_t remaining;    // payload bytes of the current frame still to come
    uint64_t mask_pos;     // payload bytes already unmasked (mask phase)
    char *pending;         // unwritten output (blocked peer only)
    size_t pending_len, pending_off;
    uint8_t closing;       // a close frame was echoed: close once written
};

static struct conn conns[MAX_FDS];
static char readbuf[65536];
static char outbuf[65536 + 1024]; // output never exceeds the input plus one queued header
static size_t out_len;
static int ep;

static void die(const char *what) { perror(what); exit(1); }

static void set_interest(int fd, uint32_t events) {
    struct epoll_event ev = { .events = events, .data.fd = fd };
    if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) < 0) die("epoll_ctl mod");
}

static void close_conn(int fd) {
    free(conns[fd].head);
    free(conns[fd].pending);
    conns[fd] = (struct conn){0};
    close(fd);
}

static ssize_t write_some(int fd, const char *buf, size_t len) {
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, buf + done, len - done);
        if (n > 0) { done += (size_t)n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) break;
        return -1;
    }
    return (ssize_t)done;
}

// Writes out_len bytes of outbuf; keeps the tail if the kernel does not take it all.
// Returns -1 if the connection was closed.
static int send_output(int fd) {
    struct conn *c = &conns[fd];
    if (out_len == 0) return 0;
    ssize_t w = write_some(fd, outbuf, out_len);
    if (w < 0) { close_conn(fd); return -1; }
    if ((size_t)w < out_len) {
        size_t rest = out_len - (size_t)w;
        c->pending = malloc(rest);
        if (!c->pending) die("malloc");
        memcpy(c->pending, outbuf + w, rest);
        c->pending_len = rest;
        c->pending_off = 0;
        set_interest(fd, EPOLLOUT);
    } else if (c->closing && c->remaining == 0) {
        close_conn(fd);
        return -1;
    }
    return 0;
}

// Queues a server frame header (never masked, minimal length encoding).
static void put_header(uint8_t fin_opcode, uint64_t len) {
    uint8_t *p = (uint8_t *)outbuf + out_len;
    p[0] = fin_opcode;
    if (len < 126) { p[1] = (uint8_t)len; out_len += 2; }
    else if (len <= 0xffff) { p[1] = 126; p[2] = (uint8_t)(len >> 8); p[3] = (uint8_t)len; out_len += 4; }
    else {
        p[1] = 127;
        for (int i = 0; i < 8; i++) p[2 + i] = (uint8_t)(len >> (56 - 8 * i));
        out_len += 10;
    }
}

// Unmasks and queues payload bytes of the current frame.
static void put_payload(struct conn *c, const uint8_t *src, size_t n) {
    uint8_t *dst = (uint8_t *)outbuf + out_len;
    size_t i = 0;
    unsigned phase = (unsigned)(c->mask_pos & 3);
    // Byte by byte to a 4-byte boundary of the mask, then 8 bytes at a time.
    for (; i < n && phase != 0; i++, phase = (phase + 1) & 3) dst[i] = src[i] ^ c->mask[phase];
    const size_t aligned = i; // the mask starts over here
    uint32_t m4;
    memcpy(&m4, c->mask, 4);
    uint64_t m8 = ((uint64_t)m4 << 32) | m4;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, src + i, 8);
        v ^= m8;
        memcpy(dst + i, &v, 8);
    }
    for (; i < n; i++) dst[i] = src[i] ^ c->mask[(i - aligned) & 3];
    c->mask_pos += n;
    out_len += n;
}

// Frames in buf[0..n) of an open connection; returns -1 on a protocol error.
static int on_frames(struct conn *c, const uint8_t *buf, size_t n) {
    while (n > 0) {
        if (c->remaining > 0) { // payload of the current frame
            size_t take = c->remaining < n ? (size_t)c->remaining : n;
            put_payload(c, buf, take);
            buf += take; n -= take; c->remaining -= take;
            continue;
        }
        // Collect the header: 2 bytes, then the extended length and the mask key.
        c->hdr[c->hdr_len++] = *buf++;
        n--;
        if (c->hdr_len < 2) continue;
        if (!(c->hdr[1] & 0x80)) return -1; // client frames must be masked
        unsigned len7 = c->hdr[1] & 0x7f;
        unsigned need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4;
        if (c->hdr_len < need) continue;
        uint64_t len = len7;
        if (len7 == 126) len = ((uint64_t)c->hdr[2] << 8) | c->hdr[3];
        if (len7 == 127) { len = 0; for (int i = 0; i < 8; i++) len = (len << 8) | c->hdr[2 + i]; }
        memcpy(c->mask, c->hdr + need - 4, 4);
        c->hdr_len = 0;
        c->mask_pos = 0;
        c->remaining = len;
        uint8_t opcode = c->hdr[0] & 0x0f;
        if (opcode >= 8 && (len > 125 || !(c->hdr[0] & 0x80))) return -1;
        if (opcode == 0x9) opcode = 0xA;   // ping: answer with pong, same payload (a pong is echoed as one)
        if (opcode == 0x8) c->closing = 1; // close: echo it, then close once it is written
        put_header((uint8_t)((c->hdr[0] & 0x80) | opcode), len);
    }
    return 0;
}

// The handshake: collect the head, check the fixed key, answer 101 (or 400).
static int on_handshake(int fd, const char *buf, size_t n) {
    struct conn *c = &conns[fd];
    if (!c->head && !(c->head = malloc(MAX_HEAD))) die("malloc");
    size_t take = n < (size_t)(MAX_HEAD - c->head_len) ? n : (size_t)(MAX_HEAD - c->head_len);
    memcpy(c->head + c->head_len, buf, take);
    size_t old = c->head_len;
    c->head_len = (uint16_t)(c->head_len + take);
    char *end = memmem(c->head, c->head_len, "\r\n\r\n", 4);
    if (!end) {
        if (c->head_len == MAX_HEAD) { close_conn(fd); return -1; }
        return 0;
    }
    size_t head_len = (size_t)(end - c->head) + 4;
    int ok = memmem(c->head, head_len, fixed_key, sizeof fixed_key - 1) != NULL;
    free(c->head);
    c->head = NULL;
    c->head_len = 0;
    if (!ok) {
        write_some(fd, reject_response, sizeof reject_response - 1);
        close_conn(fd);
        return -1;
    }
    memcpy(outbuf, accept_response, sizeof accept_response - 1);
    out_len = sizeof accept_response - 1;
    c->open = 1;
    size_t used = head_len - old; // bytes of this read that belonged to the head
    if (used < n && on_frames(c, (const uint8_t *)buf + used, n - used) < 0) { close_conn(fd); return -1; }
    return send_output(fd);
}

static void on_readable(int fd) {
    ssize_t n = read(fd, readbuf, sizeof readbuf);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) { close_conn(fd); return; }
    if (n < 0) return;
    struct conn *c = &conns[fd];
    out_len = 0;
    if (!c->open) { on_handshake(fd, readbuf, (size_t)n); return; }
    if (on_frames(c, (const uint8_t *)readbuf, (size_t)n) < 0) { close_conn(fd); return; }
    send_output(fd);
}

static void on_writable(int fd) {
    struct conn *c = &conns[fd];
    ssize_t w = write_some(fd, c->pending + c->pending_off, c->pending_len - c->pending_off);
    if (w < 0) { close_conn(fd); return; }
    c->pending_off += (size_t)w;
    if (c->pending_off == c->pending_len) {
        free(c->pending);
        c->pending = NULL;
        c->pending_len = c->pending_off = 0;
        if (c->closing && c->remaining == 0) { close_conn(fd); return; }
        set_interest(fd, EPOLLIN);
    }
}

static void on_acceptable(int lfd) {
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EAGAIN) return;
            perror("accept4");
            return;
        }
        if (fd >= MAX_FDS) { close(fd); continue; }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conns[fd] = (struct conn){0};
        struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl add");
    }
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s PORT\n", argv[0]); return 2; }
    signal(SIGPIPE, SIG_IGN);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0) die("socket");
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
    if (listen(lfd, 1024) < 0) die("listen");

    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
    struct epoll_event lev = { .events = EPOLLIN, .data.fd = lfd };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) < 0) die("epoll_ctl listener");
    printf("c websocket listening on 127.0.0.1:%s\n", argv[1]);
    fflush(stdout);

    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(ep, events, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR) continue; // the malloc counter's SIGUSR1/SIGUSR2 land here
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            uint32_t e = events[i].events;
            if (fd == lfd) on_acceptable(lfd);
            else if (e & EPOLLOUT) on_writable(fd);
            else on_readable(fd);
        }
    }
}
