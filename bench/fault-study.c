/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The three tables of the study that motivated mlockd, reproduced: page faults and access
 * latency while touching 1 GiB (locked or not, under reclaim pressure), thread creation rate
 * under no lock / MCL_FUTURE / MCL_FUTURE|MCL_ONFAULT, and page faults while dynamically
 * allocating 4 GiB. Every measurement runs in a fresh child process (a lock is per process);
 * candidates and baselines are interleaved run by run. Prints Markdown tables.
 *
 *   fault-study touch   [--size 1G] [--runs 3] [--dir /var/tmp]
 *   fault-study threads [--runs 5] [--duration-ms 300] [--data FILE]
 *   fault-study alloc   [--size 4G] [--runs 3] [--chunk 1M]
 *   fault-study all     (the three, in this order)
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/parse-util.h"
#include "bench/bench-stats.h"

#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

#define PAGE 4096UL
#define RUNS_MAX 100

static uint64_t arg_touch_size = 1ULL << 30;
static uint64_t arg_alloc_size = 4ULL << 30;
static uint64_t arg_chunk = 1ULL << 20;
static unsigned arg_runs = 0; /* 0: the subcommand's default */
static unsigned arg_duration_ms = 300;
static const char *arg_dir = "/var/tmp";
static const char *arg_data = NULL;

typedef struct Stat {
        double median, min, max;
} Stat;

static Stat stat_of(const double *v, size_t n) {
        double s[RUNS_MAX];
        n = MIN(n, (size_t) RUNS_MAX);
        memcpy(s, v, n * sizeof(double));
        qsort(s, n, sizeof(double), cmp_double);
        return (Stat){
                .median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2,
                .min = s[0],
                .max = s[n - 1],
        };
}

/* "median (min–max)", each number with the given count of decimals. */
static const char *fmt_stat(char *buf, size_t l, Stat s, int decimals) {
        char a[32], b[32], c[32];
        snprintf(a, sizeof a, "%.*f", decimals, s.median);
        snprintf(b, sizeof b, "%.*f", decimals, s.min);
        snprintf(c, sizeof c, "%.*f", decimals, s.max);
        if (streq(b, c))
                snprintf(buf, l, "%s", a);
        else
                snprintf(buf, l, "%s (%s–%s)", a, b, c);
        return buf;
}
#define FMT_STAT(s, d) fmt_stat((char[100]){}, 100, (s), (d))

static void faults_now(uint64_t *ret_min, uint64_t *ret_maj) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        *ret_min = (uint64_t) ru.ru_minflt;
        *ret_maj = (uint64_t) ru.ru_majflt;
}

static uint64_t vm_rss_bytes(void) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
        char line[256];
        unsigned long long kb = 0;
        if (!f)
                return 0;
        while (fgets(line, sizeof line, f))
                if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
                        break;
        return (uint64_t) kb * 1024;
}

/* Runs fn(arg, result) in a child process and copies result (size bytes) back through a pipe.
 * Returns 0, or -errno / -EPROTO if the child failed. */
static int run_in_child(int (*fn)(void *arg, void *result), void *arg, void *result, size_t size) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(p[0]);
                close(p[1]);
                return r;
        }
        if (pid == 0) {
                close(p[0]);
                memset(result, 0, size);
                int r = fn(arg, result);
                if (r < 0) {
                        fprintf(stderr, "fault-study: child failed: %s\n", strerror(-r));
                        _exit(1);
                }
                if (write(p[1], result, size) != (ssize_t) size)
                        _exit(1);
                _exit(0);
        }
        close(p[1]);
        ssize_t n = read(p[0], result, size);
        close(p[0]);
        int status;
        if (waitpid(pid, &status, 0) < 0)
                return -errno;
        if (n != (ssize_t) size || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return -EPROTO;
        return 0;
}

static int apply_lock(int flags) {
        if (flags == 0)
                return 0;
        if (mlockall(flags) < 0)
                return -errno;
        return 0;
}

/* ---- 1. touching 1 GiB ------------------------------------------------------------------ */

typedef struct TouchArgs {
        int lock_flags;
        const char *file; /* NULL: anonymous memory */
        uint64_t size;
} TouchArgs;

