/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A hostile workload for test-containment.sh: it tries, as an admitted user would, to lock
 * more than its limit. Plain libc only: the test also builds it with `cc -static`.
 *   contain-hog attack MIB   in four children (each a separate attempt, oom_score_adj 1000 so
 *                            that the OOM killer takes them, not this process): mlock MIB;
 *                            fork and mlock MIB in the grandchild; double fork with setsid and
 *                            mlock MIB; shmget MIB + SHM_LOCK (+ touch it all if that
 *                            worked). Prints one line per
 *                            attempt ("attempt NAME pid=P result=ok|errno text|killed") and
 *                            "ready", holds whatever they got until stdin reaches EOF, then
 *                            kills them all and exits 0.
 *   contain-hog lock-when FILE MIB   waits until FILE exists, then mlock MIB; prints
 *                            "lock result=ok|..." and exits (0 on success).
 *   contain-hog ambient PROG [ARG...]   prctl(PR_CAP_AMBIENT_RAISE, CAP_IPC_LOCK), prints
 *                            "ambient-raise result=...", then execs PROG.
 *   contain-hog caps         prints "caps CapEff=X CapAmb=X".
 *   contain-hog shm-unlock ID   shmctl(ID, SHM_UNLOCK): prints "shm-unlock result=...". */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/select.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#endif
#define CAP_IPC_LOCK_NR 14

static void oom_first(void) {
        FILE *f = fopen("/proc/self/oom_score_adj", "w");
        if (f) {
                fputs("1000", f);
                fclose(f);
        }
}

static int lock_mib(size_t mib) {
        char *p = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                return errno;
        if (mlock(p, mib << 20) < 0)
                return errno;
        return 0;
}

/* SHM_LOCK a fresh segment of mib and, if that worked, fault it all in (locked). */
static int shm_lock_mib(size_t mib) {
        int id = shmget(IPC_PRIVATE, mib << 20, IPC_CREAT | 0600), r = 0;
        char *p;

        if (id < 0)
                return errno;
        /* Nothing here can be OOM-killed before IPC_RMID: nothing is attached or touched. */
        if (shmctl(id, SHM_LOCK, NULL) < 0)
                r = errno;
        (void) shmctl(id, IPC_RMID, NULL); /* gone with the last attachment (Linux attaches
                                            * a removed segment still) */
        if (r != 0)
                return r;
        /* Under the shim's mlockall(MCL_FUTURE) shmat() would fault the segment in at once
         * whatever SHM_LOCK said: drop that, so that SHM_LOCK is what locks it. */
        (void) munlockall();
        p = shmat(id, NULL, 0);
        if (p == (void *) -1)
                return errno;
        memset(p, 1, mib << 20);
        return 0;
}

/* Runs one attempt in a child that reports on fd and then holds until killed. */
static pid_t attempt(const char *name, size_t mib, int out) {
        pid_t pid = fork();
        if (pid != 0)
                return pid;

        oom_first();
        int r = 0;
        pid_t target = getpid();
        if (strcmp(name, "mlock") == 0)
                r = lock_mib(mib);
        else if (strcmp(name, "shm-lock") == 0)
                r = shm_lock_mib(mib);
        else {
                int p[2];
                if (pipe(p) < 0)
                        _exit(1);
                pid_t c = fork();
                if (c == 0) {
                        if (strcmp(name, "setsid-double-fork") == 0) {
                                setsid();
                                if (fork() != 0)
                                        _exit(0);
                        }
                        oom_first();
                        pid_t me = getpid();
                        int e = lock_mib(mib);
                        (void) !write(p[1], &me, sizeof(me));
                        (void) !write(p[1], &e, sizeof(e));
                        for (;;)
                                pause();
                }
                close(p[1]);
                if (read(p[0], &target, sizeof(target)) != sizeof(target) ||
                    read(p[0], &r, sizeof(r)) != sizeof(r)) {
                        dprintf(out, "attempt %s pid=0 result=killed\n", name);
                        _exit(0);
                }
        }
        dprintf(out, "attempt %s pid=%d result=%s\n", name, (int) target,
                r == 0 ? "ok" : strerror(r));
        for (;;)
                pause();
}

