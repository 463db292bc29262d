/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A program for the shim tests to preload libmemlock-shim.so into. It runs its arguments as
 * commands, in order:
 *   alloc N      map N MiB of private anonymous memory (untouched)
 *   alloc-fixed N  the same the way QEMU maps guest RAM: a PROT_NONE reservation, then
 *                mmap(MAP_FIXED) of N MiB over it, 2 MiB aligned
 *   memfd N      map N MiB of a memfd, MAP_SHARED (QEMU's memory-backend-memfd)
 *   region L     print "L resident=K rss=K locked=K thp=K minflt=N" for the last mapping: KiB
 *                resident right after mmap returned (mincore(2), before anything else ran),
 *                its Rss, Locked and AnonHugePages from /proc/self/smaps, and the minor faults
 *                the main thread took inside that mmap (getrusage(RUSAGE_THREAD))
 *   munlockall   munlockall(2): the program gives up its lock (and MCL_FUTURE)
 *   touch        write one byte per page of everything allocated
 *   status L     print "L pid=P VmLck=K VmRSS=K CapAmb=X CapEff=X" (kB, hex) from /proc
 *   fork         fork; the child runs the remaining commands, the parent waits and exits with
 *                the child's status
 *   daemonize    fork, setsid, fork again; the grandchild runs the remaining commands while the
 *                others exit at once, like a daemon
 *   exec P A...  execv(P, [P, A...])
 *   sleep S      sleep S seconds
 *   fd N         print "fdN=open" or "fdN=closed"
 *   env NAME     print "NAME=value" or "NAME unset"
 *   threads N    start N threads that sleep until the process exits (a multithreaded program)
 * Built uninstrumented in shim/targets (see shim/CMakeLists.txt). */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef SHIM_TARGET_BSS_MIB
/* A mapping that exists before the shim's constructor runs: what the shim prefaults. */
static char bss[(size_t) SHIM_TARGET_BSS_MIB << 20];
#endif

#define REGIONS_MAX 64

static struct {
        char *p;
        size_t n;
        size_t resident; /* pages resident when mmap returned */
        long minflt; /* the main thread's minor faults inside mmap */
} regions[REGIONS_MAX];
static size_t n_regions;

static long thread_minflt(void) {
        struct rusage ru;
        return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_minflt : -1;
}

/* Maps n bytes (kind: 'a' anonymous, 'f' QEMU-style fixed over a reservation, 'm' memfd) and
 * records how much of it mmap left resident. */
static int region_map(size_t n, char kind) {
        static unsigned char vec[(1024u << 20) / 4096 * 4]; /* up to 4 GiB of 4 KiB pages */
        size_t ps = (size_t) sysconf(_SC_PAGESIZE), pages = n / ps, res = 0;
        void *p = MAP_FAILED;
        long f0, f1;
        int fd = -1;

        if (n_regions >= REGIONS_MAX || pages > sizeof(vec)) {
                fprintf(stderr, "shim-target: too many regions or too large\n");
                return -E2BIG;
        }
        if (kind == 'f') {
                char *r = mmap(NULL, n + (2u << 20), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (r == MAP_FAILED)
                        return -errno;
                r = (char *) (((uintptr_t) r + (2u << 20) - 1) & ~(uintptr_t) ((2u << 20) - 1));
                f0 = thread_minflt();
                p = mmap(r, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
                         0);
        } else if (kind == 'm') {
                fd = memfd_create("shim-target", MFD_CLOEXEC);
                if (fd < 0 || ftruncate(fd, (off_t) n) < 0)
                        return -errno;
                f0 = thread_minflt();
                p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        } else {
                f0 = thread_minflt();
                p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        }
        f1 = thread_minflt();
        if (p == MAP_FAILED) {
                int e = errno;
                fprintf(stderr, "shim-target: mmap %zu: %s\n", n, strerror(e));
                if (fd >= 0)
                        close(fd);
                return -e;
        }
        if (mincore(p, n, vec) == 0)
                for (size_t i = 0; i < pages; i++)
                        res += vec[i] & 1;
        if (fd >= 0)
                close(fd);
        regions[n_regions].p = p;
        regions[n_regions].n = n;
        regions[n_regions].resident = res;
        regions[n_regions++].minflt = f1 - f0;
        return 0;
}

/* Rss, Locked and AnonHugePages (kB) of the mapping that starts at p, from /proc/self/smaps. */
static int smaps_of(const void *p, long *ret_rss, long *ret_locked, long *ret_thp) {
        char line[512];
        bool in = false;
        long rss = -1, locked = -1, thp = -1;
        FILE *f = fopen("/proc/self/smaps", "re");

        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f)) {
                size_t first = strcspn(line, " \t\n");
                unsigned long start;
                long v;

                /* A mapping's header starts "start-end perms ..."; its fields "Name: value". */
                if (first > 0 && line[first - 1] != ':') {
                        in = sscanf(line, "%lx-", &start) == 1 && start == (uintptr_t) p;
                        continue;
                }
                if (!in)
                        continue;
                if (sscanf(line, "Rss: %ld kB", &v) == 1)
                        rss = v;
                else if (sscanf(line, "Locked: %ld kB", &v) == 1)
                        locked = v;
                else if (sscanf(line, "AnonHugePages: %ld kB", &v) == 1)
                        thp = v;
        }
        fclose(f);
        *ret_rss = rss;
        *ret_locked = locked;
        *ret_thp = thp;
        return 0;
}

