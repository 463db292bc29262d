/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A program for the shim tests to preload libmemlock-shim.so into. It runs its arguments as
 * commands, in order:
 *   alloc N      map N MiB of private anonymous memory (untouched)
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
} regions[REGIONS_MAX];
static size_t n_regions;

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

                if (strcmp(c, "alloc") == 0 && i + 1 < argc) {
                        size_t n = arg_number(argv[++i]) << 20;
                        void *p;

                        if (n_regions >= REGIONS_MAX) {
                                fprintf(stderr, "shim-target: too many regions\n");
                                return 2;
                        }
                        p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                                 0);
                        if (p == MAP_FAILED) {
                                fprintf(stderr, "shim-target: mmap %zu: %m\n", n);
                                return 3;
                        }
                        regions[n_regions].p = p;
                        regions[n_regions++].n = n;
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
