// A deliberate regression for the gate's self-test (gate/selftest.sh): preloaded into the
// server under test (`bench gate --inject-regression`), it makes every epoll_wait of the loop
// cost about 6,000 more user-space instructions (as callgrind counts them) and one heap
// allocation, as a careless change to the loop would. No source file changes and no flag the
// demo lacks: the gate must see it in the figures alone, and fail.
//
// build: cc -O2 -shared -fPIC -o regression.so regression.c -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/epoll.h>

static int (*real_epoll_wait)(int, struct epoll_event *, int, int);

int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout) {
    if (!real_epoll_wait) real_epoll_wait = (int (*)(int, struct epoll_event *, int, int))dlsym(RTLD_NEXT, "epoll_wait");
    // Work the compiler cannot drop: a volatile counter, about 6 instructions a turn.
    volatile unsigned spin = 0;
    for (unsigned i = 0; i < 1000; i++) spin += i;
    // And an allocation that outlives the call a moment, as a per-event buffer would.
    void *volatile block = malloc(64);
    free(block);
    return real_epoll_wait(epfd, events, maxevents, timeout);
}
