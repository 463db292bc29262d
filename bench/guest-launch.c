/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* guest-launch: time from launch until a guest's RAM is resident and locked.
 *
 *   guest-launch --size 2G [--runs 7] [--warmup 2] [--timeout 120] [--tsv FILE] [--log FILE]
 *                [--unlocked NAME]... [--no-prewarm] NAME::COMMAND...
 *
 * Each COMMAND runs through /bin/sh -c with $PIDFILE set: it must start one process (QEMU, with
 * `-pidfile "$PIDFILE"`) that maps guest RAM of --size bytes, either itself or through a
 * launcher (`memlockctl run -- qemu ...`). The clock starts at fork(); the guest is done when
 *   1. /proc/PID/status says VmRSS >= size and VmLck >= size (VmRSS only for --unlocked ways),
 *      then
 *   2. /proc/PID/smaps says the guest RAM mapping (the one of exactly --size bytes) has
 *      Rss >= size and Locked >= size (Rss only for --unlocked ways): step 1 alone could stop
 *      early by QEMU's own RSS, or by VmLck counting a mapping before it is populated (mlockall
 *      accounts each mapping, then populates).
 * /proc is polled every millisecond. Then the process is killed (SIGKILL) and reaped before the
 * next run. The ways are interleaved run by run (the order rotates each round), after --warmup
 * rounds that are not counted; before each run (unless --no-prewarm) the benchmark touches and
 * frees size + 256 MiB of memory itself, so that every way finds pages the host has backed.
 *
 * Prints a Markdown table (median, min-max, IQR, ratios against the first way: of the medians,
 * and the median of the ratios within each round; and the population part alone: from the poll
 * that first saw a quarter of the guest resident to done) on stdout. --tsv writes one row per
 * way: "name median min max q1 q3 ratio population_median population_ratio" (ms). Exits 1 if
 * a way failed a run (timeout, exit). */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench-stats.h"
#include "common/parse-util.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define WAYS_MAX 8
#define RUNS_MAX 101
#define POLL_NS 1000000ull

typedef struct Way {
        const char *name;
        const char *command;
        bool unlocked;
        uint64_t us[RUNS_MAX]; /* counted runs, microseconds */
        uint64_t pop_us[RUNS_MAX]; /* of those, from a quarter resident to done */
        size_t n;
        unsigned failed;
} Way;

static uint64_t arg_size;
static unsigned arg_runs = 7, arg_warmup = 2, arg_timeout_s = 120;
static const char *arg_tsv, *arg_log = "/dev/null";
static bool arg_prewarm = true;
static Way ways[WAYS_MAX];
static size_t n_ways;
static char pidfile[64];

static void prewarm(void) {
        size_t n = arg_size + (256u << 20);
        char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        if (p == MAP_FAILED)
                return;
        (void) madvise(p, n, MADV_HUGEPAGE);
        if (madvise(p, n, MADV_POPULATE_WRITE) < 0)
                memset(p, 0, n);
        (void) munmap(p, n);
}

static void sleep_ns(uint64_t ns) {
        struct timespec ts = { .tv_sec = ns / 1000000000ull, .tv_nsec = ns % 1000000000ull };
        (void) nanosleep(&ts, NULL);
}

static pid_t pidfile_read(void) {
        FILE *f = fopen(pidfile, "re");
        long v = 0;

        if (!f)
                return 0;
        if (fscanf(f, "%ld", &v) != 1)
                v = 0;
        fclose(f);
        return (pid_t) v;
}

/* VmRSS and VmLck in kB; false if the process is gone. */
static bool status_read(pid_t pid, uint64_t *ret_rss, uint64_t *ret_lck) {
        char path[64], line[256];
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return false;
        *ret_rss = *ret_lck = 0;
        while (fgets(line, sizeof(line), f)) {
                unsigned long long v;
                if (sscanf(line, "VmRSS: %llu kB", &v) == 1)
                        *ret_rss = v;
                else if (sscanf(line, "VmLck: %llu kB", &v) == 1)
                        *ret_lck = v;
        }
        fclose(f);
        return true;
}

