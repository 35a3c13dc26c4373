// WebSocket (RFC 6455) echo load generator, client side: loadgen.c speaking WebSocket.
//
// Every connection opens with the HTTP upgrade, always with the same key,
// "dGhlIHNhbXBsZSBub25jZQ==" (RFC 6455's example), waits for the 101, checks its
// Sec-WebSocket-Accept ("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") and skips its head.
// permessage-deflate is never offered. Then it sends binary frames of S payload bytes,
// masked as a client must (each connection has its own fixed mask key), and checks
// every echoed frame byte for byte: it must come back as one unmasked binary frame
// with FIN set, minimal length encoding, and the same payload. Message m of
// connection c carries m and c in its first 8 bytes and a pattern of c after them, so
// lost, duplicated, reordered, corrupted or crossed-over messages are caught. Any
// mismatch exits with status 2: a broken server must not look fast.
//
// Three modes:
//
// - throughput (default): N connections keep D messages in flight each, closed loop,
//   one thread and one epoll instance. After W seconds of warmup it measures for T
//   seconds and prints one line (messages, seconds, msgs_per_sec, server_cpu_ns,
//   loadgen_cpu_ns, machine_busy_ns, conns, size, depth). As in loadgen.c it owns the
//   window: -P samples the server's CPU time (/proc/PID/task/*/schedstat) at its edges,
//   -S sends the server SIGUSR1 at the start and SIGUSR2 at the end (the malloc
//   counter's reset and report).
//
// - latency (-L): one connection, one message in flight, blocking reads and writes.
//   Every round trip after the warmup (send to the last byte of the echo, in
//   CLOCK_MONOTONIC) goes into a log-linear histogram (values kept to within 0.8%).
//   Prints messages, seconds, p50_us, p99_us,
//   p999_us, max_us, mean_us, loadgen_cpu_ns, machine_busy_ns (and server_cpu_ns with -P).
//
// - idle (-I): RSS per idle connection. Warms the server up with 64 connections (upgrade,
//   one echo each, close), waits 0.5 s, reads the server's VmRSS (/proc/PID/status,
//   needs -P), opens N connections (upgrade only), waits W seconds (default 1), reads
//   VmRSS again, echoes one message on every connection, waits W seconds, reads it a
//   third time. Prints conns, rss_before_kb, rss_upgraded_kb, rss_echoed_kb,
//   upgrade_seconds. The soft RLIMIT_NOFILE is raised to the hard limit for the N sockets.
//
// --tls (or -T): every connection speaks TLS first (OpenSSL, tls_client.h: no certificate
// verification, localhost test certificates), handshake done before the upgrade request, so
// the window holds no handshake. The frames and their checks are the same. In throughput mode a
// readable connection is read until OpenSSL has nothing left (a record may hold several echoes,
// and decrypted bytes left inside OpenSSL would never wake epoll); a plain one reads once, as
// before, so plain figures are comparable with earlier runs. In idle mode the client's record
// buffers are released (SSL_MODE_RELEASE_BUFFERS), or 10,000 of them would take 340 MB here.
//
// usage: ws_loadgen -p PORT [-c CONNS] [-s SIZE] [-d DEPTH] [-w WARMUP_S] [-t MEASURE_S]
//                   [-P SERVER_PID] [-S] [-L | -I] [-u PATH] [--tls]
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tls_client.h"

struct conn {
    int fd, id;
    SSL *ssl;              // with --tls; NULL on a plain connection
    uint8_t mask[4];
    uint64_t next_send;    // index of the next message to generate
    uint64_t next_recv;    // index of the message being checked
    size_t recv_off;       // bytes of its echo already checked
    char *frame_tmpl;      // the client frame: header, mask key, masked pattern (flen bytes)
    char *echo_tmpl;       // the echo: server header and the pattern (elen bytes)
    char *expect;          // the echo of message next_recv, as it must come back
    char *out;             // generated but not yet accepted by the kernel
    size_t out_len, out_off;
    int want_out;          // EPOLLOUT currently registered
};

static int port;
static const char *path = "/echo";
static int size = 32;
static size_t chdr, shdr;  // client header (with mask key) and server header lengths
static size_t flen, elen;  // whole client frame and whole echoed frame
static char readbuf[65536];
static struct sockaddr_in addr;
static SSL_CTX *tls_ctx;   // --tls

// A read or write on a connection, plain or TLS, with read/write's results.
static ssize_t conn_read(struct conn *c, void *buf, size_t len) {
    return c->ssl ? tls_read(c->ssl, buf, len) : read(c->fd, buf, len);
}

