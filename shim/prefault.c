/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shim/prefault.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Work is handed out in pieces of at most this size so that threads finish together. */
#define PREFAULT_CHUNK (32ull << 20)
/* A single range (a large mapping made later) is one contiguous run of work: smaller pieces, so
 * that a thread preempted by other work on a busy machine holds up the others by little. */
#ifndef RANGE_CHUNK
#define RANGE_CHUNK (4ull << 20)
#endif
/* Pieces start on this boundary, so that no huge page is split between two threads. */
#define PREFAULT_ALIGN (2ull << 20)
/* "auto": one thread per this much memory, and no more than this many threads: zeroing pages is
 * bound by memory bandwidth, which a handful of cores saturate. */
#define PREFAULT_BYTES_PER_THREAD (64ull << 20)
#define PREFAULT_AUTO_MAX 16u
/* /proc/self/maps is read into an anonymous buffer that may grow up to this size (about 500k
 * mappings); a larger map is refused with -EFBIG. */
#define MAPS_SIZE_MAX (64ull << 20)
/* Worker threads do nothing but madvise(2): a small stack keeps mlockall from pinning 8 MiB
 * per cached thread stack. */
#define WORKER_STACK_SIZE (256u << 10)

typedef struct Piece {
        uintptr_t start, end;
        bool anon;
} Piece;

typedef struct Work {
        Piece *pieces; /* NULL: the pieces are cut from `range` as they are taken */
        Piece range;
        size_t n_pieces;
        size_t next; /* atomic: next piece to take */
        int error; /* atomic: first error */
        int advice; /* MADV_POPULATE_WRITE or MADV_POPULATE_READ */
        bool touch;
        size_t page_size;
} Work;

uint32_t prefault_auto_threads(uint64_t bytes) {
        cpu_set_t set;
        uint64_t n;
        uint32_t cpus = 1;

        if (sched_getaffinity(0, sizeof(set), &set) == 0)
                cpus = (uint32_t) CPU_COUNT(&set);
        if (cpus < 1)
                cpus = 1;
        n = bytes / PREFAULT_BYTES_PER_THREAD + (bytes % PREFAULT_BYTES_PER_THREAD != 0);
        if (n > cpus)
                n = cpus;
        if (n > PREFAULT_AUTO_MAX)
                n = PREFAULT_AUTO_MAX;
        return n < 1 ? 1 : (uint32_t) n;
}

static void *map_anon(size_t size) {
        void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? NULL : p;
}

