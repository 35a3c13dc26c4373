// Minimal HTTP/1.1 "plaintext" server: the ceiling the reactor's HTTP server is
// measured against (the http-plaintext scenario).
//
// One thread, one level-triggered epoll instance, one shared 64 KiB read buffer, the
// design of echo_server.c. It answers every request with the same fixed response
// (200, Content-Length 13, Content-Type text/plain, a fixed Date-like header, body
// "Hello, World!") and parses nothing but the end of each request head, the blank
// line "\r\n\r\n": a per-connection state (how much of "\r\n\r\n" the previous read
// ended with) finds it across read boundaries without buffering anything. So it
// serves bodiless requests (GET) only, ignores the method, the path and
// "Connection: close", and is a ceiling, not a server.
//
// Pipelining: the requests that end in one read are counted and all their answers
// go out in one write, from a buffer holding many copies of the response back to
// back. Because every response is the same, what is owed to a slow reader is just a
// byte count, and any part of it can be sent from that buffer: no queue, and no heap
// allocation at all after start-up.
//
// usage: http_server PORT
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
#define COPIES 1024 // responses in the send buffer: more than one 64 KiB read can ask for

static const char response[] =
    "HTTP/1.1 200 OK\r\n"
    "Date: Sun, 29 Nov 2026 12:00:00 GMT\r\n"
    "Content-Length: 13\r\n"
    "Server: C-epoll\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "Hello, World!";
#define RESPONSE_LEN (sizeof response - 1)

// Per connection: how many bytes of "\r\n\r\n" the bytes read so far end with, and
// how many response bytes are owed (could not be written yet).
struct conn { unsigned char matched; size_t owed; };

static struct conn conns[MAX_FDS];
static char readbuf[65536];
static char responses[COPIES * RESPONSE_LEN];
static int ep;

static void die(const char *what) { perror(what); exit(1); }

static void set_interest(int fd, uint32_t events) {
    struct epoll_event ev = { .events = events, .data.fd = fd };
    if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) < 0) die("epoll_ctl mod");
}

static void close_conn(int fd) {
    conns[fd] = (struct conn){0};
    close(fd); // also removes it from the epoll set
}

// Counts the request heads that end in buf[0..n), carrying a partial "\r\n\r\n" over.
static size_t count_requests(struct conn *c, const char *buf, size_t n) {
    static const char eoh[4] = { '\r', '\n', '\r', '\n' };
    size_t count = 0;
    unsigned m = c->matched;
    for (size_t i = 0; i < n; i++) {
        char ch = buf[i];
        if (ch == eoh[m]) {
            if (++m == 4) { count++; m = 0; }
        } else {
            m = ch == '\r' ? 1 : 0;
        }
    }
    c->matched = (unsigned char)m;
    return count;
}

// Sends what connection fd owes, from the buffer of copies; returns -1 if the peer is gone.
// The bytes owed are always the tail of a whole number of responses, so they start at
// offset (RESPONSE_LEN - owed % RESPONSE_LEN) % RESPONSE_LEN of a response.
static int flush_owed(int fd) {
    struct conn *c = &conns[fd];
    while (c->owed > 0) {
        size_t start = (RESPONSE_LEN - c->owed % RESPONSE_LEN) % RESPONSE_LEN;
        size_t len = sizeof responses - start;
        if (len > c->owed) len = c->owed;
        ssize_t w = write(fd, responses + start, len);
        if (w > 0) { c->owed -= (size_t)w; continue; }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) return 0;
        return -1;
    }
    return 0;
}

static void on_readable(int fd) {
    ssize_t n = read(fd, readbuf, sizeof readbuf);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) { close_conn(fd); return; }
    if (n < 0) return;
    size_t k = count_requests(&conns[fd], readbuf, (size_t)n);
    if (k == 0) return;
    conns[fd].owed = k * RESPONSE_LEN;
    if (flush_owed(fd) < 0) { close_conn(fd); return; }
    // The kernel send buffer is full: stop reading until it drains.
    if (conns[fd].owed > 0) set_interest(fd, EPOLLOUT);
}

static void on_writable(int fd) {
    if (flush_owed(fd) < 0) { close_conn(fd); return; }
    if (conns[fd].owed == 0) set_interest(fd, EPOLLIN);
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
    for (size_t i = 0; i < COPIES; i++) memcpy(responses + i * RESPONSE_LEN, response, RESPONSE_LEN);

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
    printf("c http listening on 127.0.0.1:%s\n", argv[1]);
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