static ssize_t conn_write(struct conn *c, const void *buf, size_t len) {
    return c->ssl ? tls_write(c->ssl, buf, len) : write(c->fd, buf, len);
}

static double now(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// ---- frames -------------------------------------------------------------------

// Writes a frame header (FIN | binary, length in minimal encoding) and returns its length.
static size_t put_header(uint8_t *p, uint64_t len, int masked) {
    uint8_t m = masked ? 0x80 : 0;
    p[0] = 0x82;
    if (len < 126) { p[1] = (uint8_t)(m | len); return 2; }
    if (len <= 0xffff) { p[1] = m | 126; p[2] = (uint8_t)(len >> 8); p[3] = (uint8_t)len; return 4; }
    p[1] = m | 127;
    for (int i = 0; i < 8; i++) p[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

static void make_expect(struct conn *c, uint64_t m);

// Fills in connection id's mask key, templates and buffers (the socket comes later).
static void setup_conn(struct conn *c, int id, int depth) {
    c->id = id;
    c->fd = -1;
    for (int i = 0; i < 4; i++) c->mask[i] = (uint8_t)(0x5a ^ (id * 31 + i * 97));
    c->frame_tmpl = malloc(flen);
    c->echo_tmpl = malloc(elen);
    c->expect = malloc(elen);
    c->out = malloc(flen * (size_t)(depth > 0 ? depth : 1)); // unsent + in flight never exceed depth frames
    if (!c->frame_tmpl || !c->echo_tmpl || !c->expect || !c->out) { perror("ws_loadgen: malloc"); exit(1); }
    uint8_t *f = (uint8_t *)c->frame_tmpl, *e = (uint8_t *)c->echo_tmpl;
    size_t h = put_header(f, (uint64_t)size, 1);
    memcpy(f + h, c->mask, 4);
    put_header(e, (uint64_t)size, 0);
    for (int j = 0; j < size; j++) {
        uint8_t v = (uint8_t)(id * 13 + j * 7);
        e[shdr + (size_t)j] = (char)v;
        f[chdr + (size_t)j] = (char)(v ^ c->mask[j & 3]);
    }
    make_expect(c, 0);
}

// Message m of connection c as a client frame: a copy of the template with the first
// 8 payload bytes (m and c) patched in, masked.
static void make_frame(char *dst, const struct conn *c, uint64_t m) {
    uint32_t hdr[2] = { (uint32_t)m, (uint32_t)c->id };
    const uint8_t *h = (const uint8_t *)hdr;
    memcpy(dst, c->frame_tmpl, flen);
    for (int i = 0; i < size && i < 8; i++) dst[chdr + (size_t)i] = (char)(h[i] ^ c->mask[i & 3]);
}

// The echo of message m of connection c, as it must come back.
static void make_expect(struct conn *c, uint64_t m) {
    uint32_t hdr[2] = { (uint32_t)m, (uint32_t)c->id };
    memcpy(c->expect, c->echo_tmpl, elen);
    memcpy(c->expect + shdr, hdr, size < 8 ? (size_t)size : 8);
}

// Checks n echoed bytes; returns how many whole messages completed.
static uint64_t check_echo(struct conn *c, const char *buf, size_t n) {
    uint64_t done = 0;
    while (n > 0) {
        size_t take = elen - c->recv_off;
        if (take > n) take = n;
        if (memcmp(buf, c->expect + c->recv_off, take) != 0) {
            size_t at = c->recv_off;
            for (size_t i = 0; i < take; i++) if (buf[i] != c->expect[c->recv_off + i]) { at = c->recv_off + i; break; }
            fprintf(stderr, "ws_loadgen: echo mismatch on connection %d, message %llu, frame byte %zu%s\n",
                    c->id, (unsigned long long)c->next_recv, at, at < shdr ? " (in the frame header)" : "");
            exit(2);
        }
        buf += take; n -= take; c->recv_off += take;
        if (c->recv_off == elen) {
            done++;
            c->recv_off = 0;
            make_expect(c, ++c->next_recv);
        }
    }
    return done;
}

// ---- blocking helpers: the upgrade, the latency and idle modes -------------------

static void write_all(struct conn *c, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t w = conn_write(c, buf, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) { fprintf(stderr, "ws_loadgen: write on connection %d: %s\n", c->id, strerror(errno)); exit(3); }
        buf += w; len -= (size_t)w;
    }
}

// Connects (blocking) and sends the upgrade request.
static void start_upgrade(struct conn *c) {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        fprintf(stderr, "ws_loadgen: connection %d: connect to port %d: %s\n", c->id, port, strerror(errno));
        exit(3);
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (tls_ctx) c->ssl = tls_connect_blocking(tls_ctx, c->fd, "ws_loadgen");
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                     path, port);
    write_all(c, req, (size_t)n);
}

// Reads the 101 response head (blocking) and checks it; the server must send nothing
// after it before the first frame.
static void finish_upgrade(struct conn *c) {
    char head[4096];
    size_t len = 0;
    char *end = NULL;
    while (!end) {
        if (len == sizeof head - 1) { fprintf(stderr, "ws_loadgen: connection %d: response head too long\n", c->id); exit(2); }
        ssize_t r = conn_read(c, head + len, sizeof head - 1 - len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) { fprintf(stderr, "ws_loadgen: connection %d: %s during the upgrade\n", c->id, r == 0 ? "closed by server" : strerror(errno)); exit(3); }
        len += (size_t)r;
        head[len] = 0;
        end = strstr(head, "\r\n\r\n");
    }
    if (strncmp(head, "HTTP/1.1 101", 12) != 0 || !strstr(head, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")) {
        fprintf(stderr, "ws_loadgen: connection %d: the upgrade failed:\n%.*s\n", c->id, (int)(end - head), head);
        exit(2);
    }
    if ((size_t)(end + 4 - head) != len) {
        fprintf(stderr, "ws_loadgen: connection %d: unexpected bytes after the 101 response\n", c->id);
        exit(2);
    }
}

// Upgrades conns[from..<to], 256 at a time so the listen backlog never overflows.
static void upgrade_range(struct conn *conns, int from, int to) {
    for (int b = from; b < to; b += 256) {
        int e = b + 256 < to ? b + 256 : to;
        for (int i = b; i < e; i++) start_upgrade(&conns[i]);
        for (int i = b; i < e; i++) finish_upgrade(&conns[i]);
    }
}

// Reads one whole echo (blocking) and checks it.
static void read_echo(struct conn *c) {
    uint64_t done = 0;
    while (!done) {
        ssize_t r = conn_read(c, readbuf, elen - c->recv_off < sizeof readbuf ? elen - c->recv_off : sizeof readbuf);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) { fprintf(stderr, "ws_loadgen: connection %d %s\n", c->id, r == 0 ? "closed by server" : strerror(errno)); exit(3); }
        done = check_echo(c, readbuf, (size_t)r);
    }
}

// One echo on each of conns[from..<to], 256 at a time.
static void echo_once_range(struct conn *conns, int from, int to) {
    for (int b = from; b < to; b += 256) {
        int e = b + 256 < to ? b + 256 : to;
        for (int i = b; i < e; i++) {
            make_frame(conns[i].out, &conns[i], conns[i].next_send++);
            write_all(&conns[i], conns[i].out, flen);
        }
        for (int i = b; i < e; i++) read_echo(&conns[i]);
    }
}

// ---- measuring ------------------------------------------------------------------

// Sum of the first schedstat field (ns on CPU) over all threads of pid, or -1.
static long long server_cpu_ns(int pid) {
    char p[300];
    snprintf(p, sizeof p, "/proc/%d/task", pid);
    DIR *dir = opendir(p);
    if (!dir) return -1;
    long long total = 0;
    for (struct dirent *e; (e = readdir(dir));) {
        if (e->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "/proc/%d/task/%s/schedstat", pid, e->d_name);
        FILE *f = fopen(p, "r");
        long long ns;
        if (f && fscanf(f, "%lld", &ns) == 1) total += ns;
        if (f) fclose(f);
    }
    closedir(dir);
    return total;
}

// Busy CPU time of the whole machine (/proc/stat), as in loadgen.c.
static long long machine_busy_ns(void) {
    FILE *f = fopen("/proc/stat", "r");
    unsigned long long user, nice, sys, idle, iowait, irq, softirq, steal;
    int ok = f && fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
                         &user, &nice, &sys, &idle, &iowait, &irq, &softirq, &steal) == 8;
    if (f) fclose(f);
    if (!ok) return -1;
    return (long long)((user + nice + sys + irq + softirq + steal) * (1000000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK)));
}

