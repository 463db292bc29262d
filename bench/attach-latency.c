/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Attach latency: how long mlockd takes to lock an idle, already running process by ptrace
 * injection of mlockall(MCL_CURRENT) (inject_job_run(): fork the helper, seize, inject, restore,
 * detach, report), against the same mlockall() called by the process itself. Interleaved
 * run by run, a fresh target with SIZE of resident anonymous memory for every measurement;
 * medians and their ratio. Prints a markdown table; --tsv FILE writes the raw runs.
 *
 *   attach-latency [--sizes 1G,2G,4G] [--runs 5] [--tsv FILE]
 *
 * Needs CAP_IPC_LOCK (or a RLIMIT_MEMLOCK above each size), CAP_SYS_PTRACE or a permissive
 * Yama, and the largest size of free memory; exits 77 otherwise. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/parse-util.h"
#include "common/proc.h"
#include "common/process-util.h"
#include "daemon/helpers/inject-job.h"

#define SIZES_MAX 8
#define RUNS_MAX 101

#if defined(__SANITIZE_ADDRESS__)
#define BENCH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BENCH_ASAN 1
#endif
#endif

typedef struct Target {
        pid_t pid;
        int cmd_fd; /* parent -> child: 'L' lock, 'Q' quit */
        int res_fd; /* child -> parent: ready byte, then the in-process mlockall time */
} Target;

typedef struct InsideResult {
        int64_t usec;
        int32_t error;
} InsideResult;

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

_noreturn_ static void target_main(uint64_t size, int cmd_fd, int res_fd) {
        char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                _exit(1);
        for (uint64_t i = 0; i < size; i += 4096)
                p[i] = 1;
        if (write(res_fd, "R", 1) != 1)
                _exit(1);
        for (;;) {
                char c;
                if (read(cmd_fd, &c, 1) != 1 || c == 'Q')
                        _exit(0);
                if (c != 'L')
                        continue;
                InsideResult r = {};
                uint64_t t0 = now_usec();
                if (mlockall(MCL_CURRENT) < 0)
                        r.error = errno;
                r.usec = (int64_t) (now_usec() - t0);
                if (write(res_fd, &r, sizeof(r)) != (ssize_t) sizeof(r))
                        _exit(1);
        }
}

static int target_start(uint64_t size, Target *ret) {
        int cmd[2], res[2];
        char c;

        if (pipe2(cmd, O_CLOEXEC) < 0 || pipe2(res, O_CLOEXEC) < 0)
                return negative_errno();
        pid_t pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0) {
                close(cmd[1]);
                close(res[0]);
                target_main(size, cmd[0], res[1]);
        }
        close(cmd[0]);
        close(res[1]);
        *ret = (Target){ .pid = pid, .cmd_fd = cmd[1], .res_fd = res[0] };
        if (read(ret->res_fd, &c, 1) != 1 || c != 'R')
                return -EIO;
        return 0;
}

static void target_stop(Target *t) {
        (void) !write(t->cmd_fd, "Q", 1);
        safe_close(t->cmd_fd);
        safe_close(t->res_fd);
        (void) kill(t->pid, SIGKILL);
        (void) waitpid(t->pid, NULL, 0);
}

static uint64_t vm_lck(pid_t pid) {
        _cleanup_close_ int dfd = proc_open(pid);
        ProcStatus st;
        if (dfd < 0 || proc_status_read(dfd, &st) < 0)
                return 0;
        return st.vm_lck;
}

/* One measurement: returns 0 and the latency in *ret_usec (and, for injection, the time of the
 * injection itself inside the helper in *ret_inner_usec). */