typedef struct TouchPass {
        uint64_t minflt, majflt;
        uint64_t worst_ns, p99_ns, total_ns;
        uint64_t slow; /* accesses that took longer than SLOW_ACCESS_NS */
} TouchPass;

/* An access this slow waited for something (I/O, reclaim, a page zeroed under lock). */
#define SLOW_ACCESS_NS 50000ULL

typedef struct TouchResult {
        uint64_t setup_minflt, setup_majflt, setup_ns; /* mmap (and lock) */
        TouchPass first, after; /* first touch; touch after pressure */
        int pageout_errno; /* what MADV_PAGEOUT said: 0 or EINVAL (locked) */
        uint64_t vm_rss_after_pressure;
} TouchResult;

static uint64_t *touch_lat; /* per-page latencies, allocated before locking */

/* Touches every page (writes anonymous memory, reads the file mapping) and times each access. */
static void touch_pass(volatile uint8_t *m, uint64_t size, bool write, TouchPass *ret) {
        size_t n = size / PAGE;
        uint64_t min0, maj0, min1, maj1;
        faults_now(&min0, &maj0);
        uint64_t t0 = now_ns(), sum = 0;
        for (size_t i = 0; i < n; i++) {
                uint64_t a = now_ns();
                if (write)
                        m[i * PAGE] = (uint8_t) i;
                else
                        sum += m[i * PAGE];
                touch_lat[i] = now_ns() - a;
        }
        uint64_t t1 = now_ns();
        faults_now(&min1, &maj1);
        __asm__ volatile("" : : "r"(sum));
        qsort(touch_lat, n, sizeof(uint64_t), cmp_u64);
        uint64_t slow = 0;
        for (size_t i = n; i > 0 && touch_lat[i - 1] > SLOW_ACCESS_NS; i--)
                slow++;
        *ret = (TouchPass){
                .slow = slow,
                .minflt = min1 - min0,
                .majflt = maj1 - maj0,
                .worst_ns = touch_lat[n - 1],
                .p99_ns = percentile(touch_lat, n, 99),
                .total_ns = t1 - t0,
        };
}

