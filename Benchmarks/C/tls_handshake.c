// TLS handshake load generator: full handshakes per second, or resumed ones (session tickets),
// against one server, for a given number of seconds.
//
// C connections at a time (default 8), non-blocking, one thread, one epoll instance. Each slot
// loops: connect, handshake (OpenSSL client, tls_client.h: no certificate verification), send
// close_notify, read until the server's close_notify or EOF (so the server has finished the
// handshake, sent its session tickets and taken the close before the slot counts it), close,
// start again. One handshake = one such cycle; the server does one full key exchange and (in a
// full handshake) one signature with its certificate's key per cycle.
//
// -r (resumed): every handshake offers the newest session ticket the server has issued (kept
// from the new-session callback; the first handshake is full, in the warmup). A handshake the
// server did not resume is counted apart (resumed=N beside handshakes=N): a server that refuses
// the tickets shows up in the figures rather than as a fast run of full handshakes.
//
// As ws_loadgen does, it owns the window: -P samples the server's CPU time
// (/proc/PID/task/*/schedstat) at its edges. Prints one line: handshakes, resumed, seconds,
// handshakes_per_sec, server_cpu_ns, loadgen_cpu_ns, machine_busy_ns, conns, mode, protocol.
// A TLS failure exits 2, a socket failure 3.
//
// usage: tls_handshake -p PORT [-c CONNS] [-w WARMUP_S] [-t MEASURE_S] [-P SERVER_PID] [-r]
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tls_client.h"

enum state { CONNECTING, HANDSHAKING, CLOSING };

struct slot {
    int fd;
    SSL *ssl;
    enum state state;
};

static struct sockaddr_in addr;
static SSL_CTX *ctx;
static int ep;
static int resume;
static SSL_SESSION *newest;   // the newest ticket the server issued (-r)
static char protocol[16] = "?";

static double now(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// As in ws_loadgen.c: the server's CPU time over all its threads, the machine's busy time.
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

static long long machine_busy_ns(void) {
    FILE *f = fopen("/proc/stat", "r");
    unsigned long long user, nice, sys, idle, iowait, irq, softirq, steal;
    int ok = f && fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
                         &user, &nice, &sys, &idle, &iowait, &irq, &softirq, &steal) == 8;
    if (f) fclose(f);
    if (!ok) return -1;
    return (long long)((user + nice + sys + irq + softirq + steal) * (1000000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK)));
}

// OpenSSL's new-session callback: keep the newest ticket (the reference is ours: return 1).
static int keep_session(SSL *ssl, SSL_SESSION *session) {
    (void)ssl;
    if (newest) SSL_SESSION_free(newest);
    newest = session;
    return 1;
}

static void watch(struct slot *s, uint32_t events, int op) {
    struct epoll_event ev = { .events = events, .data.ptr = s };
    if (epoll_ctl(ep, op, s->fd, &ev) < 0) { perror("tls_handshake: epoll_ctl"); exit(3); }
}

static void start(struct slot *s) {
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) { perror("tls_handshake: socket"); exit(3); }
    int one = 1;
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(s->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
        fprintf(stderr, "tls_handshake: connect to port %d: %s\n", ntohs(addr.sin_port), strerror(errno));
        exit(3);
    }
    s->state = CONNECTING;
    s->ssl = NULL;
    watch(s, EPOLLOUT, EPOLL_CTL_ADD);
}

// After an SSL call that did not finish: wait for the direction OpenSSL wants, or fail.
static void wait_or_fail(struct slot *s, int result, const char *what) {
    switch (SSL_get_error(s->ssl, result)) {
    case SSL_ERROR_WANT_READ: watch(s, EPOLLIN, EPOLL_CTL_MOD); return;
    case SSL_ERROR_WANT_WRITE: watch(s, EPOLLOUT, EPOLL_CTL_MOD); return;
    default:
        fprintf(stderr, "tls_handshake: %s failed (%s)\n", what, errno ? strerror(errno) : "TLS error");
        tls_print_errors("tls_handshake");
        exit(2);
    }
}