/* Rss and Locked (kB) of the mapping of exactly size_kb; false if there is none. */
static bool smaps_guest_read(pid_t pid, uint64_t size_kb, uint64_t *ret_rss, uint64_t *ret_lck) {
        char path[64], line[512];
        bool in = false, found = false;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/smaps", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return false;
        while (fgets(line, sizeof(line), f)) {
                size_t first = strcspn(line, " \t\n");
                unsigned long long v;

                if (first > 0 && line[first - 1] != ':') {
                        if (found && in)
                                break;
                        in = false;
                        continue;
                }
                if (sscanf(line, "Size: %llu kB", &v) == 1) {
                        in = v == size_kb && !found;
                        if (in) {
                                found = true;
                                *ret_rss = *ret_lck = 0;
                        }
                } else if (in && sscanf(line, "Rss: %llu kB", &v) == 1)
                        *ret_rss = v;
                else if (in && sscanf(line, "Locked: %llu kB", &v) == 1)
                        *ret_lck = v;
        }
        fclose(f);
        return found;
}

static void reap(pid_t child, pid_t guest) {
        char path[64];

        /* Never kill(0 or -1, ...): that would be a process group or everyone. */
        if (guest > 0)
                (void) kill(guest, SIGKILL);
        if (child > 0) {
                (void) kill(child, SIGKILL);
                (void) waitpid(child, NULL, 0);
        }
        /* A launcher's guest is someone else's child: wait until it is gone (or a zombie, whose
         * memory is already freed) before the next run. */
        snprintf(path, sizeof(path), "/proc/%d/status", (int) guest);
        for (unsigned i = 0; guest > 0 && i < 10000; i++) {
                char line[256];
                bool zombie = false;
                FILE *f = fopen(path, "re");
                if (!f)
                        break;
                while (fgets(line, sizeof(line), f))
                        if (strncmp(line, "State:", 6) == 0)
                                zombie = strchr(line, 'Z') != NULL;
                fclose(f);
                if (zombie)
                        break;
                sleep_ns(POLL_NS);
        }
}

/* One launch; returns the time in microseconds, or 0 on failure. *ret_pop_us: the part from
 * the first poll that saw a quarter of the guest size resident (VmRSS) to done: population
 * alone, without QEMU's start (its own RSS is far below a quarter of a guest of 1 GiB or
 * more). */