// VmRSS of pid in KiB, or -1.
static long rss_kb(int pid) {
    char p[64], line[256];
    snprintf(p, sizeof p, "/proc/%d/status", pid);
    FILE *f = fopen(p, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) { kb = strtol(line + 6, NULL, 10); break; }
    }
    if (f) fclose(f);
    return kb;
}

static void sleep_seconds(double s) {
    struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9) };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

// ---- throughput mode --------------------------------------------------------------

static void set_out_interest(int ep, struct conn *c, int want) {
    if (c->want_out == want) return;
    struct epoll_event ev = { .events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c };
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) { perror("epoll_ctl"); exit(1); }
    c->want_out = want;
}

static void flush_out(int ep, struct conn *c) {
    while (c->out_off < c->out_len) {
        ssize_t n = conn_write(c, c->out + c->out_off, c->out_len - c->out_off);
        if (n > 0) { c->out_off += (size_t)n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) break;
        fprintf(stderr, "ws_loadgen: write on connection %d: %s\n", c->id, strerror(errno));
        exit(3);
    }
    if (c->out_off == c->out_len) c->out_len = c->out_off = 0;
    set_out_interest(ep, c, c->out_len > 0);
}

static void send_messages(int ep, struct conn *c, uint64_t k) {
    if (c->out_off > 0) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    for (uint64_t i = 0; i < k; i++, c->next_send++) {
        make_frame(c->out + c->out_len, c, c->next_send);
        c->out_len += flen;
    }
    flush_out(ep, c);
}

