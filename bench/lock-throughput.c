/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lock-throughput: how fast memory gets locked.
 *
 * For an anonymous region (default 4 GiB), in interleaved runs, the median GB/s (10^9 bytes/s)
 * of:
 *   (a)  mmap, then mlockall(MCL_CURRENT|MCL_FUTURE): what QEMU mem-lock=on and most programs do
 *   (a') the same after MADV_HUGEPAGE on the region (QEMU advises guest RAM so)
 *   (b)  the shim's path, shim_lock() from shim/shim-lock.c: prefault the private writable
 *        mappings with 1..N threads (THP on and off), then mlockall
 *   (c)  memset over the region once resident, with 1..N threads: the memory-bandwidth ceiling
 * and the ratios best (b) / (a) and best (b) / best (c).
 *
 *   lock-throughput [--size 4G] [--runs 5] [--threads N] [--tsv FILE] [--no-prewarm]
 *
 * --threads N: (b) and (c) run with 1..N threads (default: the usable CPUs, at most 8).
 *
 * Prints a Markdown table on stdout; --tsv writes "label kind threads thp median min max" rows
 * (GB/s) for plots.
 * Every run checks that the region really ended up locked and resident (VmLck, mincore) and
 * that memset wrote it; a failed check exits 1. Needs CAP_IPC_LOCK or a large enough
 * RLIMIT_MEMLOCK: exits 77 otherwise. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/log.h"
#include "common/macro.h"
#include "common/parse-util.h"
#include "common/proc.h"
#include "shim/shim-lock.h"
#include "shim/shim-util.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#if defined(__SANITIZE_ADDRESS__)
#define BENCH_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BENCH_SANITIZED 1
#endif
#endif

#define RUNS_MAX 101
#define THREADS_MAX 64

typedef enum Kind {
        KIND_MLOCKALL,
        KIND_MLOCKALL_THP,
        KIND_SHIM,
        KIND_MEMSET,
} Kind;

typedef struct Config {
        Kind kind;
        unsigned threads;
        bool thp;
        char label[48];
        double gbps[RUNS_MAX];
        double median;
} Config;

static uint64_t arg_size = 4ull << 30;
static unsigned arg_runs = 5;
static unsigned arg_threads;
static const char *arg_tsv;
static bool arg_prewarm = true;

static double seconds_since(uint64_t t0) {
        return (double) (shim_now_usec() - t0) / 1e6;
}

static void *region_map(void) {
        void *p = mmap(NULL, arg_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? NULL : p;
}

/* The region must be locked (VmLck covers it) and every page resident. */
static int check_locked(void *p) {
        _cleanup_free_ unsigned char *vec = NULL;
        size_t ps = (size_t) sysconf(_SC_PAGESIZE), pages = arg_size / ps;
        _cleanup_close_ int dfd = -EBADF;
        ProcStatus st;
        int r;

        dfd = proc_open(getpid());
        if (dfd < 0)
                return log_error_errno(dfd, "Failed to open /proc/self: %m");
        r = proc_status_read(dfd, &st);
        if (r < 0)
                return log_error_errno(r, "Failed to read /proc/self/status: %m");
        if (st.vm_lck == PROC_UNSET || st.vm_lck < arg_size) {
                log_error("VmLck %" PRIu64 " < region %" PRIu64, st.vm_lck, arg_size);
                return -EBADE;
        }
        vec = malloc(pages);
        if (!vec)
                return log_oom();
        if (mincore(p, arg_size, vec) < 0)
                return log_error_errno(errno, "mincore: %m");
        for (size_t i = 0; i < pages; i++)
                if (!(vec[i] & 1)) {
                        log_error("Page %zu of the region is not resident", i);
                        return -EBADE;
                }
        return 0;
}

typedef struct MemsetJob {
        char *p;
        size_t n;
} MemsetJob;

static void *memset_worker(void *userdata) {
        MemsetJob *j = userdata;
        memset(j->p, 0x5a, j->n);
        return NULL;
}

static int run_memset(char *p, unsigned threads, double *ret_secs) {
        pthread_t tids[THREADS_MAX];
        MemsetJob jobs[THREADS_MAX];
        size_t per = (arg_size / threads + 4095) & ~(size_t) 4095;
        uint64_t t0;

        for (unsigned i = 0; i < threads; i++) {
                size_t off = MIN((size_t) i * per, (size_t) arg_size);
                jobs[i] = (MemsetJob){ .p = p + off, .n = MIN(per, (size_t) arg_size - off) };
        }
        t0 = shim_now_usec();
        for (unsigned i = 1; i < threads; i++)
                if (pthread_create(&tids[i], NULL, memset_worker, &jobs[i]) != 0)
                        return log_error_errno(EAGAIN, "pthread_create failed");
        memset_worker(&jobs[0]);
        for (unsigned i = 1; i < threads; i++)
                pthread_join(tids[i], NULL);
        *ret_secs = seconds_since(t0);
        for (size_t o = 0; o < arg_size; o += 1 << 20)
                if (p[o] != 0x5a) {
                        log_error("memset did not write at offset %zu", o);
                        return -EBADE;
                }
        return 0;
}

/* Under a hypervisor with free page reporting (virtio-balloon), free memory goes back to the host
 * about 2 s after it is freed, and touching it again costs host page faults: a cost of the host,
 * not of locking, and a noisy one (it hits huge pages hardest). Touching and freeing a region
 * just before each measurement hands every configuration memory the guest still holds. */
static void prewarm(void) {
        char *p = region_map();

        if (!p)
                return;
        (void) madvise(p, arg_size, MADV_HUGEPAGE);
        if (madvise(p, arg_size, MADV_POPULATE_WRITE) < 0)
                memset(p, 0, arg_size);
        (void) munmap(p, arg_size);
}

static int run_one(Config *c, unsigned run) {
        char *p;
        double secs = 0;
        uint64_t t0;
        int r = 0;

        if (arg_prewarm)
                prewarm();
        p = region_map();
        if (!p)
                return log_error_errno(errno, "mmap of %" PRIu64 " bytes failed: %m", arg_size);

        switch (c->kind) {
        case KIND_MLOCKALL:
        case KIND_MLOCKALL_THP:
                if (c->kind == KIND_MLOCKALL_THP)
                        (void) madvise(p, arg_size, MADV_HUGEPAGE);
                t0 = shim_now_usec();
                if (mlockall(MCL_CURRENT | MCL_FUTURE) < 0) {
                        r = -errno;
                        break;
                }
                secs = seconds_since(t0);
                r = check_locked(p);
                break;
        case KIND_SHIM: {
                ShimLockResult res;

                t0 = shim_now_usec();
                r = shim_lock(LOCK_MODE_ON, c->threads, c->thp, &res);
                secs = seconds_since(t0);
                if (r >= 0 && res.prefault.error != 0)
                        log_warning_errno(res.prefault.error, "%s: prefault error: %m", c->label);
                if (r >= 0)
                        r = check_locked(p);
                break;
        }
        case KIND_MEMSET:
                if (madvise(p, arg_size, MADV_POPULATE_WRITE) < 0)
                        memset(p, 0, arg_size);
                r = run_memset(p, c->threads, &secs);
                break;
        }
        (void) munlockall();
        (void) munmap(p, arg_size);
        if (r < 0)
                return r;
        c->gbps[run] = (double) arg_size / secs / 1e9;
        return 0;
}

static unsigned cpus_usable(void) {
        cpu_set_t set;

        if (sched_getaffinity(0, sizeof(set), &set) < 0)
                return 1;
        return (unsigned) CPU_COUNT(&set);
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static double median(const double *v, unsigned n) {
        double s[RUNS_MAX];

        memcpy(s, v, n * sizeof(double));
        qsort(s, n, sizeof(double), cmp_double);
        return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                { "size", required_argument, NULL, 's' },
                { "runs", required_argument, NULL, 'r' },
                { "threads", required_argument, NULL, 't' },
                { "tsv", required_argument, NULL, 'o' },
                { "no-prewarm", no_argument, NULL, 'P' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *reason = NULL;
        uint32_t u;
        int c, r;

        while ((c = getopt_long(argc, argv, "s:r:t:o:h", options, NULL)) >= 0)
                switch (c) {
                case 's':
                        r = parse_size(optarg, 0, &arg_size, &reason);
                        if (r < 0 || arg_size < (2u << 20) || arg_size == SIZE_INFINITY)
                                return log_error_errno(EINVAL, "Invalid --size '%s': %s", optarg,
                                                       strna(reason));
                        arg_size &= ~(uint64_t) ((2u << 20) - 1);
                        break;
                case 'r':
                        r = parse_uint32(optarg, &u);
                        if (r < 0 || u < 1 || u > RUNS_MAX)
                                return log_error_errno(EINVAL, "Invalid --runs '%s' (1..%d)",
                                                       optarg, RUNS_MAX);
                        arg_runs = u;
                        break;
                case 't':
                        r = parse_uint32(optarg, &u);
                        if (r < 0 || u < 1 || u > THREADS_MAX)
                                return log_error_errno(EINVAL, "Invalid --threads '%s' (1..%d)",
                                                       optarg, THREADS_MAX);
                        arg_threads = u;
                        break;
                case 'o':
                        arg_tsv = optarg;
                        break;
                case 'P':
                        arg_prewarm = false;
                        break;
                case 'h':
                        printf("%s [--size 4G] [--runs 5] [--threads N] [--tsv FILE] "
                               "[--no-prewarm]\n",
                               program_invocation_short_name);
                        return 0;
                default:
                        return -EINVAL;
                }
        if (optind < argc)
                return log_error_errno(EINVAL, "Unexpected argument '%s'", argv[optind]);
        if (arg_threads == 0)
                arg_threads = MIN(MAX(cpus_usable(), 1u), 8u);
        return 1;
}

int main(int argc, char *argv[]) {
        _cleanup_free_ Config *configs = NULL;
        size_t n = 0;
        const Config *best_b = NULL, *best_c = NULL, *a = NULL, *a_thp = NULL;
        int r;

        log_set_prefix(false);
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? 2 : 0;
#ifdef BENCH_SANITIZED
        fprintf(stderr, "lock-throughput: not meaningful under AddressSanitizer (mlockall would "
                        "pin the shadow memory); skipping\n");
        return 77;
#endif

        configs = calloc(4 + 4 * arg_threads, sizeof(Config));
        if (!configs)
                return log_oom(), 1;
        configs[n++] = (Config){ .kind = KIND_MLOCKALL, .label = "(a) mlockall" };
        configs[n++] =
                (Config){ .kind = KIND_MLOCKALL_THP, .label = "(a') madvise(HUGEPAGE)+mlockall" };
        for (unsigned thp = 0; thp <= 1; thp++)
                for (unsigned t = 1; t <= arg_threads; t++) {
                        Config *c = &configs[n++];
                        *c = (Config){ .kind = KIND_SHIM, .threads = t, .thp = thp };
                        snprintf(c->label, sizeof(c->label), "(b) shim, %u thread%s, THP %s", t,
                                 t == 1 ? "" : "s", thp ? "on" : "off");
                }
        for (unsigned t = 1; t <= arg_threads; t++) {
                Config *c = &configs[n++];
                *c = (Config){ .kind = KIND_MEMSET, .threads = t };
                snprintf(c->label, sizeof(c->label), "(c) memset, %u thread%s", t,
                         t == 1 ? "" : "s");
        }

        /* Interleaved: every configuration once per round, so drift hits all alike. */
        for (unsigned run = 0; run < arg_runs; run++)
                for (size_t i = 0; i < n; i++) {
                        r = run_one(&configs[i], run);
                        if (r == -ENOMEM || r == -EPERM) {
                                log_error_errno(r,
                                                "mlockall of %s failed (%m): needs CAP_IPC_LOCK "
                                                "or RLIMIT_MEMLOCK above the size; skipping",
                                                FORMAT_BYTES(arg_size));
                                return 77;
                        }
                        if (r < 0) {
                                log_error_errno(r, "%s: %m", configs[i].label);
                                return 1;
                        }
                }

        for (size_t i = 0; i < n; i++) {
                Config *c = &configs[i];
                c->median = median(c->gbps, arg_runs);
                if (c->kind == KIND_MLOCKALL)
                        a = c;
                else if (c->kind == KIND_MLOCKALL_THP)
                        a_thp = c;
                else if (c->kind == KIND_SHIM && (!best_b || c->median > best_b->median))
                        best_b = c;
                else if (c->kind == KIND_MEMSET && (!best_c || c->median > best_c->median))
                        best_c = c;
        }

        printf("Region %s, %u interleaved runs, medians, %u CPUs, GB = 10^9 bytes, %s.\n\n",
               FORMAT_BYTES(arg_size), arg_runs, cpus_usable(),
               arg_prewarm ? "memory prewarmed before each run" : "no prewarm");
        printf("| configuration | GB/s (median) | min | max | vs (a) | vs best (c) |\n");
        printf("|---|---:|---:|---:|---:|---:|\n");
        for (size_t i = 0; i < n; i++) {
                const Config *c = &configs[i];
                double lo = c->gbps[0], hi = c->gbps[0];
                for (unsigned k = 1; k < arg_runs; k++) {
                        lo = MIN(lo, c->gbps[k]);
                        hi = MAX(hi, c->gbps[k]);
                }
                printf("| %s | %.2f | %.2f | %.2f | %.2fx | %.2fx |\n", c->label, c->median, lo, hi,
                       c->median / a->median, c->median / best_c->median);
        }
        printf("\nBest (b): %s at %.2f GB/s: %.2fx (a) (target >= 3x), %.2fx (a') , "
               "%.2fx best (c) %s (target >= 0.7x).\n",
               best_b->label, best_b->median, best_b->median / a->median,
               best_b->median / a_thp->median, best_b->median / best_c->median, best_c->label);

        if (arg_tsv) {
                _cleanup_fclose_ FILE *f = fopen(arg_tsv, "we");
                if (!f)
                        return log_error_errno(errno, "Failed to open '%s': %m", arg_tsv), 1;
                fprintf(f, "# label\tkind\tthreads\tthp\tmedian\tmin\tmax (GB/s)\n");
                for (size_t i = 0; i < n; i++) {
                        const Config *c = &configs[i];
                        double lo = c->gbps[0], hi = c->gbps[0];
                        for (unsigned k = 1; k < arg_runs; k++) {
                                lo = MIN(lo, c->gbps[k]);
                                hi = MAX(hi, c->gbps[k]);
                        }
                        fprintf(f, "\"%s\"\t%d\t%u\t%d\t%.3f\t%.3f\t%.3f\n", c->label,
                                (int) c->kind, c->threads, c->thp, c->median, lo, hi);
                }
        }
        return 0;
}