static int status_print(const char *label) {
        char line[512], out[512] = "";
        FILE *f = fopen("/proc/self/status", "re");

        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f)) {
                static const char *const keys[] = { "VmLck:", "VmRSS:", "CapAmb:", "CapEff:" };
                for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                        size_t kl = strlen(keys[i]);
                        char *v, *e;

                        if (strncmp(line, keys[i], kl) != 0)
                                continue;
                        v = line + kl + strspn(line + kl, " \t");
                        e = v + strcspn(v, " \t\n");
                        *e = '\0';
                        snprintf(out + strlen(out), sizeof(out) - strlen(out), " %.*s=%s",
                                 (int) kl - 1, keys[i], v);
                }
        }
        fclose(f);
        printf("%s pid=%d%s\n", label, (int) getpid(), out);
        fflush(stdout);
        return 0;
}

static void *sleeper(void *userdata) {
        for (;;)
                pause();
        return NULL;
}

static unsigned long arg_number(const char *s) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0') {
                fprintf(stderr, "shim-target: bad number '%s'\n", s);
                exit(2);
        }
        return v;
}

int main(int argc, char *argv[]) {
        setvbuf(stdout, NULL, _IOLBF, 0);
#ifdef SHIM_TARGET_BSS_MIB
        /* Keep the array: the compiler must not prove it unused. */
        __asm__ volatile("" : : "r"(bss) : "memory");
#endif

        for (int i = 1; i < argc; i++) {
                const char *c = argv[i];

                if ((strcmp(c, "alloc-fixed") == 0 || strcmp(c, "memfd") == 0) && i + 1 < argc) {
                        if (region_map(arg_number(argv[++i]) << 20, c[0] == 'm' ? 'm' : 'f') < 0)
                                return 3;
                } else if (strcmp(c, "region") == 0 && i + 1 < argc && n_regions > 0) {
                        size_t r = n_regions - 1;
                        long rss, locked, thp;
                        if (smaps_of(regions[r].p, &rss, &locked, &thp) < 0)
                                return 3;
                        printf("%s resident=%zu rss=%ld locked=%ld thp=%ld minflt=%ld\n", argv[++i],
                               regions[r].resident * ((size_t) sysconf(_SC_PAGESIZE) >> 10), rss,
                               locked, thp, regions[r].minflt);
                } else if (strcmp(c, "alloc") == 0 && i + 1 < argc) {
                        if (region_map(arg_number(argv[++i]) << 20, 'a') < 0)
                                return 3;
                } else if (strcmp(c, "munlockall") == 0) {
                        if (munlockall() < 0)
                                return 3;
                } else if (strcmp(c, "touch") == 0) {
                        long ps = sysconf(_SC_PAGESIZE);
                        for (size_t r = 0; r < n_regions; r++)
                                for (size_t o = 0; o < regions[r].n; o += (size_t) ps)
                                        regions[r].p[o] = 1;
                } else if (strcmp(c, "status") == 0 && i + 1 < argc) {
                        if (status_print(argv[++i]) < 0)
                                return 3;
                } else if (strcmp(c, "fork") == 0) {
                        pid_t pid = fork();
                        int st;

                        if (pid < 0)
                                return 3;
                        if (pid == 0)
                                continue;
                        if (waitpid(pid, &st, 0) < 0)
                                return 3;
                        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                } else if (strcmp(c, "daemonize") == 0) {
                        pid_t pid = fork();

                        if (pid < 0)
                                return 3;
                        if (pid > 0)
                                _exit(0);
                        if (setsid() < 0)
                                _exit(3);
                        pid = fork();
                        if (pid < 0)
                                _exit(3);
                        if (pid > 0)
                                _exit(0);
                } else if (strcmp(c, "exec") == 0 && i + 1 < argc) {
                        execv(argv[i + 1], argv + i + 1);
                        fprintf(stderr, "shim-target: exec %s: %m\n", argv[i + 1]);
                        return 3;
                } else if (strcmp(c, "sleep") == 0 && i + 1 < argc) {
                        sleep((unsigned) arg_number(argv[++i]));
                } else if (strcmp(c, "fd") == 0 && i + 1 < argc) {
                        int fd = (int) arg_number(argv[++i]);
                        printf("fd%d=%s\n", fd, fcntl(fd, F_GETFD) >= 0 ? "open" : "closed");
                } else if (strcmp(c, "threads") == 0 && i + 1 < argc) {
                        unsigned long n = arg_number(argv[++i]);
                        for (unsigned long k = 0; k < n; k++) {
                                pthread_t t;
                                if (pthread_create(&t, NULL, sleeper, NULL) != 0 ||
                                    pthread_detach(t) != 0)
                                        return 3;
                        }
                } else if (strcmp(c, "env") == 0 && i + 1 < argc) {
                        const char *v = getenv(argv[++i]);
                        if (v)
                                printf("%s=%s\n", argv[i], v);
                        else
                                printf("%s unset\n", argv[i]);
                } else {
                        fprintf(stderr, "shim-target: unknown command '%s'\n", c);
                        return 2;
                }
        }
        return 0;
}