static int throughput(struct conn *conns, int nconns, int depth, double warmup, double measure,
                      int server_pid, int signal_server) {
    upgrade_range(conns, 0, nconns);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) { perror("ws_loadgen: epoll_create1"); return 1; }
    for (int i = 0; i < nconns; i++) {
        struct conn *c = &conns[i];
        fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) { perror("ws_loadgen: epoll_ctl"); return 1; }
    }
    for (int i = 0; i < nconns; i++) send_messages(ep, &conns[i], (uint64_t)depth);

    double window_start = now(CLOCK_MONOTONIC) + warmup, window_end = window_start + measure;
    double t0 = 0, t1 = 0;
    long long server0 = -1, server1 = -1, self0 = 0, self1 = 0, machine0 = -1, machine1 = -1;
    uint64_t counted = 0;
    int measuring = 0;
    struct epoll_event events[256];
    for (;;) {
        int n = epoll_wait(ep, events, 256, 50);
        if (n < 0 && errno != EINTR) { perror("ws_loadgen: epoll_wait"); return 1; }
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            if (events[i].events & EPOLLOUT) flush_out(ep, c);
            if (!(events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) continue;
            for (;;) {
                ssize_t r = conn_read(c, readbuf, sizeof readbuf);
                if (r < 0 && (errno == EAGAIN || errno == EINTR)) break;
                if (r <= 0) {
                    fprintf(stderr, "ws_loadgen: connection %d %s\n", c->id, r == 0 ? "closed by server" : strerror(errno));
                    return 3;
                }
                uint64_t done = check_echo(c, readbuf, (size_t)r);
                if (measuring) counted += done;
                if (done) send_messages(ep, c, done);
                if (!c->ssl) break; // plain: level-triggered epoll wakes us for the rest
            }
        }
        double t = now(CLOCK_MONOTONIC);
        if (!measuring && t >= window_start) {
            if (signal_server) kill(server_pid, SIGUSR1);
            if (server_pid) server0 = server_cpu_ns(server_pid);
            self0 = (long long)(now(CLOCK_PROCESS_CPUTIME_ID) * 1e9);
            machine0 = machine_busy_ns();
            t0 = now(CLOCK_MONOTONIC);
            measuring = 1;
        } else if (measuring && t >= window_end) {
            t1 = now(CLOCK_MONOTONIC);
            self1 = (long long)(now(CLOCK_PROCESS_CPUTIME_ID) * 1e9);
            machine1 = machine_busy_ns();
            if (server_pid) server1 = server_cpu_ns(server_pid);
            if (signal_server) kill(server_pid, SIGUSR2);
            break;
        }
    }
    double seconds = t1 - t0;
    long long server_ns = server0 >= 0 && server1 >= 0 ? server1 - server0 : -1;
    long long machine_ns = machine0 >= 0 && machine1 >= 0 ? machine1 - machine0 : -1;
    printf("messages=%llu seconds=%.6f msgs_per_sec=%.1f server_cpu_ns=%lld loadgen_cpu_ns=%lld"
           " machine_busy_ns=%lld conns=%d size=%d depth=%d\n",
           (unsigned long long)counted, seconds, (double)counted / seconds,
           server_ns, self1 - self0, machine_ns, nconns, size, depth);
    return 0;
}

