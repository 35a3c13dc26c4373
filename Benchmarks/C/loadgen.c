// Closed-loop TCP echo load generator: one thread, one epoll instance.
//
// N connections each keep D messages of S bytes in flight: whenever k whole
// messages have come back, k more are sent. After W seconds of warmup it measures
// for T seconds and prints one line of key=value pairs (messages, seconds,
// msgs_per_sec, server_cpu_ns, loadgen_cpu_ns, machine_busy_ns, and the parameters;
// -1 where a figure could not be read). The load generator owns the
// measured window, so it also marks it for the server: with -P it samples the
// server's CPU time (/proc/PID/task/*/schedstat) at the window's edges, and with -S
// it sends the server SIGUSR1 at the start and SIGUSR2 at the end (the malloc
// counter's reset and report).
//
// Every echoed byte is checked: message m of connection c starts with m and c and
// is filled with a pattern of c, so lost, duplicated, reordered, corrupted or
// crossed-over bytes are caught. Any mismatch exits with status 2: a broken server
// must not look fast.
//
// usage: loadgen -p PORT [-c CONNS] [-s SIZE] [-d DEPTH] [-w WARMUP_S] [-t MEASURE_S]
//                [-P SERVER_PID] [-S]
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
    int fd, id;
    uint64_t next_send;    // index of the next message to generate
    uint64_t next_recv;    // index of the message being checked
    size_t recv_off;       // bytes of that message already checked
    char *pattern;         // the connection's fill pattern, `size` bytes
    char *expect;          // message next_recv, as it must come back
    char *out;             // generated but not yet accepted by the kernel
    size_t out_len, out_off;
    int want_out;          // EPOLLOUT currently registered
};

static int size = 32;
static char readbuf[65536];

static double now(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// Message m of connection c: the connection's pattern (a function of c and the
// offset) under an 8-byte header holding m and c. A copy and a patch, because the
// load generator is usually the bottleneck: every cycle here is a message less.
static void make_message(char *dst, const struct conn *c, uint64_t m) {
    uint32_t hdr[2] = { (uint32_t)m, (uint32_t)c->id };
    memcpy(dst, c->pattern, (size_t)size);
    memcpy(dst, hdr, size < 8 ? (size_t)size : 8);
}

// Sum of the first schedstat field (ns on CPU) over all threads of pid, or -1.
static long long server_cpu_ns(int pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    DIR *dir = opendir(path);
    if (!dir) return -1;
    long long total = 0;
    for (struct dirent *e; (e = readdir(dir));) {
        if (e->d_name[0] == '.') continue;
        char p[300];
        snprintf(p, sizeof p, "/proc/%d/task/%s/schedstat", pid, e->d_name);
        FILE *f = fopen(p, "r");
        long long ns;
        if (f && fscanf(f, "%lld", &ns) == 1) total += ns;
        if (f) fclose(f);
    }
    closedir(dir);
    return total;
}

// Busy CPU time of the whole machine (all CPUs, every state but idle and iowait),
// from /proc/stat in clock ticks. Set against the server's and our own CPU time it
// shows whether something else ran during the window (a build, another benchmark).
static long long machine_busy_ns(void) {
    FILE *f = fopen("/proc/stat", "r");
    unsigned long long user, nice, sys, idle, iowait, irq, softirq, steal;
    int ok = f && fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
                         &user, &nice, &sys, &idle, &iowait, &irq, &softirq, &steal) == 8;
    if (f) fclose(f);
    if (!ok) return -1;
    return (long long)((user + nice + sys + irq + softirq + steal) * (1000000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK)));
}

static void set_out_interest(int ep, struct conn *c, int want) {
    if (c->want_out == want) return;
    struct epoll_event ev = { .events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c };
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) { perror("epoll_ctl"); exit(1); }
    c->want_out = want;
}

static void flush_out(int ep, struct conn *c) {
    while (c->out_off < c->out_len) {
        ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (n > 0) { c->out_off += (size_t)n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) break;
        fprintf(stderr, "loadgen: write on connection %d: %s\n", c->id, strerror(errno));
        exit(3);
    }
    if (c->out_off == c->out_len) c->out_len = c->out_off = 0;
    set_out_interest(ep, c, c->out_len > 0);
}