static int touch_child(void *userdata, void *result) {
        const TouchArgs *a = userdata;
        TouchResult *res = result;
        _cleanup_close_ int fd = -EBADF;
        uint64_t min0, maj0, min1, maj1;

        /* Allocated and touched before the lock, so that it does not add faults later. */
        touch_lat = calloc(a->size / PAGE, sizeof(uint64_t));
        if (!touch_lat)
                return -ENOMEM;
        memset(touch_lat, 1, a->size / PAGE * sizeof(uint64_t));

        if (a->file) {
                fd = open(a->file, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
        }

        faults_now(&min0, &maj0);
        uint64_t t0 = now_ns();
        int r = apply_lock(a->lock_flags);
        if (r < 0)
                return r;
        void *m = a->file ? mmap(NULL, a->size, PROT_READ, MAP_SHARED, fd, 0)
                          : mmap(NULL, a->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                                 -1, 0);
        if (m == MAP_FAILED)
                return -errno;
        res->setup_ns = now_ns() - t0;
        faults_now(&min1, &maj1);
        res->setup_minflt = min1 - min0;
        res->setup_majflt = maj1 - maj0;

        touch_pass(m, a->size, !a->file, &res->first);

        /* The competing hog, made deterministic: MADV_PAGEOUT asks the kernel to reclaim the
         * range now, as memory pressure would. The kernel refuses (EINVAL) for locked ranges.
         * Without swap, anonymous pages cannot be reclaimed at all; clean file pages are
         * dropped and come back by major faults. */
        res->pageout_errno = madvise(m, a->size, MADV_PAGEOUT) < 0 ? errno : 0;
        res->vm_rss_after_pressure = vm_rss_bytes();

        touch_pass(m, a->size, !a->file, &res->after);
        munmap(m, a->size);
        return 0;
}

/* Writes size bytes of non-zero data to a new file, syncs it and drops it from the page cache
 * (clean, unmapped pages: POSIX_FADV_DONTNEED evicts them), so that its first mapping faults
 * from disk. */
static int make_file(const char *path, uint64_t size) {
        _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        _cleanup_free_ uint8_t *buf = malloc(1 << 20);
        if (!buf)
                return -ENOMEM;
        for (size_t i = 0; i < (1 << 20); i++)
                buf[i] = (uint8_t) (i * 131 + 7);
        for (uint64_t off = 0; off < size; off += 1 << 20)
                if (write(fd, buf, 1 << 20) != 1 << 20)
                        return errno ? -errno : -EIO;
        if (fsync(fd) < 0)
                return -errno;
        return 0;
}

static int drop_file_cache(const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        int r = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        return -r;
}

static int study_touch(void) {
        unsigned runs = arg_runs ?: 3;
        char path[4096];
        snprintf(path, sizeof path, "%s/mlockd-fault-study.%d", arg_dir, (int) getpid());
        int r = make_file(path, arg_touch_size);
        if (r < 0) {
                fprintf(stderr, "fault-study: cannot write %s: %s\n", path, strerror(-r));
                unlink(path);
                return r;
        }

        static const struct {
                const char *name;
                bool file;
                int flags;
        } cases[] = {
                { "anonymous, not locked", false, 0 },
                { "anonymous, mlockall(MCL_CURRENT\\|MCL_FUTURE)", false,
                  MCL_CURRENT | MCL_FUTURE },
                { "file-backed, not locked", true, 0 },
                { "file-backed, mlockall(MCL_CURRENT\\|MCL_FUTURE)", true,
                  MCL_CURRENT | MCL_FUTURE },
        };
        enum { NCASES = ELEMENTSOF(cases) };
        static TouchResult res[NCASES][RUNS_MAX];

        for (unsigned run = 0; run < runs; run++)
                for (size_t c = 0; c < NCASES; c++) {
                        /* Alternate the order within a run so neither side always goes first. */
                        size_t k = run % 2 ? NCASES - 1 - c : c;
                        if (cases[k].file) {
                                r = drop_file_cache(path);
                                if (r < 0)
                                        goto finish;
                        }
                        TouchArgs a = {
                                .lock_flags = cases[k].flags,
                                .file = cases[k].file ? path : NULL,
                                .size = arg_touch_size,
                        };
                        r = run_in_child(touch_child, &a, &res[k][run], sizeof(TouchResult));
                        if (r < 0) {
                                fprintf(stderr, "fault-study: touch '%s' failed: %s\n",
                                        cases[k].name, strerror(-r));
                                goto finish;
                        }
                }

        printf("Touching %s, one access per 4 KiB page; median (min–max) of %u interleaved runs, "
               "each in a fresh process. The file is on %s (ext4), dropped from the page cache "
               "before each run. \"Pressure\" is `madvise(MADV_PAGEOUT)` over the whole range: "
               "the reclaim a competing memory hog would cause, made deterministic.\n\n",
               FORMAT_BYTES(arg_touch_size), runs, arg_dir);
        printf("| case | map+lock: minor / major faults | first touch: minor / major faults | "
               "first touch: worst access (µs) | first touch: accesses > 50 µs | MADV_PAGEOUT | "
               "after pressure: minor / major faults | after pressure: worst access (µs) | after "
               "pressure: accesses > 50 µs | after pressure: whole pass (ms) |\n");
        printf("|---|---|---|---|---|---|---|---|---|---|\n");
        for (size_t c = 0; c < NCASES; c++) {
                double v[11][RUNS_MAX];
                for (unsigned i = 0; i < runs; i++) {
                        const TouchResult *t = &res[c][i];
                        v[0][i] = (double) t->setup_minflt;
                        v[1][i] = (double) t->setup_majflt;
                        v[2][i] = (double) t->first.minflt;
                        v[3][i] = (double) t->first.majflt;
                        v[4][i] = (double) t->first.worst_ns / 1e3;
                        v[5][i] = (double) t->first.slow;
                        v[6][i] = (double) t->after.minflt;
                        v[7][i] = (double) t->after.majflt;
                        v[8][i] = (double) t->after.worst_ns / 1e3;
                        v[9][i] = (double) t->after.slow;
                        v[10][i] = (double) t->after.total_ns / 1e6;
                }
                int pe = res[c][0].pageout_errno;
                printf("| %s | %s / %s | %s / %s | %s | %s | %s | %s / %s | %s | %s | %s |\n",
                       cases[c].name, FMT_STAT(stat_of(v[0], runs), 0),
                       FMT_STAT(stat_of(v[1], runs), 0), FMT_STAT(stat_of(v[2], runs), 0),
                       FMT_STAT(stat_of(v[3], runs), 0), FMT_STAT(stat_of(v[4], runs), 0),
                       FMT_STAT(stat_of(v[5], runs), 0),
                       pe == 0        ? "accepted"
                       : pe == EINVAL ? "refused (EINVAL: locked)"
                                      : strerror(pe),
                       FMT_STAT(stat_of(v[6], runs), 0), FMT_STAT(stat_of(v[7], runs), 0),
                       FMT_STAT(stat_of(v[8], runs), 0), FMT_STAT(stat_of(v[9], runs), 0),
                       FMT_STAT(stat_of(v[10], runs), 0));
        }
        printf("\nThis machine has no swap, so anonymous pages cannot be evicted and never take "
               "major faults here, locked or not; major faults come only from file-backed pages "
               "(program text, mapped files) that reclaim dropped. With swap, unlocked anonymous "
               "pages would behave like the file-backed rows. The kernel reads ahead and maps "
               "whole (large) folios around a fault, so one counted fault brings in many pages: "
               "the cost of the unlocked file-backed rows shows in the slow accesses and the "
               "time of the pass more than in the fault counts.\n\n");
        r = 0;
finish:
        unlink(path);
        return r;
}

/* ---- 2. thread creation rate ------------------------------------------------------------ */

#define THREAD_BATCH 4 /* threads alive at once per creator */

typedef struct ThreadArgs {
        int lock_flags;
        unsigned creators;
        unsigned duration_ms;
} ThreadArgs;

typedef struct ThreadResult {
        uint64_t threads, elapsed_ns, minflt;
} ThreadResult;

typedef struct Creator {
        pthread_t thread;
        pthread_barrier_t *barrier;
        uint64_t deadline_ns;
        uint64_t created;
        int error;
} Creator;

static void *noop_thread(void *p) {
        return p;
}

static void *creator_thread(void *p) {
        Creator *c = p;
        pthread_barrier_wait(c->barrier);
        uint64_t deadline = c->deadline_ns;
        while (now_ns() < deadline) {
                pthread_t t[THREAD_BATCH];
                for (size_t i = 0; i < THREAD_BATCH; i++) {
                        int r = pthread_create(&t[i], NULL, noop_thread, NULL);
                        if (r != 0) {
                                c->error = r;
                                for (size_t j = 0; j < i; j++)
                                        pthread_join(t[j], NULL);
                                return NULL;
                        }
                }
                for (size_t i = 0; i < THREAD_BATCH; i++)
                        pthread_join(t[i], NULL);
                c->created += THREAD_BATCH;
        }
        return NULL;
}

static int threads_child(void *userdata, void *result) {
        const ThreadArgs *a = userdata;
        ThreadResult *res = result;
        Creator cr[64];
        pthread_barrier_t barrier;
        uint64_t min0, maj0, min1, maj1;

        if (a->creators > ELEMENTSOF(cr))
                return -E2BIG;
        int r = apply_lock(a->lock_flags);
        if (r < 0)
                return r;
        pthread_barrier_init(&barrier, NULL, a->creators + 1);
        /* Set below, before the barrier releases the creators. */
        for (unsigned i = 0; i < a->creators; i++) {
                cr[i] = (Creator){ .barrier = &barrier };
                r = pthread_create(&cr[i].thread, NULL, creator_thread, &cr[i]);
                if (r != 0)
                        return -r;
        }
        uint64_t t0 = now_ns();
        for (unsigned i = 0; i < a->creators; i++)
                cr[i].deadline_ns = t0 + (uint64_t) a->duration_ms * 1000000ULL;
        faults_now(&min0, &maj0);
        pthread_barrier_wait(&barrier);
        uint64_t total = 0;
        for (unsigned i = 0; i < a->creators; i++) {
                pthread_join(cr[i].thread, NULL);
                if (cr[i].error != 0)
                        return -cr[i].error;
                total += cr[i].created;
        }
        uint64_t t1 = now_ns();
        faults_now(&min1, &maj1);
        *res = (ThreadResult){
                .threads = total,
                .elapsed_ns = t1 - t0,
                .minflt = min1 - min0,
        };
        return 0;
}

static int study_threads(void) {
        unsigned runs = arg_runs ?: 5;
        static const unsigned creators[] = { 1, 2, 4, 8 };
        static const struct {
                const char *name;
                int flags;
        } modes[] = {
                { "no lock", 0 },
                { "MCL_FUTURE", MCL_CURRENT | MCL_FUTURE },
                { "MCL_FUTURE\\|MCL_ONFAULT", MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT },
        };
        enum { NC = ELEMENTSOF(creators), NM = ELEMENTSOF(modes) };
        static ThreadResult res[NC][NM][RUNS_MAX];
        int r;

        for (unsigned run = 0; run < runs; run++)
                for (size_t c = 0; c < NC; c++)
                        for (size_t m = 0; m < NM; m++) {
                                size_t k = run % 2 ? NM - 1 - m : m;
                                ThreadArgs a = {
                                        .lock_flags = modes[k].flags,
                                        .creators = creators[c],
                                        .duration_ms = arg_duration_ms,
                                };
                                r = run_in_child(threads_child, &a, &res[c][k][run],
                                                 sizeof(ThreadResult));
                                if (r < 0) {
                                        fprintf(stderr, "fault-study: threads failed: %s\n",
                                                strerror(-r));
                                        return r;
                                }
                        }

        _cleanup_fclose_ FILE *data = NULL;
        if (arg_data) {
                data = fopen(arg_data, "we");
                if (!data)
                        return -errno;
                fprintf(data, "# creators");
                for (size_t m = 0; m < NM; m++)
                        fprintf(data, " \"%s\" min max", modes[m].name);
                fprintf(data, "\n");
        }

        size_t stack = 0;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_getstacksize(&attr, &stack);
        pthread_attr_destroy(&attr);
        printf("Each creator thread creates %d threads, joins them, and repeats for %u ms; "
               "default stacks (%s). Threads/s over all creators, median (min–max) of %u "
               "interleaved runs, each in a fresh process; the locked modes are "
               "`mlockall(MCL_CURRENT|MCL_FUTURE[|MCL_ONFAULT])` as mlockd's `on` and "
               "`on-fault` modes call it. \"faults/thread\" is minor faults per created thread "
               "(median run).\n\n",
               THREAD_BATCH, arg_duration_ms, FORMAT_BYTES(stack), runs);
        printf("| creators |");
        for (size_t m = 0; m < NM; m++)
                printf(" %s: threads/s | faults/thread |%s", modes[m].name,
                       m > 0 ? " ratio to no lock |" : "");
        printf("\n|---|");
        for (size_t m = 0; m < NM; m++)
                printf("---|---|%s", m > 0 ? "---|" : "");
        printf("\n");
        for (size_t c = 0; c < NC; c++) {
                Stat st[NM];
                printf("| %u |", creators[c]);
                if (data)
                        fprintf(data, "%u", creators[c]);
                for (size_t m = 0; m < NM; m++) {
                        double rate[RUNS_MAX], fpt[RUNS_MAX];
                        for (unsigned i = 0; i < runs; i++) {
                                const ThreadResult *t = &res[c][m][i];
                                rate[i] = (double) t->threads * 1e9 / (double) t->elapsed_ns;
                                fpt[i] = t->threads ? (double) t->minflt / (double) t->threads : 0;
                        }
                        st[m] = stat_of(rate, runs);
                        printf(" %s | %s |", FMT_STAT(st[m], 0), FMT_STAT(stat_of(fpt, runs), 1));
                        if (m > 0)
                                printf(" %.2fx |", st[m].median / st[0].median);
                        if (data)
                                fprintf(data, " %.1f %.1f %.1f", st[m].median, st[m].min,
                                        st[m].max);
                }
                printf("\n");
                if (data)
                        fprintf(data, "\n");
        }
        printf("\nglibc keeps up to 40 MiB of freed thread stacks for reuse; a reused stack is "
               "already mapped (and, under MCL_FUTURE, already locked), so the penalty shows "
               "once more stacks are alive at a time than that cache holds: with several "
               "creators. Under MCL_FUTURE each fresh stack is faulted in whole (%zu pages) "
               "when it is mapped; with MCL_ONFAULT only the pages a thread touches are.\n\n",
               stack / PAGE);
        return 0;
}

/* ---- 3. dynamically allocating 4 GiB ---------------------------------------------------- */

typedef struct AllocArgs {
        int lock_flags;
        uint64_t size, chunk;
} AllocArgs;

typedef struct AllocResult {
        uint64_t alloc_minflt, alloc_majflt, alloc_ns, rss_after_alloc;
        uint64_t touch_minflt, touch_majflt, touch_ns;
} AllocResult;

static int alloc_child(void *userdata, void *result) {
        const AllocArgs *a = userdata;
        AllocResult *res = result;
        size_t n = a->size / a->chunk;
        uint64_t min0, maj0, min1, maj1;

        char **chunks = calloc(n, sizeof(char *));
        if (!chunks)
                return -ENOMEM;
        memset(chunks, 0, n * sizeof(char *));
        int r = apply_lock(a->lock_flags);
        if (r < 0)
                return r;

        faults_now(&min0, &maj0);
        uint64_t t0 = now_ns();
        for (size_t i = 0; i < n; i++) {
                chunks[i] = malloc(a->chunk);
                if (!chunks[i])
                        return -ENOMEM;
        }
        uint64_t t1 = now_ns();
        faults_now(&min1, &maj1);
        res->alloc_minflt = min1 - min0;
        res->alloc_majflt = maj1 - maj0;
        res->alloc_ns = t1 - t0;
        res->rss_after_alloc = vm_rss_bytes();

        faults_now(&min0, &maj0);
        t0 = now_ns();
        for (size_t i = 0; i < n; i++)
                memset(chunks[i], 0x5a, a->chunk);
        t1 = now_ns();
        faults_now(&min1, &maj1);
        res->touch_minflt = min1 - min0;
        res->touch_majflt = maj1 - maj0;
        res->touch_ns = t1 - t0;
        /* The process exits right after; no need to free 4 GiB chunk by chunk. */
        return 0;
}

static int study_alloc(void) {
        unsigned runs = arg_runs ?: 3;
        static const struct {
                const char *name;
                int flags;
        } modes[] = {
                { "no lock", 0 },
                { "MCL_FUTURE", MCL_CURRENT | MCL_FUTURE },
                { "MCL_FUTURE\\|MCL_ONFAULT", MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT },
        };
        enum { NM = ELEMENTSOF(modes) };
        static AllocResult res[NM][RUNS_MAX];

        for (unsigned run = 0; run < runs; run++)
                for (size_t m = 0; m < NM; m++) {
                        size_t k = run % 2 ? NM - 1 - m : m;
                        AllocArgs a = {
                                .lock_flags = modes[k].flags,
                                .size = arg_alloc_size,
                                .chunk = arg_chunk,
                        };
                        int r = run_in_child(alloc_child, &a, &res[k][run], sizeof(AllocResult));
                        if (r < 0) {
                                fprintf(stderr, "fault-study: alloc '%s' failed: %s\n",
                                        modes[k].name, strerror(-r));
                                return r;
                        }
                }

        printf("`malloc()` of %s in %s chunks (each its own mmap), then one write pass over "
               "all of it; median (min–max) of %u interleaved runs, each in a fresh process. "
               "Faults are counted with getrusage(2) around each phase.\n\n",
               FORMAT_BYTES(arg_alloc_size), FORMAT_BYTES(arg_chunk), runs);
        printf("| mode | malloc: minor faults | malloc: major | RSS after malloc (MiB) | malloc "
               "time (ms) | write pass: minor faults | write pass: major | write pass (ms) | "
               "total (ms) | total ratio to no lock |\n");
        printf("|---|---|---|---|---|---|---|---|---|---|\n");
        double base = 0;
        for (size_t m = 0; m < NM; m++) {
                double amin[RUNS_MAX], amaj[RUNS_MAX], rss[RUNS_MAX], at[RUNS_MAX], tmin[RUNS_MAX],
                        tmaj[RUNS_MAX], tt[RUNS_MAX], tot[RUNS_MAX];
                for (unsigned i = 0; i < runs; i++) {
                        const AllocResult *x = &res[m][i];
                        amin[i] = (double) x->alloc_minflt;
                        amaj[i] = (double) x->alloc_majflt;
                        rss[i] = (double) x->rss_after_alloc / 1048576.0;
                        at[i] = (double) x->alloc_ns / 1e6;
                        tmin[i] = (double) x->touch_minflt;
                        tmaj[i] = (double) x->touch_majflt;
                        tt[i] = (double) x->touch_ns / 1e6;
                        tot[i] = at[i] + tt[i];
                }
                Stat total = stat_of(tot, runs);
                if (m == 0)
                        base = total.median;
                printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %.2fx |\n", modes[m].name,
                       FMT_STAT(stat_of(amin, runs), 0), FMT_STAT(stat_of(amaj, runs), 0),
                       FMT_STAT(stat_of(rss, runs), 0), FMT_STAT(stat_of(at, runs), 0),
                       FMT_STAT(stat_of(tmin, runs), 0), FMT_STAT(stat_of(tmaj, runs), 0),
                       FMT_STAT(stat_of(tt, runs), 0), FMT_STAT(total, 0), total.median / base);
        }
        printf("\n");
        return 0;
}