// ---- latency mode -------------------------------------------------------------------

// A log-linear histogram of nanoseconds (HdrHistogram's layout): exact below 256 ns,
// then 128 buckets per power of two, so every value is kept to within 0.8%.
#define SUB_BITS 7
#define SUB (1 << SUB_BITS)
#define BUCKETS (2 * SUB + 48 * SUB)

static uint64_t histogram[BUCKETS];

static int bucket_of(uint64_t ns) {
    if (ns < 2 * SUB) return (int)ns;
    int e = 63 - __builtin_clzll(ns) - SUB_BITS; // ns >> e is in [SUB, 2 * SUB)
    int b = 2 * SUB + (e - 1) * SUB + (int)((ns >> e) - SUB);
    return b < BUCKETS ? b : BUCKETS - 1;
}

// The middle of bucket b, in nanoseconds.
static double value_of(int b) {
    if (b < 2 * SUB) return b;
    int e = (b - 2 * SUB) / SUB + 1;
    uint64_t m = (uint64_t)((b - 2 * SUB) % SUB + SUB);
    return ((double)m + 0.5) * (double)(1ULL << e);
}

static double percentile_us(uint64_t total, double p, double max_ns) {
    uint64_t rank = (uint64_t)((double)total * p);
    if (rank >= total) rank = total - 1;
    uint64_t seen = 0;
    for (int i = 0; i < BUCKETS; i++) {
        seen += histogram[i];
        if (seen > rank) return (value_of(i) < max_ns ? value_of(i) : max_ns) / 1000;
    }
    return max_ns / 1000;
}

static int latency(struct conn *c, double warmup, double measure, int server_pid) {
    upgrade_range(c, 0, 1);
    double start = now(CLOCK_MONOTONIC), window_start = start + warmup, window_end = window_start + measure;
    uint64_t total = 0;
    double sum_ns = 0, max_ns = 0, t0 = 0, t1 = 0;
    long long server0 = -1, server1 = -1, self0 = 0, self1 = 0, machine0 = -1, machine1 = -1;
    int measuring = 0;
    for (;;) {
        double before = now(CLOCK_MONOTONIC);
        if (!measuring && before >= window_start) {
            if (server_pid) server0 = server_cpu_ns(server_pid);
            self0 = (long long)(now(CLOCK_PROCESS_CPUTIME_ID) * 1e9);
            machine0 = machine_busy_ns();
            t0 = before = now(CLOCK_MONOTONIC);
            measuring = 1;
        } else if (measuring && before >= window_end) {
            t1 = before;
            self1 = (long long)(now(CLOCK_PROCESS_CPUTIME_ID) * 1e9);
            machine1 = machine_busy_ns();
            if (server_pid) server1 = server_cpu_ns(server_pid);
            break;
        }
        make_frame(c->out, c, c->next_send++);
        write_all(c, c->out, flen);
        read_echo(c);
        if (!measuring) continue;
        double ns = (now(CLOCK_MONOTONIC) - before) * 1e9;
        histogram[bucket_of((uint64_t)ns)]++;
        total++;
        sum_ns += ns;
        if (ns > max_ns) max_ns = ns;
    }
    if (total == 0) { fprintf(stderr, "ws_loadgen: no round trip in the window\n"); return 3; }
    long long server_ns = server0 >= 0 && server1 >= 0 ? server1 - server0 : -1;
    long long machine_ns = machine0 >= 0 && machine1 >= 0 ? machine1 - machine0 : -1;
    printf("messages=%llu seconds=%.6f p50_us=%.2f p99_us=%.2f p999_us=%.2f max_us=%.2f mean_us=%.2f"
           " server_cpu_ns=%lld loadgen_cpu_ns=%lld machine_busy_ns=%lld size=%d\n",
           (unsigned long long)total, t1 - t0, percentile_us(total, 0.50, max_ns), percentile_us(total, 0.99, max_ns),
           percentile_us(total, 0.999, max_ns), max_ns / 1000, sum_ns / (double)total / 1000, server_ns,
           self1 - self0, machine_ns, size);
    return 0;
}

// ---- idle mode ------------------------------------------------------------------------