// Advances slot s; returns 1 when its cycle completed (handshake done, connection closed),
// with *reused set to whether the server resumed the session.
static int step(struct slot *s, int *reused) {
    if (s->state == CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) { fprintf(stderr, "tls_handshake: connect: %s\n", strerror(err)); exit(3); }
        s->ssl = SSL_new(ctx);
        if (!s->ssl || SSL_set_fd(s->ssl, s->fd) != 1) { tls_print_errors("tls_handshake"); exit(1); }
        SSL_set_tlsext_host_name(s->ssl, "localhost");
        if (resume && newest) SSL_set_session(s->ssl, newest);
        SSL_set_connect_state(s->ssl);
        s->state = HANDSHAKING;
    }
    if (s->state == HANDSHAKING) {
        ERR_clear_error();
        errno = 0;
        int r = SSL_do_handshake(s->ssl);
        if (r != 1) { wait_or_fail(s, r, "handshake"); return 0; }
        snprintf(protocol, sizeof protocol, "%s", SSL_get_version(s->ssl));
        SSL_shutdown(s->ssl); // our close_notify; the server's answer ends the cycle
        s->state = CLOSING;
    }
    // CLOSING: read (tickets, then the server's close_notify or EOF) until the stream ends.
    char buf[4096];
    for (;;) {
        size_t n = 0;
        ERR_clear_error();
        errno = 0;
        int r = SSL_read_ex(s->ssl, buf, sizeof buf, &n);
        if (r == 1) continue; // the server sent data it should not have: ignore it, wait for the end
        int e = SSL_get_error(s->ssl, r);
        if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && errno == 0)) break;
        if (e == SSL_ERROR_SYSCALL && errno == ECONNRESET) break; // closed with unread data: done too
        wait_or_fail(s, r, "reading the server's close");
        return 0;
    }
    *reused = SSL_session_reused(s->ssl) == 1;
    SSL_free(s->ssl);
    close(s->fd); // closing the descriptor removes it from the epoll set
    return 1;
}

int main(int argc, char **argv) {
    int port = 0, conns = 8, server_pid = 0;
    double warmup = 1, measure = 5;
    for (int opt; (opt = getopt(argc, argv, "p:c:w:t:P:r")) != -1;) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'c': conns = atoi(optarg); break;
        case 'w': warmup = atof(optarg); break;
        case 't': measure = atof(optarg); break;
        case 'P': server_pid = atoi(optarg); break;
        case 'r': resume = 1; break;
        default:
            fprintf(stderr, "usage: %s -p PORT [-c CONNS] [-w WARMUP_S] [-t MEASURE_S] [-P SERVER_PID] [-r]\n", argv[0]);
            return 1;
        }
    }
    if (port <= 0 || conns <= 0 || conns > 1024 || warmup < 0 || measure <= 0) {
        fprintf(stderr, "tls_handshake: bad arguments\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    addr = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    ctx = tls_client_context(0);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, keep_session);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) { perror("tls_handshake: epoll_create1"); return 3; }

    struct slot *slots = calloc((size_t)conns, sizeof *slots);
    if (!slots) { perror("tls_handshake: calloc"); return 1; }
    for (int i = 0; i < conns; i++) start(&slots[i]);

    double window_start = now(CLOCK_MONOTONIC) + warmup, window_end = window_start + measure, t0 = 0, t1 = 0;
    long long server0 = -1, server1 = -1, self0 = 0, self1 = 0, machine0 = -1, machine1 = -1;
    unsigned long long counted = 0, resumed = 0;
    int measuring = 0;
    struct epoll_event events[256];
    for (;;) {
        int n = epoll_wait(ep, events, 256, 50);
        if (n < 0 && errno != EINTR) { perror("tls_handshake: epoll_wait"); return 3; }
        for (int i = 0; i < n; i++) {
            struct slot *s = events[i].data.ptr;
            int reused = 0;
            if (!step(s, &reused)) continue;
            if (measuring) { counted++; resumed += (unsigned long long)reused; }
            start(s);
        }
        double t = now(CLOCK_MONOTONIC);
        if (!measuring && t >= window_start) {
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
            break;
        }
    }
    if (counted == 0) { fprintf(stderr, "tls_handshake: no handshake completed in the window\n"); return 3; }
    double seconds = t1 - t0;
    printf("handshakes=%llu resumed=%llu seconds=%.6f handshakes_per_sec=%.1f server_cpu_ns=%lld loadgen_cpu_ns=%lld"
           " machine_busy_ns=%lld conns=%d mode=%s protocol=%s\n",
           counted, resumed, seconds, (double)counted / seconds,
           server0 >= 0 && server1 >= 0 ? server1 - server0 : -1, self1 - self0,
           machine0 >= 0 && machine1 >= 0 ? machine1 - machine0 : -1, conns, resume ? "resumed" : "full", protocol);
    return 0;
}