static int measure(uint64_t size, bool inject, uint64_t *ret_usec, uint64_t *ret_inner_usec) {
        Target t;
        int r;

        r = target_start(size, &t);
        if (r < 0) {
                fprintf(stderr, "cannot start a %s target: %s\n", FORMAT_BYTES(size), strerror(-r));
                return r;
        }
        if (inject) {
                _cleanup_close_ int pidfd = pidfd_open_checked(t.pid);
                InjectResult res;
                uint64_t t0 = now_usec();
                r = inject_job_run(t.pid, pidfd, SYS_mlockall, MCL_CURRENT, &res);
                uint64_t t1 = now_usec();
                if (r >= 0 && res.error != 0)
                        r = -res.error;
                *ret_usec = t1 - t0;
                *ret_inner_usec = r >= 0 ? res.duration_usec : 0;
        } else {
                InsideResult res;
                if (write(t.cmd_fd, "L", 1) != 1 ||
                    read(t.res_fd, &res, sizeof(res)) != sizeof(res))
                        r = -EIO;
                else if (res.error != 0)
                        r = -res.error;
                *ret_usec = (uint64_t) res.usec;
                *ret_inner_usec = *ret_usec;
        }
        if (r >= 0 && vm_lck(t.pid) < size) {
                fprintf(stderr, "VmLck below %s after mlockall\n", FORMAT_BYTES(size));
                r = -EIO;
        }
        target_stop(&t);
        if (r < 0)
                fprintf(stderr, "%s mlockall of %s failed: %s\n", inject ? "injected" : "inside",
                        FORMAT_BYTES(size), strerror(-r));
        return r;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static double median_ms(uint64_t *v, size_t n) {
        qsort(v, n, sizeof(*v), cmp_u64);
        double m = n % 2 ? (double) v[n / 2] : ((double) v[n / 2 - 1] + (double) v[n / 2]) / 2;
        return m / 1000.0;
}

static int parse_sizes(const char *s, uint64_t sizes[SIZES_MAX], size_t *ret_n) {
        _cleanup_free_ char *copy = strdup(s);
        size_t n = 0;

        if (!copy)
                return -ENOMEM;
        for (char *save = NULL, *w = strtok_r(copy, ",", &save); w;
             w = strtok_r(NULL, ",", &save)) {
                if (n >= SIZES_MAX || parse_size(w, 0, &sizes[n], NULL) < 0 || sizes[n] == 0 ||
                    sizes[n] == SIZE_INFINITY)
                        return -EINVAL;
                n++;
        }
        *ret_n = n;
        return n > 0 ? 0 : -EINVAL;
}

int main(int argc, char **argv) {
        uint64_t sizes[SIZES_MAX];
        size_t n_sizes = 0;
        uint32_t runs = 5;
        const char *tsv_path = NULL;
        _cleanup_fclose_ FILE *tsv = NULL;

        if (parse_sizes("1G,2G,4G", sizes, &n_sizes) < 0)
                return 1;
        for (int i = 1; i < argc; i++) {
                if (streq(argv[i], "--sizes") && i + 1 < argc) {
                        if (parse_sizes(argv[++i], sizes, &n_sizes) < 0) {
                                fprintf(stderr, "bad --sizes '%s'\n", argv[i]);
                                return 2;
                        }
                } else if (streq(argv[i], "--runs") && i + 1 < argc) {
                        if (parse_uint32(argv[++i], &runs) < 0 || runs == 0 || runs > RUNS_MAX) {
                                fprintf(stderr, "bad --runs '%s' (1..%d)\n", argv[i], RUNS_MAX);
                                return 2;
                        }
                } else if (streq(argv[i], "--tsv") && i + 1 < argc)
                        tsv_path = argv[++i];
                else {
                        fprintf(stderr, "usage: %s [--sizes 1G,2G,4G] [--runs N] [--tsv FILE]\n",
                                argv[0]);
                        return 2;
                }
        }

#ifdef BENCH_ASAN
        fprintf(stderr, "skipping: built with AddressSanitizer (mlockall would pin its shadow)\n");
        return 77;
#endif
        MemInfo mi;
        uint64_t biggest = 0;
        for (size_t i = 0; i < n_sizes; i++)
                biggest = MAX(biggest, sizes[i]);
        if (meminfo_read(&mi) >= 0 && mi.mem_available != PROC_UNSET &&
            mi.mem_available < biggest + biggest / 4) {
                fprintf(stderr, "skipping: %s available, %s needed\n",
                        FORMAT_BYTES(mi.mem_available), FORMAT_BYTES(biggest + biggest / 4));
                return 77;
        }
        /* A quick probe: can a child lock at all, and can we inject? */
        uint64_t probe, inner;
        if (measure(1u << 20, false, &probe, &inner) < 0 ||
            measure(1u << 20, true, &probe, &inner) < 0) {
                fprintf(stderr, "skipping: cannot mlockall or inject here\n");
                return 77;
        }

        if (tsv_path) {
                tsv = fopen(tsv_path, "we");
                if (!tsv) {
                        fprintf(stderr, "cannot open %s: %m\n", tsv_path);
                        return 1;
                }
                fprintf(tsv, "size_bytes\trun\tmethod\tusec\tinner_usec\n");
        }

        printf("| resident | `mlockall` inside the process | attach by injection, end to end | "
               "of which the injected `mlockall` | ratio | ratio of the fastest runs | runs |\n");
        printf("|---|---|---|---|---|---|---|\n");
        for (size_t s = 0; s < n_sizes; s++) {
                uint64_t inside[RUNS_MAX], attach[RUNS_MAX], injected[RUNS_MAX];
                for (uint32_t r = 0; r < runs; r++) {
                        /* Alternate which goes first, so drift hits both alike. */
                        for (int k = 0; k < 2; k++) {
                                bool inj = (k == 0) == (r % 2 == 1);
                                uint64_t usec, inner_usec;
                                if (measure(sizes[s], inj, &usec, &inner_usec) < 0)
                                        return 1;
                                if (inj) {
                                        attach[r] = usec;
                                        injected[r] = inner_usec;
                                } else
                                        inside[r] = usec;
                                if (tsv)
                                        fprintf(tsv,
                                                "%" PRIu64 "\t%u\t%s\t%" PRIu64 "\t%" PRIu64 "\n",
                                                sizes[s], r, inj ? "inject" : "inside", usec,
                                                inner_usec);
                                fprintf(stderr, "%s run %u %s: %.1f ms\n", FORMAT_BYTES(sizes[s]),
                                        r, inj ? "inject" : "inside", (double) usec / 1000.0);
                        }
                }
                /* median_ms() sorts: [0] is the fastest run afterwards. */
                double in_ms = median_ms(inside, runs), at_ms = median_ms(attach, runs),
                       inj_ms = median_ms(injected, runs);
                double in_min = (double) inside[0] / 1000.0, at_min = (double) attach[0] / 1000.0;
                printf("| %s | %.1f ms (fastest %.1f) | %.1f ms (fastest %.1f) | %.1f ms | %.3fx | "
                       "%.3fx | %u |\n",
                       FORMAT_BYTES(sizes[s]), in_ms, in_min, at_ms, at_min, inj_ms,
                       in_ms > 0 ? at_ms / in_ms : 0.0, in_min > 0 ? at_min / in_min : 0.0, runs);
                fflush(stdout);
        }

        /* The fixed cost: the same on a process with almost nothing to lock. */
        uint64_t small_inside[RUNS_MAX], small_attach[RUNS_MAX];
        for (uint32_t r = 0; r < runs; r++) {
                if (measure(1u << 20, false, &small_inside[r], &inner) < 0 ||
                    measure(1u << 20, true, &small_attach[r], &inner) < 0)
                        return 1;
        }
        printf("\nFixed cost, measured the same way on a process with 1 MiB resident: `mlockall` "
               "inside "
               "%.2f ms, attach by injection end to end %.2f ms (medians of %u).\n",
               median_ms(small_inside, runs), median_ms(small_attach, runs), runs);
        return 0;
}
