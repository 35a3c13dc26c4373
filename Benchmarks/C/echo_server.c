// Minimal TCP echo server: the ceiling the reactor is measured against.
//
// One thread, one level-triggered epoll instance, one shared 64 KiB read buffer.
// A readable socket is read once and the bytes are written back at once; only if
// the kernel takes part of them is the tail copied into a per-connection queue,
// and the connection then stops reading until the queue drains (backpressure
// without unbounded memory). In steady state it makes no heap allocation.
//
// Level-triggered, one read per readiness event: a single read into 64 KiB drains
// a small-message socket, and anything left is reported again by the next
// epoll_wait, so no connection can starve the others and no read is wasted on EAGAIN.
//
// usage: echo_server PORT
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FDS 65536
#define MAX_EVENTS 512

// Unwritten bytes of one connection; empty (NULL) for all but a blocked peer.
struct pending { char *data; size_t len, off; };

static struct pending pending[MAX_FDS];
static char readbuf[65536];
static int ep;

static void die(const char *what) { perror(what); exit(1); }

static void set_interest(int fd, uint32_t events) {
    struct epoll_event ev = { .events = events, .data.fd = fd };
    if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) < 0) die("epoll_ctl mod");
}

static void close_conn(int fd) {
    free(pending[fd].data);
    pending[fd] = (struct pending){0};
    close(fd); // also removes it from the epoll set
}

// Writes buf; returns how many bytes the kernel took, or -1 if the peer is gone.
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

static void on_readable(int fd) {
    ssize_t n = read(fd, readbuf, sizeof readbuf);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) { close_conn(fd); return; }
    if (n < 0) return;
    ssize_t w = write_some(fd, readbuf, (size_t)n);
    if (w < 0) { close_conn(fd); return; }
    if (w < n) {
        // The kernel send buffer is full: keep the tail, stop reading until it drains.
        size_t rest = (size_t)(n - w);
        pending[fd].data = malloc(rest);
        if (!pending[fd].data) die("malloc");
        memcpy(pending[fd].data, readbuf + w, rest);
        pending[fd].len = rest;
        pending[fd].off = 0;
        set_interest(fd, EPOLLOUT);
    }
}

static void on_writable(int fd) {
    struct pending *p = &pending[fd];
    ssize_t w = write_some(fd, p->data + p->off, p->len - p->off);
    if (w < 0) { close_conn(fd); return; }
    p->off += (size_t)w;
    if (p->off == p->len) {
        free(p->data);
        *p = (struct pending){0};
        set_interest(fd, EPOLLIN);
    }
}

static void on_acceptable(int lfd) {
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EAGAIN) return;
            perror("accept4"); // EMFILE and friends: drop this round, keep serving
            return;
        }
        if (fd >= MAX_FDS) { close(fd); continue; }
        // Echo replies are small and latency-bound: never let Nagle hold one back.
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl add");
    }
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s PORT\n", argv[0]); return 2; }
    signal(SIGPIPE, SIG_IGN); // a peer that vanishes mid-write is an EPIPE, not a death

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
    printf("c echo listening on 127.0.0.1:%s\n", argv[1]);
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
            else on_readable(fd); // EPOLLIN, EPOLLHUP, EPOLLERR: the read tells which
        }
    }
}