static int idle(struct conn *conns, int nconns, double wait, int server_pid) {
    // Warm the server up, so its one-time allocations (buffers, tables) are not charged
    // to the connections: 64 upgrades and echoes, then close them.
    struct conn *warm = calloc(64, sizeof *warm);
    if (!warm) { perror("ws_loadgen: calloc"); return 1; }
    for (int i = 0; i < 64; i++) setup_conn(&warm[i], 1000000 + i, 1);
    upgrade_range(warm, 0, 64);
    echo_once_range(warm, 0, 64);
    for (int i = 0; i < 64; i++) {
        if (warm[i].ssl) SSL_free(warm[i].ssl);
        close(warm[i].fd);
    }
    sleep_seconds(0.5);

    long before = rss_kb(server_pid);
    double t = now(CLOCK_MONOTONIC);
    upgrade_range(conns, 0, nconns);
    double upgrade_seconds = now(CLOCK_MONOTONIC) - t;
    sleep_seconds(wait);
    long upgraded = rss_kb(server_pid);
    echo_once_range(conns, 0, nconns);
    sleep_seconds(wait);
    long echoed = rss_kb(server_pid);
    if (before < 0 || upgraded < 0 || echoed < 0) { fprintf(stderr, "ws_loadgen: cannot read VmRSS of %d\n", server_pid); return 1; }
    printf("conns=%d rss_before_kb=%ld rss_upgraded_kb=%ld rss_echoed_kb=%ld upgrade_seconds=%.3f\n",
           nconns, before, upgraded, echoed, upgrade_seconds);
    return 0;
}

static void usage(const char *argv0) {
    fprintf(stderr, "usage: %s -p PORT [-c CONNS] [-s SIZE] [-d DEPTH] [-w WARMUP_S] [-t MEASURE_S]"
                    " [-P SERVER_PID] [-S] [-L | -I] [-u PATH] [--tls]\n", argv0);
    exit(1);
}

int main(int argc, char **argv) {
    int nconns = 64, depth = 16, server_pid = 0, signal_server = 0, mode = 0; // 0 throughput, 'L', 'I'
    double warmup = 3, measure = 10;
    int warmup_given = 0;
    static const struct option long_options[] = { { "tls", no_argument, NULL, 'T' }, { NULL, 0, NULL, 0 } };
    int tls = 0;
    for (int opt; (opt = getopt_long(argc, argv, "p:c:s:d:w:t:P:SLIu:T", long_options, NULL)) != -1;) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'c': nconns = atoi(optarg); break;
        case 's': size = atoi(optarg); break;
        case 'd': depth = atoi(optarg); break;
        case 'w': warmup = atof(optarg); warmup_given = 1; break;
        case 't': measure = atof(optarg); break;
        case 'P': server_pid = atoi(optarg); break;
        case 'S': signal_server = 1; break;
        case 'L': mode = 'L'; break;
        case 'I': mode = 'I'; break;
        case 'u': path = optarg; break;
        case 'T': tls = 1; break;
        default: usage(argv[0]);
        }
    }
    if (port <= 0 || nconns <= 0 || size <= 0 || depth <= 0 || warmup < 0 || measure <= 0) usage(argv[0]);
    if (size < 8) { fprintf(stderr, "ws_loadgen: -s must be at least 8 (the message header)\n"); return 1; }
    if (signal_server && server_pid <= 0) { fprintf(stderr, "ws_loadgen: -S needs -P\n"); return 1; }
    if (mode == 'I' && server_pid <= 0) { fprintf(stderr, "ws_loadgen: -I needs -P\n"); return 1; }
    if (mode == 'L') { nconns = 1; depth = 1; }
    signal(SIGPIPE, SIG_IGN);
    if (tls) tls_ctx = tls_client_context(mode == 'I');

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)nconns + 64 + 16) {
        fprintf(stderr, "ws_loadgen: RLIMIT_NOFILE is %llu, too low for %d connections\n",
                (unsigned long long)rl.rlim_cur, nconns);
        return 1;
    }

    uint8_t tmp[16];
    chdr = put_header(tmp, (uint64_t)size, 1) + 4;
    shdr = put_header(tmp, (uint64_t)size, 0);
    flen = chdr + (size_t)size;
    elen = shdr + (size_t)size;
    addr = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

    struct conn *conns = calloc((size_t)nconns, sizeof *conns);
    if (!conns) { perror("ws_loadgen: calloc"); return 1; }
    for (int i = 0; i < nconns; i++) setup_conn(&conns[i], i, mode == 'I' ? 1 : depth);

    switch (mode) {
    case 'L': return latency(&conns[0], warmup, measure, server_pid);
    case 'I': return idle(conns, nconns, warmup_given ? warmup : 1.0, server_pid);
    default: return throughput(conns, nconns, depth, warmup, measure, server_pid, signal_server);
    }
}
