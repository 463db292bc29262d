/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test target for ptrace injection: a multithreaded process whose threads each check that
 * being stopped and injected into does not change what they observe.
 *
 *   mt-target [ALLOC_MIB [SLEEP_MS [BUSY_THREADS]]]
 *
 * - allocates and touches ALLOC_MIB (default 32) MiB;
 * - the main thread loops: prints "sleep-start", sleeps SLEEP_MS (default 2000) with
 *   clock_nanosleep(CLOCK_MONOTONIC, relative) and prints "slept MS" (measured, with
 *   CLOCK_MONOTONIC): an interrupted sleep must still last its full time;
 * - a reader thread blocks in read() on stdin and prints "read LINE" for each line, or
 *   "read-error ERRNO" if read() fails: a read interrupted by the injection must restart;
 *   the line "count" prints "count USR1 RTMIN" (signals handled so far), "quit" exits;
 * - BUSY_THREADS (default 2) threads spin, yielding now and then;
 * - at start it prints "ready PID main=TID reader=TID".
 * Output is line-buffered. */

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static atomic_uint_fast64_t n_usr1, n_rtmin;
static atomic_int reader_tid;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
        va_list ap;
        pthread_mutex_lock(&out_lock);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        fflush(stdout);
        pthread_mutex_unlock(&out_lock);
}

static void on_signal(int sig) {
        if (sig == SIGUSR1)
                atomic_fetch_add(&n_usr1, 1);
        else
                atomic_fetch_add(&n_rtmin, 1);
}

/* Standalone on purpose (the tests may build it with plain cc): a checked decimal parser. */
static unsigned long arg_ulong(int argc, char **argv, int i, unsigned long def) {
        char *end;
        if (argc <= i)
                return def;
        errno = 0;
        unsigned long v = strtoul(argv[i], &end, 10);
        if (errno != 0 || end == argv[i] || *end != '\0' || argv[i][0] == '-') {
                fprintf(stderr, "bad number '%s'\n", argv[i]);
                exit(2);
        }
        return v;
}

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

static void *busy(void *arg) {
        volatile uint64_t x = 0;
        for (;;) {
                for (int i = 0; i < 1000000; i++)
                        x++;
                sched_yield();
        }
        return NULL;
}

static void *reader(void *arg) {
        char line[256];
        size_t len = 0;

        atomic_store(&reader_tid, (int) syscall(SYS_gettid));
        for (;;) {
                ssize_t n = read(STDIN_FILENO, line + len, 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue; /* a handled signal without SA_RESTART: fine */
                        say("read-error %d\n", errno);
                        exit(1);
                }
                if (n == 0)
                        exit(0);
                if (line[len] != '\n' && len + 2 < sizeof(line)) {
                        len++;
                        continue;
                }
                line[len] = '\0';
                len = 0;
                if (strcmp(line, "quit") == 0)
                        exit(0);
                if (strcmp(line, "count") == 0)
                        say("count %llu %llu\n", (unsigned long long) atomic_load(&n_usr1),
                            (unsigned long long) atomic_load(&n_rtmin));
                else
                        say("read %s\n", line);
        }
        return NULL;
}

int main(int argc, char **argv) {
        unsigned long alloc_mib = arg_ulong(argc, argv, 1, 32);
        unsigned long sleep_ms = arg_ulong(argc, argv, 2, 2000);
        unsigned long n_busy = arg_ulong(argc, argv, 3, 2);
        struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
        pthread_t t;

        sigaction(SIGUSR1, &sa, NULL);
        sigaction(SIGRTMIN, &sa, NULL);

        size_t size = alloc_mib << 20;
        char *mem = size ? malloc(size) : NULL;
        if (size && !mem)
                return 1;
        for (size_t i = 0; i < size; i += 4096)
                mem[i] = 1;

        if (pthread_create(&t, NULL, reader, NULL) != 0)
                return 1;
        for (unsigned long i = 0; i < n_busy; i++)
                if (pthread_create(&t, NULL, busy, NULL) != 0)
                        return 1;
        while (atomic_load(&reader_tid) == 0)
                usleep(1000);
        say("ready %d main=%d reader=%d\n", (int) getpid(), (int) syscall(SYS_gettid),
            atomic_load(&reader_tid));

        for (;;) {
                struct timespec ts = { .tv_sec = (time_t) (sleep_ms / 1000),
                                       .tv_nsec = (long) (sleep_ms % 1000) * 1000000L };
                say("sleep-start\n");
                uint64_t t0 = now_ms();
                int r;
                do
                        /* Relative: a restarted sleep that forgot how long it had already slept
                         * would last longer, one cut short would be shorter. EINTR (a handled
                         * signal) resumes with the remaining time in ts. */
                        r = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts);
                while (r == EINTR);
                if (r != 0) {
                        say("sleep-error %d\n", r);
                        return 1;
                }
                say("slept %llu\n", (unsigned long long) (now_ms() - t0));
        }
}
