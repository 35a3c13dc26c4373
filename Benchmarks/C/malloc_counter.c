// LD_PRELOAD allocation counter for the server under test.
//
// Counts every call that can return fresh heap memory (malloc, calloc, realloc,
// reallocarray, posix_memalign, aligned_alloc, memalign) and every free, with
// relaxed atomics (the servers may be multi-threaded; the order between threads
// does not matter for a count). The load generator marks the measured window:
// SIGUSR1 takes a snapshot, SIGUSR2 writes the counts since that snapshot to the
// file named by $MALLOC_COUNTER_OUT (stderr if unset), as one line:
//     allocations=N frees=M
// Installing the handlers here is fine because the servers never use SIGUSR1/2;
// they are installed with SA_RESTART, but epoll_wait still returns EINTR on a
// signal, so a server under this counter must retry EINTR (it should anyway).
//
// build: cc -O2 -shared -fPIC -o malloc_counter.so malloc_counter.c -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_ulong allocations, frees;
static atomic_ulong allocations_at_reset, frees_at_reset; // the snapshot SIGUSR1 takes
static const char *out_path;

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void *(*real_reallocarray)(void *, size_t, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);
static void (*real_free)(void *);

// dlsym itself may calloc (for its error state) before real_calloc is known: those
// few requests are served from this static arena and never freed to the real heap.
static _Alignas(max_align_t) char bootstrap[8192];
static size_t bootstrap_used;
static int resolving;

static int in_bootstrap(const void *p) {
    return (const char *)p >= bootstrap && (const char *)p < bootstrap + sizeof bootstrap;
}

static void *bootstrap_alloc(size_t n) {
    size_t start = (bootstrap_used + 15) & ~(size_t)15;
    if (start + n > sizeof bootstrap) return NULL;
    bootstrap_used = start + n;
    return bootstrap + start; // static storage: already zeroed, as calloc promises
}

// Runs first from the constructor, or earlier from whichever allocation comes first;
// either way the process is still single-threaded then.
static void resolve(void) {
    if (real_malloc || resolving) return;
    resolving = 1;
    real_calloc = dlsym(RTLD_NEXT, "calloc");
    real_realloc = dlsym(RTLD_NEXT, "realloc");
    real_reallocarray = dlsym(RTLD_NEXT, "reallocarray");
    real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
    real_memalign = dlsym(RTLD_NEXT, "memalign");
    real_free = dlsym(RTLD_NEXT, "free");
    real_malloc = dlsym(RTLD_NEXT, "malloc"); // last: it is the "resolved" flag
    resolving = 0;
}

static inline void count(atomic_ulong *c) { atomic_fetch_add_explicit(c, 1, memory_order_relaxed); }

void *malloc(size_t n) {
    if (!real_malloc) { if (resolving) return bootstrap_alloc(n); resolve(); }
    count(&allocations);
    return real_malloc(n);
}

void *calloc(size_t k, size_t n) {
    if (!real_malloc) {
        if (resolving) return n && k > (size_t)-1 / n ? NULL : bootstrap_alloc(k * n);
        resolve();
    }
    count(&allocations);
    return real_calloc(k, n);
}

void *realloc(void *p, size_t n) {
    resolve();
    count(&allocations);
    if (in_bootstrap(p)) { // move out of the arena; the old size is unknown, the arena's end bounds it
        size_t room = (size_t)(bootstrap + sizeof bootstrap - (char *)p);
        void *q = real_malloc(n);
        if (q) memcpy(q, p, n < room ? n : room);
        return q;
    }
    return real_realloc(p, n);
}

void *reallocarray(void *p, size_t k, size_t n) {
    if (in_bootstrap(p)) return realloc(p, k * n); // overflow is moot for the arena's few bytes
    resolve();
    count(&allocations);
    return real_reallocarray(p, k, n);
}

int posix_memalign(void **out, size_t align, size_t n) {
    resolve();
    count(&allocations);
    return real_posix_memalign(out, align, n);
}

void *aligned_alloc(size_t align, size_t n) {
    resolve();
    count(&allocations);
    return real_aligned_alloc(align, n);
}

void *memalign(size_t align, size_t n) {
    resolve();
    count(&allocations);
    return real_memalign(align, n);
}

void free(void *p) {
    if (!p || in_bootstrap(p)) return;
    resolve();
    count(&frees);
    real_free(p);
}

// Signal handlers: only async-signal-safe calls (open, write, close), no stdio.
static void on_reset(int sig) {
    (void)sig;
    atomic_store(&allocations_at_reset, atomic_load(&allocations));
    atomic_store(&frees_at_reset, atomic_load(&frees));
}

static char *put_number(char *p, unsigned long v) {
    char digits[24];
    int n = 0;
    do { digits[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) *p++ = digits[--n];
    return p;
}

static void on_report(int sig) {
    (void)sig;
    int saved_errno = errno; // the interrupted code may be about to read it
    char line[96], *p = line;
    memcpy(p, "allocations=", 12); p += 12;
    p = put_number(p, atomic_load(&allocations) - atomic_load(&allocations_at_reset));
    memcpy(p, " frees=", 7); p += 7;
    p = put_number(p, atomic_load(&frees) - atomic_load(&frees_at_reset));
    *p++ = '\n';
    int fd = out_path ? open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : 2;
    if (fd >= 0) {
        ssize_t unused = write(fd, line, (size_t)(p - line));
        (void)unused;
        if (fd != 2) close(fd);
    }
    errno = saved_errno;
}

__attribute__((constructor)) static void init(void) {
    resolve();
    out_path = getenv("MALLOC_COUNTER_OUT");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = on_reset;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_report;
    sigaction(SIGUSR2, &sa, NULL);
}