static int attack(size_t mib) {
        static const char *const names[] = { "mlock", "fork", "setsid-double-fork", "shm-lock" };
        pid_t pids[4];
        char line[256];
        int p[2];

        if (pipe(p) < 0)
                return 1;
        for (size_t i = 0; i < 4; i++) {
                pids[i] = attempt(names[i], mib, p[1]);
                /* One at a time: each line comes before the next attempt starts. */
                FILE *f = fdopen(dup(p[0]), "r");
                int status;
                pid_t done = 0;
                for (int t = 0; t < 300; t++) {
                        fd_set s;
                        struct timeval tv = { 0, 100000 };
                        FD_ZERO(&s);
                        FD_SET(p[0], &s);
                        if (select(p[0] + 1, &s, NULL, NULL, &tv) > 0)
                                break;
                        done = waitpid(pids[i], &status, WNOHANG);
                        if (done == pids[i])
                                break;
                }
                if (done == pids[i])
                        printf("attempt %s pid=%d result=killed\n", names[i], (int) pids[i]);
                else if (fgets(line, sizeof(line), f))
                        fputs(line, stdout);
                else
                        printf("attempt %s pid=%d result=no-answer\n", names[i], (int) pids[i]);
                fclose(f);
                fflush(stdout);
                /* Let the OOM killer finish with a victim before the next attempt charges
                 * anything, or the next attempt's own fork may be the one it takes. */
                usleep(300000);
        }
        printf("ready\n");
        fflush(stdout);
        while (fgets(line, sizeof(line), stdin))
                ;
        /* The double-forked one left our process group: kill everyone we heard of. */
        for (size_t i = 0; i < 4; i++)
                kill(pids[i], SIGKILL);
        kill(0, SIGKILL);
        return 0;
}

int main(int argc, char *argv[]) {
        if (argc >= 3 && strcmp(argv[1], "attack") == 0)
                return attack(strtoul(argv[2], NULL, 10));
        if (argc >= 4 && strcmp(argv[1], "lock-when") == 0) {
                struct stat st;
                while (stat(argv[2], &st) < 0)
                        usleep(20000);
                oom_first();
                int r = lock_mib(strtoul(argv[3], NULL, 10));
                printf("lock result=%s\n", r == 0 ? "ok" : strerror(r));
                fflush(stdout);
                return r == 0 ? 0 : 1;
        }
        if (argc >= 3 && strcmp(argv[1], "ambient") == 0) {
                int r = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_IPC_LOCK_NR, 0, 0);
                printf("ambient-raise result=%s\n", r == 0 ? "ok" : strerror(errno));
                fflush(stdout);
                execv(argv[2], argv + 2);
                printf("exec failed: %s\n", strerror(errno));
                return 1;
        }
        if (argc >= 2 && strcmp(argv[1], "caps") == 0) {
                char buf[8192], *e, *a;
                FILE *f = fopen("/proc/self/status", "r");
                size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
                if (f)
                        fclose(f);
                buf[n] = '\0';
                e = strstr(buf, "CapEff:");
                a = strstr(buf, "CapAmb:");
                printf("caps CapEff=%.16s CapAmb=%.16s\n", e ? e + 8 : "?", a ? a + 8 : "?");
                return 0;
        }
        if (argc >= 3 && strcmp(argv[1], "shm-unlock") == 0) {
                int r = shmctl(atoi(argv[2]), SHM_UNLOCK, NULL);
                printf("shm-unlock result=%s\n", r == 0 ? "ok" : strerror(errno));
                return 0;
        }
        fprintf(stderr, "usage: contain-hog attack MIB | lock-when FILE MIB | ambient PROG... | "
                        "caps | shm-unlock ID\n");
        return 2;
}
