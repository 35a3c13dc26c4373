// The C surface Glibc's Swift overlay does not import, and nothing else: no logic lives here.
#ifndef CEPOLLSHIM_H
#define CEPOLLSHIM_H

#include <stdint.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

// `struct epoll_event` is packed on x86_64, which Swift cannot lay out: reach it only through these.
static inline uint32_t cepoll_event_events(const struct epoll_event *e) { return e->events; }
static inline uint64_t cepoll_event_data(const struct epoll_event *e) { return e->data.u64; }
static inline size_t cepoll_event_size(void) { return sizeof(struct epoll_event); }

static inline int cepoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &ev);
}

/// `events` points to `maxevents * cepoll_event_size()` bytes.
static inline int cepoll_wait(int epfd, void *events, int maxevents, int timeout_ms) {
    return epoll_wait(epfd, (struct epoll_event *)events, maxevents, timeout_ms);
}

/// The i-th record of a buffer filled by cepoll_wait.
static inline const struct epoll_event *cepoll_event_at(const void *events, int i) {
    return ((const struct epoll_event *)events) + i;
}

// accept4 is declared only under _GNU_SOURCE, which is not in effect in this module.
int cepoll_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);

// Flag values as plain constants (some are enums or macros Swift imports awkwardly).
static const uint32_t CEPOLL_IN = EPOLLIN;
static const uint32_t CEPOLL_OUT = EPOLLOUT;
static const uint32_t CEPOLL_ERR = EPOLLERR;
static const uint32_t CEPOLL_HUP = EPOLLHUP;
static const uint32_t CEPOLL_RDHUP = EPOLLRDHUP;
static const int CEPOLL_SOCK_NONBLOCK = SOCK_NONBLOCK;
static const int CEPOLL_SOCK_CLOEXEC = SOCK_CLOEXEC;
static const int CEPOLL_EFD_NONBLOCK = EFD_NONBLOCK;
static const int CEPOLL_EFD_CLOEXEC = EFD_CLOEXEC;
static const int CEPOLL_SFD_NONBLOCK = SFD_NONBLOCK;
static const int CEPOLL_SFD_CLOEXEC = SFD_CLOEXEC;
static const int CEPOLL_MSG_NOSIGNAL = MSG_NOSIGNAL;
static const int CEPOLL_SO_REUSEPORT = SO_REUSEPORT;
static const int CEPOLL_TCP_NODELAY = TCP_NODELAY;

#endif