/* Reads all of /proc/self/maps into an anonymous mapping (NUL-terminated). */
static int maps_read(char **ret, size_t *ret_size, size_t *ret_alloc) {
        size_t alloc = 64u << 10, n = 0;
        char *buf;
        int fd, r = 0;

        fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        buf = map_anon(alloc);
        if (!buf) {
                r = -errno;
                goto finish;
        }
        for (;;) {
                ssize_t k;

                if (n + 1 >= alloc) {
                        char *nb;

                        if (alloc * 2 > MAPS_SIZE_MAX) {
                                r = -EFBIG;
                                break;
                        }
                        nb = mremap(buf, alloc, alloc * 2, MREMAP_MAYMOVE);
                        if (nb == MAP_FAILED) {
                                r = -errno;
                                break;
                        }
                        buf = nb;
                        alloc *= 2;
                }
                k = read(fd, buf + n, alloc - n - 1);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        if (r < 0) {
                munmap(buf, alloc);
                goto finish;
        }
        buf[n] = '\0';
        *ret = buf;
        *ret_size = n;
        *ret_alloc = alloc;
finish:
        close(fd);
        return r;
}

static int parse_hex(const char **p, uintptr_t *ret) {
        uintptr_t v = 0;
        const char *s = *p;
        bool any = false;

        for (;; s++) {
                unsigned d;
                if (*s >= '0' && *s <= '9')
                        d = (unsigned) (*s - '0');
                else if (*s >= 'a' && *s <= 'f')
                        d = (unsigned) (*s - 'a' + 10);
                else
                        break;
                if (v > (UINTPTR_MAX >> 4))
                        return -ERANGE;
                v = (v << 4) | d;
                any = true;
        }
        if (!any)
                return -EINVAL;
        *p = s;
        *ret = v;
        return 0;
}

/* Parses one line "start-end perms offset dev inode [path]". Returns 1 for a private writable
 * mapping, 0 for one to skip, -EINVAL for a malformed line. */
static int maps_parse_line(const char *l, uintptr_t *ret_start, uintptr_t *ret_end,
                           bool *ret_anon) {
        uintptr_t start, end;
        const char *p = l;
        int field;

        if (parse_hex(&p, &start) < 0 || *p++ != '-' || parse_hex(&p, &end) < 0 || *p++ != ' ')
                return -EINVAL;
        if (end <= start || strlen(p) < 5)
                return -EINVAL;
        /* perms: "rw-p" */
        if (p[1] != 'w' || p[3] != 'p')
                return 0;
        /* Skip perms, offset, dev; then the inode: 0 (with any path like [heap] or [stack], or
         * none) means anonymous memory. */
        for (field = 0; field < 3; field++) {
                while (*p && *p != ' ')
                        p++;
                while (*p == ' ')
                        p++;
        }
        *ret_anon = *p == '0' && (p[1] == ' ' || p[1] == '\0' || p[1] == '\n');
        *ret_start = start;
        *ret_end = end;
        return 1;
}

/* Calls f(start, end, anon, userdata) for each private writable mapping in the text. */
static size_t maps_foreach(const char *text, size_t n,
                           void (*f)(uintptr_t start, uintptr_t end, bool anon, void *userdata),
                           void *userdata) {
        size_t count = 0;
        const char *l = text, *e = text + n;

        while (l < e) {
                const char *nl = memchr(l, '\n', (size_t) (e - l));
                char line[96];
                size_t ll = nl ? (size_t) (nl - l) : (size_t) (e - l);
                uintptr_t start, end;
                bool anon;

                /* Only the fixed-width head of a line matters: address, perms, offset, dev,
                 * inode. A long path is cut; whether the inode is 0 stays readable. */
                if (ll >= sizeof(line))
                        ll = sizeof(line) - 1;
                memcpy(line, l, ll);
                line[ll] = '\0';
                if (maps_parse_line(line, &start, &end, &anon) > 0) {
                        f(start, end, anon, userdata);
                        count++;
                }
                if (!nl)
                        break;
                l = nl + 1;
        }
        return count;
}

typedef struct Splitter {
        Piece *pieces; /* NULL: only count */
        size_t n;
        uint64_t bytes;
        bool thp;
} Splitter;

static void split_range(uintptr_t start, uintptr_t end, bool anon, void *userdata) {
        Splitter *s = userdata;

        if (s->pieces && s->thp && anon)
                (void) madvise((void *) start, end - start, MADV_HUGEPAGE);
        s->bytes += end - start;
        while (start < end) {
                uintptr_t e = (start & ~(uintptr_t) (PREFAULT_ALIGN - 1)) + PREFAULT_CHUNK;
                if (e > end || e <= start)
                        e = end;
                if (s->pieces)
                        s->pieces[s->n] = (Piece){ .start = start, .end = e, .anon = anon };
                s->n++;
                start = e;
        }
}

static int populate(const Piece *p, int advice, bool touch, size_t page_size) {
        if (touch) {
                /* Only anonymous memory is touched: a file mapping may end beyond its file,
                 * where a touch raises SIGBUS. An atomic add of 0 writes without changing a
                 * byte, even if another thread writes too. */
                if (!p->anon || advice != MADV_POPULATE_WRITE)
                        return 0;
                for (uintptr_t a = p->start; a < p->end; a += page_size)
                        __atomic_fetch_add((volatile char *) a, 0, __ATOMIC_RELAXED);
                return 0;
        }
        for (unsigned attempt = 0;; attempt++) {
                if (madvise((void *) p->start, p->end - p->start, advice) == 0)
                        return 0;
                if ((errno == EINTR || errno == EAGAIN) && attempt < 16)
                        continue;
                return -errno;
        }
}

/* Piece i of a single range: the range cut on RANGE_CHUNK boundaries (2 MiB aligned). */
static Piece range_piece(const Piece *range, size_t i) {
        uintptr_t base = range->start & ~(uintptr_t) (PREFAULT_ALIGN - 1);
        Piece p = {
                .start = base + i * RANGE_CHUNK,
                .end = base + (i + 1) * RANGE_CHUNK,
                .anon = range->anon,
        };

        if (p.start < range->start)
                p.start = range->start;
        if (p.end > range->end)
                p.end = range->end;
        return p;
}

static size_t range_pieces(const Piece *range) {
        uintptr_t base = range->start & ~(uintptr_t) (PREFAULT_ALIGN - 1);
        return (range->end - base + RANGE_CHUNK - 1) / RANGE_CHUNK;
}

static void *worker(void *userdata) {
        Work *w = userdata;

        for (;;) {
                size_t i = __atomic_fetch_add(&w->next, 1, __ATOMIC_RELAXED);
                Piece p;
                int r, expected = 0;

                if (i >= w->n_pieces)
                        break;
                p = w->pieces ? w->pieces[i] : range_piece(&w->range, i);
                r = populate(&p, w->advice, w->touch, w->page_size);
                /* Errors on file mappings (device memory, holes past EOF) are mlockall's to
                 * handle as it always does; errors on anonymous memory mean no memory. A single
                 * range is anonymous or shared memory (shim-mmap.c): its errors always count. */
                if (r < 0 && (p.anon || !w->pieces))
                        __atomic_compare_exchange_n(&w->error, &expected, -r, false,
                                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
        }
        return NULL;
}

static bool populate_write_supported(void *page, size_t page_size, int advice) {
        return madvise(page, page_size, advice) == 0 || errno != EINVAL;
}

/* Whether this kernel knows `advice` (Linux 5.14+), asked on a page of our own: on a range of the
 * program's, EINVAL may also mean "not accessible so", and touching it by hand would fault. */
static bool populate_supported(int advice, size_t page_size) {
        void *page = map_anon(page_size);
        bool ok;

        if (!page)
                return true; /* then MADV_POPULATE_* reports whatever is wrong itself */
        ok = populate_write_supported(page, page_size, advice);
        (void) munmap(page, page_size);
        return ok;
}

/* Runs worker() on `threads` threads (PREFAULT_THREADS_AUTO: by bytes), the caller's included,
 * and joins them. Returns the number of threads that ran. */
static uint32_t work_run(Work *w, uint32_t threads, uint64_t bytes) {
        pthread_t tids[PREFAULT_THREADS_MAX];
        uint32_t started = 0;
        sigset_t all, saved;
        pthread_attr_t attr;

        if (threads == PREFAULT_THREADS_AUTO)
                threads = prefault_auto_threads(bytes);
        if (threads > PREFAULT_THREADS_MAX)
                threads = PREFAULT_THREADS_MAX;
        if (threads > w->n_pieces)
                threads = (uint32_t) w->n_pieces;
        if (threads < 1)
                threads = 1;

        if (threads > 1 && pthread_attr_init(&attr) == 0) {
                (void) pthread_attr_setstacksize(&attr, WORKER_STACK_SIZE);
                /* Workers inherit a full signal mask: the program's handlers never run on them. */
                sigfillset(&all);
                pthread_sigmask(SIG_SETMASK, &all, &saved);
                for (; started < threads - 1; started++)
                        if (pthread_create(&tids[started], &attr, worker, w) != 0)
                                break;
                pthread_sigmask(SIG_SETMASK, &saved, NULL);
                pthread_attr_destroy(&attr);
        }
        worker(w);
        for (uint32_t i = 0; i < started; i++)
                pthread_join(tids[i], NULL);
        return started + 1;
}

int prefault_range(void *start, size_t len, uint32_t threads, bool anon, bool write,
                   PrefaultStats *ret) {
        long ps = sysconf(_SC_PAGESIZE);
        Work w = {
                .range = { .start = (uintptr_t) start,
                           .end = (uintptr_t) start + len,
                           .anon = anon },
                .advice = write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ,
                .page_size = ps > 0 ? (size_t) ps : 4096,
        };

        if (len == 0 || w.range.end < w.range.start)
                return -EINVAL;
        w.n_pieces = range_pieces(&w.range);
        w.touch = !populate_supported(w.advice, w.page_size);
        *ret = (PrefaultStats){
                .threads = work_run(&w, threads, len),
                .bytes = len,
                .fallback = w.touch,
                .error = w.error,
        };
        return 0;
}

int prefault_self(uint32_t threads, bool thp, PrefaultStats *ret) {
        Splitter s = { .thp = thp };
        Work w = { .advice = MADV_POPULATE_WRITE };
        char *text = NULL;
        size_t n = 0, alloc = 0, pieces_size = 0;
        long ps;
        int r;

        ps = sysconf(_SC_PAGESIZE);
        w.page_size = ps > 0 ? (size_t) ps : 4096;

        r = maps_read(&text, &n, &alloc);
        if (r < 0)
                return r;

        /* Two passes: count the pieces, then fill an array of the right size. */
        maps_foreach(text, n, split_range, &s);
        if (s.n == 0) {
                *ret = (PrefaultStats){};
                goto finish;
        }
        pieces_size = (s.n * sizeof(Piece) + w.page_size - 1) & ~(w.page_size - 1);
        w.pieces = map_anon(pieces_size);
        if (!w.pieces) {
                r = -errno;
                goto finish;
        }
        s.pieces = w.pieces;
        s.n = 0;
        s.bytes = 0;
        maps_foreach(text, n, split_range, &s);
        w.n_pieces = s.n;
        /* The probe runs on our own buffer, which is private anonymous memory. */
        w.touch = !populate_write_supported(text, w.page_size, MADV_POPULATE_WRITE);

        *ret = (PrefaultStats){
                .threads = work_run(&w, threads, s.bytes),
                .bytes = s.bytes,
                .fallback = w.touch,
                .error = w.error,
        };
        r = 0;
finish:
        if (w.pieces)
                munmap(w.pieces, pieces_size);
        munmap(text, alloc);
        return r;
}