static int help(void) {
        printf("Usage: fault-study touch|threads|alloc|all [OPTIONS]\n"
               "  --runs N           interleaved runs per case (touch 3, threads 5, alloc 3)\n"
               "  --size SIZE        touch: 1G, alloc: 4G\n"
               "  --chunk SIZE       alloc: malloc chunk size (1M)\n"
               "  --duration-ms N    threads: measuring time per run (300)\n"
               "  --dir DIR          touch: where the test file goes (/var/tmp, not tmpfs)\n"
               "  --data FILE        threads: write gnuplot data\n");
        return 0;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "runs", required_argument, NULL, 'r' },
                { "size", required_argument, NULL, 's' },
                { "chunk", required_argument, NULL, 'c' },
                { "duration-ms", required_argument, NULL, 'd' },
                { "dir", required_argument, NULL, 'D' },
                { "data", required_argument, NULL, 'o' },
                {},
        };
        uint64_t size = 0, u;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return help();
                case 'r':
                        r = parse_uint64(optarg, &u);
                        if (r < 0 || u < 1 || u > RUNS_MAX) {
                                fprintf(stderr, "--runs: 1..%d\n", RUNS_MAX);
                                return 2;
                        }
                        arg_runs = (unsigned) u;
                        break;
                case 's':
                case 'c':
                        r = parse_size(optarg, 0, &u, NULL);
                        if (r < 0 || u < PAGE || u == SIZE_INFINITY) {
                                fprintf(stderr, "invalid size '%s'\n", optarg);
                                return 2;
                        }
                        if (c == 's')
                                size = u & ~(PAGE - 1);
                        else
                                arg_chunk = u;
                        break;
                case 'd':
                        r = parse_uint64(optarg, &u);
                        if (r < 0 || u < 10 || u > 60000) {
                                fprintf(stderr, "--duration-ms: 10..60000\n");
                                return 2;
                        }
                        arg_duration_ms = (unsigned) u;
                        break;
                case 'D':
                        arg_dir = optarg;
                        break;
                case 'o':
                        arg_data = optarg;
                        break;
                default:
                        return 2;
                }
        if (optind + 1 != argc) {
                help();
                return 2;
        }
        const char *what = argv[optind];
        bool all = streq(what, "all");
        if (!all && !streq(what, "touch") && !streq(what, "threads") && !streq(what, "alloc")) {
                help();
                return 2;
        }
        if (size > 0) {
                arg_touch_size = size;
                arg_alloc_size = size;
        }

        r = 0;
        if (all || streq(what, "touch"))
                r = study_touch();
        if (r >= 0 && (all || streq(what, "threads")))
                r = study_threads();
        if (r >= 0 && (all || streq(what, "alloc")))
                r = study_alloc();
        return r < 0 ? 1 : 0;
}