static uint64_t run_one(Way *w, uint64_t *ret_pop_us) {
        uint64_t size_kb = arg_size >> 10, rss, lck, t0, t = 0, t_quarter = 0;
        pid_t child, guest = 0;
        bool status_ok = false;

        (void) unlink(pidfile);
        if (arg_prewarm)
                prewarm();
        t0 = now_ns();
        child = fork();
        if (child < 0)
                return 0;
        if (child == 0) {
                int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
                int out = open(arg_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
                if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
                        _exit(126);
                (void) setenv("PIDFILE", pidfile, 1);
                execl("/bin/sh", "sh", "-c", w->command, (char *) NULL);
                _exit(127);
        }
        for (;;) {
                int st;

                if (now_ns() - t0 > (uint64_t) arg_timeout_s * 1000000000ull) {
                        fprintf(stderr, "guest-launch: %s: not resident after %u s\n", w->name,
                                arg_timeout_s);
                        break;
                }
                if (waitpid(child, &st, WNOHANG) == child) {
                        fprintf(stderr, "guest-launch: %s: exited (status 0x%x) before done\n",
                                w->name, (unsigned) st);
                        child = -1;
                        break;
                }
                if (guest <= 0)
                        guest = pidfile_read();
                if (guest > 0 && !status_ok) {
                        if (!status_read(guest, &rss, &lck))
                                guest = 0;
                        else if (t_quarter == 0 && rss >= size_kb / 4)
                                t_quarter = now_ns();
                        if (guest > 0 && rss >= size_kb && (w->unlocked || lck >= size_kb))
                                status_ok = true;
                }
                if (status_ok) {
                        bool found = smaps_guest_read(guest, size_kb, &rss, &lck);
                        /* No mapping of that exact size: step 1 is all there is. */
                        if (!found || (rss >= size_kb && (w->unlocked || lck >= size_kb))) {
                                t = now_ns() - t0;
                                break;
                        }
                }
                sleep_ns(POLL_NS);
        }
        reap(child, guest);
        *ret_pop_us = t && t_quarter ? (t0 + t - t_quarter) / 1000 : 0;
        return t / 1000;
}

static double ms(uint64_t us) {
        return (double) us / 1000.0;
}

static void help(void) {
        printf("guest-launch --size SIZE [--runs N] [--warmup N] [--timeout S] [--tsv FILE]\n"
               "             [--log FILE] [--unlocked NAME]... [--no-prewarm] NAME::COMMAND...\n"
               "Time from launch until guest RAM of SIZE is resident and locked; the first way is\n"
               "the baseline. COMMAND runs via /bin/sh -c and must pass -pidfile \"$PIDFILE\".\n");
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "size", required_argument, NULL, 's' },
                { "runs", required_argument, NULL, 'r' },
                { "warmup", required_argument, NULL, 'w' },
                { "timeout", required_argument, NULL, 't' },
                { "tsv", required_argument, NULL, 'T' },
                { "log", required_argument, NULL, 'l' },
                { "unlocked", required_argument, NULL, 'u' },
                { "no-prewarm", no_argument, NULL, 'P' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *unlocked[WAYS_MAX];
        size_t n_unlocked = 0;
        double round_ratio[WAYS_MAX][RUNS_MAX];
        uint32_t u;
        int c, rc = 0;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 's':
                        if (parse_size(optarg, 0, &arg_size, NULL) < 0 || arg_size < (1u << 20)) {
                                fprintf(stderr, "guest-launch: bad --size '%s'\n", optarg);
                                return 2;
                        }
                        break;
                case 'r':
                case 'w':
                case 't':
                        if (parse_uint32(optarg, &u) < 0 || (c == 'r' && (u < 1 || u > RUNS_MAX))) {
                                fprintf(stderr, "guest-launch: bad number '%s'\n", optarg);
                                return 2;
                        }
                        *(c == 'r' ? &arg_runs : c == 'w' ? &arg_warmup : &arg_timeout_s) = u;
                        break;
                case 'T':
                        arg_tsv = optarg;
                        break;
                case 'l':
                        arg_log = optarg;
                        break;
                case 'u':
                        if (n_unlocked >= WAYS_MAX)
                                return 2;
                        unlocked[n_unlocked++] = optarg;
                        break;
                case 'P':
                        arg_prewarm = false;
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        return 2;
                }
        }
        if (arg_size == 0 || optind >= argc) {
                help();
                return 2;
        }
        for (int i = optind; i < argc; i++) {
                /* "::", not "=": names such as "mem-lock=on" have one. */
                char *eq = strstr(argv[i], "::");
                if (!eq || eq == argv[i] || n_ways >= WAYS_MAX) {
                        fprintf(stderr, "guest-launch: bad way '%s' (NAME::COMMAND, at most %d)\n",
                                argv[i], WAYS_MAX);
                        return 2;
                }
                *eq = '\0';
                ways[n_ways] = (Way){ .name = argv[i], .command = eq + 2 };
                for (size_t k = 0; k < n_unlocked; k++)
                        if (strcmp(unlocked[k], argv[i]) == 0)
                                ways[n_ways].unlocked = true;
                n_ways++;
        }
        snprintf(pidfile, sizeof(pidfile), "/tmp/guest-launch.%d.pid", (int) getpid());

        for (unsigned round = 0; round < arg_warmup + arg_runs; round++) {
                uint64_t t[WAYS_MAX] = {};
                bool counted = round >= arg_warmup;

                for (size_t k = 0; k < n_ways; k++) {
                        Way *w = &ways[(k + round) % n_ways];
                        uint64_t pop, us = run_one(w, &pop);

                        fprintf(stderr, "guest-launch: %s %s: %.1f ms\n",
                                counted ? "run" : "warm-up", w->name, ms(us));
                        t[w - ways] = us;
                        if (!counted)
                                continue;
                        if (us == 0)
                                w->failed++;
                        else {
                                w->pop_us[w->n] = pop;
                                w->us[w->n++] = us;
                        }
                }
                for (size_t k = 0; counted && k < n_ways; k++)
                        round_ratio[k][round - arg_warmup] =
                                t[0] && t[k] ? (double) t[k] / (double) t[0] : 0;
        }
        (void) unlink(pidfile);

        FILE *tsv = arg_tsv ? fopen(arg_tsv, "we") : NULL;
        uint64_t base = 0, pop_base = 0;

        printf("| way | runs | median (ms) | min–max (ms) | IQR (ms) | ratio of medians | median "
               "ratio per round | population: median (min–max) (ms) | ratio |\n");
        printf("|---|---|---|---|---|---|---|---|---|\n");
        for (size_t k = 0; k < n_ways; k++) {
                Way *w = &ways[k];
                double rr[RUNS_MAX];
                uint64_t pop[RUNS_MAX];
                size_t nr = 0, np = 0;
                uint64_t med, q1, q3, pmed = 0;

                if (w->failed)
                        rc = 1;
                if (w->n == 0) {
                        printf("| %s | 0 (%u failed) | – | – | – | – | – | – | – |\n", w->name,
                               w->failed);
                        continue;
                }
                for (size_t i = 0; i < w->n; i++)
                        if (w->pop_us[i] > 0)
                                pop[np++] = w->pop_us[i];
                qsort(pop, np, sizeof(uint64_t), cmp_u64);
                if (np > 0)
                        pmed = percentile(pop, np, 50);
                qsort(w->us, w->n, sizeof(uint64_t), cmp_u64);
                med = percentile(w->us, w->n, 50);
                q1 = percentile(w->us, w->n, 25);
                q3 = percentile(w->us, w->n, 75);
                if (k == 0) {
                        base = med;
                        pop_base = pmed;
                }
                for (unsigned i = 0; i < arg_runs; i++)
                        if (round_ratio[k][i] > 0)
                                rr[nr++] = round_ratio[k][i];
                qsort(rr, nr, sizeof(double), cmp_double);
                printf("| %s | %zu%s | %.0f | %.0f–%.0f | %.0f–%.0f | ", w->name, w->n,
                       w->failed ? " (some failed)" : "", ms(med), ms(w->us[0]),
                       ms(w->us[w->n - 1]), ms(q1), ms(q3));
                if (k == 0)
                        printf("baseline | baseline | ");
                else
                        printf("%.2fx | %.2fx | ", base ? (double) med / (double) base : 0,
                               nr ? rr[nr / 2] : 0);
                if (np == 0)
                        printf("– | – |\n");
                else if (k == 0)
                        printf("%.0f (%.0f–%.0f) | baseline |\n", ms(pmed), ms(pop[0]),
                               ms(pop[np - 1]));
                else
                        printf("%.0f (%.0f–%.0f) | %.2fx |\n", ms(pmed), ms(pop[0]),
                               ms(pop[np - 1]), pop_base ? (double) pmed / (double) pop_base : 0);
                if (tsv)
                        fprintf(tsv, "%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.3f\t%.1f\t%.3f\n",
                                w->name, ms(med), ms(w->us[0]), ms(w->us[w->n - 1]), ms(q1), ms(q3),
                                base ? (double) med / (double) base : 0, ms(pmed),
                                pop_base ? (double) pmed / (double) pop_base : 0);
        }
        if (tsv)
                fclose(tsv);
        return rc;
}