// Appends k new messages to the connection's outgoing bytes and tries to send them.
static void send_messages(int ep, struct conn *c, uint64_t k) {
    if (c->out_off > 0) { // compact: keep the unsent tail at the front
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    for (uint64_t i = 0; i < k; i++, c->next_send++) {
        make_message(c->out + c->out_len, c, c->next_send);
        c->out_len += (size_t)size;
    }
    flush_out(ep, c);
}

// Checks n echoed bytes against what was sent; returns how many messages completed.
static uint64_t check_echo(struct conn *c, const char *buf, size_t n) {
    uint64_t done = 0;
    while (n > 0) {
        size_t take = (size_t)size - c->recv_off;
        if (take > n) take = n;
        if (memcmp(buf, c->expect + c->recv_off, take) != 0) {
            fprintf(stderr, "loadgen: echo mismatch on connection %d, message %llu, offset %zu\n",
                    c->id, (unsigned long long)c->next_recv, c->recv_off);
            exit(2);
        }
        buf += take; n -= take; c->recv_off += take;
        if (c->recv_off == (size_t)size) {
            done++;
            c->recv_off = 0;
            make_message(c->expect, c, ++c->next_recv);
        }
    }
    return done;
}

static void usage(const char *argv0) {
    fprintf(stderr, "usage: %s -p PORT [-c CONNS] [-s SIZE] [-d DEPTH] [-w WARMUP_S] [-t MEASURE_S]"
                    " [-P SERVER_PID] [-S]\n", argv0);
    exit(1);
}

int main(int argc, char **argv) {
    int port = 0, nconns = 64, depth = 8, server_pid = 0, signal_server = 0;
    double warmup = 3, measure = 10;
    for (int opt; (opt = getopt(argc, argv, "p:c:s:d:w:t:P:S")) != -1;) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'c': nconns = atoi(optarg); break;
        case 's': size = atoi(optarg); break;
        case 'd': depth = atoi(optarg); break;
        case 'w': warmup = atof(optarg); break;
        case 't': measure = atof(optarg); break;
        case 'P': server_pid = atoi(optarg); break;
        case 'S': signal_server = 1; break;
        default: usage(argv[0]);
        }
    }
    if (port <= 0 || nconns <= 0 || size <= 0 || depth <= 0 || warmup < 0 || measure <= 0) usage(argv[0]);
    if (signal_server && server_pid <= 0) { fprintf(stderr, "loadgen: -S needs -P\n"); return 1; }
    signal(SIGPIPE, SIG_IGN);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct conn *conns = calloc((size_t)nconns, sizeof *conns);
    if (ep < 0 || !conns) { perror("loadgen: setup"); return 1; }
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    // Connect everyone first (blocking: it is loopback), then start the traffic,
    // so the first messages do not race the remaining handshakes.
    for (int i = 0; i < nconns; i++) {
        struct conn *c = &conns[i];
        c->id = i;
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
            fprintf(stderr, "loadgen: connect to port %d: %s\n", port, strerror(errno));
            return 3;
        }
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
        c->pattern = malloc((size_t)size);
        c->expect = malloc((size_t)size);
        c->out = malloc((size_t)size * (size_t)depth); // unsent + in flight never exceed depth messages
        if (!c->pattern || !c->expect || !c->out) { perror("loadgen: malloc"); return 1; }
        for (int j = 0; j < size; j++) c->pattern[j] = (char)(i * 13 + j * 7);
        make_message(c->expect, c, 0);
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) { perror("loadgen: epoll_ctl"); return 1; }
    }
    for (int i = 0; i < nconns; i++) send_messages(ep, &conns[i], (uint64_t)depth);

    double window_start = now(CLOCK_MONOTONIC) + warmup, window_end = window_start + measure;
    double t0 = 0, t1 = 0;
    long long server0 = -1, server1 = -1, self0 = 0, self1 = 0, machine0 = -1, machine1 = -1;
    uint64_t counted = 0;
    int measuring = 0;
    struct epoll_event events[256];
    for (;;) {
        // The timeout only matters if the server stalls: the window still ends on time,
        // and the run reports what it got (the runner rejects 0 messages).
        int n = epoll_wait(ep, events, 256, 50);
        if (n < 0 && errno != EINTR) { perror("loadgen: epoll_wait"); return 1; }
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            if (events[i].events & EPOLLOUT) flush_out(ep, c);
            if (!(events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) continue;
            ssize_t r = read(c->fd, readbuf, sizeof readbuf);
            if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (r <= 0) {
                fprintf(stderr, "loadgen: connection %d %s\n", c->id, r == 0 ? "closed by server" : strerror(errno));
                return 3;
            }
            uint64_t done = check_echo(c, readbuf, (size_t)r);
            if (measuring) counted += done;
            if (done) send_messages(ep, c, done);
        }
        // The window's edges: sample CPU times and signal the server at the same instant.
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
    long long server_ns = server0 >= 0 && server1 >= 0 ? server1 - server0 : -1; // -1: not sampled
    long long machine_ns = machine0 >= 0 && machine1 >= 0 ? machine1 - machine0 : -1;
    printf("messages=%llu seconds=%.6f msgs_per_sec=%.1f server_cpu_ns=%lld loadgen_cpu_ns=%lld"
           " machine_busy_ns=%lld conns=%d size=%d depth=%d\n",
           (unsigned long long)counted, seconds, (double)counted / seconds,
           server_ns, self1 - self0, machine_ns, nconns, size, depth);
    return 0;
}
