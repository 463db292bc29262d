/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* shim-report [--closed-reader] SHIM PROGRAM [ARGS...]: runs PROGRAM with LD_PRELOAD=SHIM (none
 * if SHIM is "") and MEMLOCK_REPORT_FD=10, the write end of a pipe, then prints the decoded
 * ShimReport (common/shim-report.h) as "report.FIELD=VALUE" lines as soon as the pipe reaches
 * EOF, and finally "exit=N" (or "signal=N") for PROGRAM. "report.none" if nothing was written.
 * With --closed-reader the read end is closed before PROGRAM starts (writing raises SIGPIPE). */

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/shim-report.h"

#define REPORT_FD 10

static const char *mode_name(uint32_t m) {
        static const char *const names[] = { "on", "on-fault", "current" };
        return m < sizeof(names) / sizeof(names[0]) ? names[m] : "invalid";
}

int main(int argc, char *argv[]) {
        unsigned char buf[sizeof(ShimReport) + 64];
        size_t n = 0;
        bool closed_reader = false;
        int p[2], st;
        pid_t pid;

        if (argc > 1 && strcmp(argv[1], "--closed-reader") == 0) {
                closed_reader = true;
                argv++;
                argc--;
        }
        if (argc < 3) {
                fprintf(stderr, "usage: shim-report [--closed-reader] SHIM PROGRAM [ARGS...]\n");
                return 2;
        }
        setvbuf(stdout, NULL, _IOLBF, 0);
        /* Above REPORT_FD, so that dup2() below never hits one of them. */
        if (pipe2(p, O_CLOEXEC) < 0 || dup3(p[0], REPORT_FD + 1, O_CLOEXEC) < 0 ||
            dup3(p[1], REPORT_FD + 2, O_CLOEXEC) < 0)
                return 3;
        close(p[0]);
        close(p[1]);
        p[0] = REPORT_FD + 1;
        p[1] = REPORT_FD + 2;
        if (closed_reader)
                close(p[0]);
        pid = fork();
        if (pid < 0)
                return 3;
        if (pid == 0) {
                /* An inheritable copy of the write end, at a fixed number the tests know. */
                if (dup2(p[1], REPORT_FD) < 0)
                        _exit(3);
                setenv("MEMLOCK_REPORT_FD", "10", 1);
                if (argv[1][0])
                        setenv("LD_PRELOAD", argv[1], 1);
                execv(argv[2], argv + 2);
                _exit(3);
        }
        close(p[1]);
        if (closed_reader) {
                printf("report.none\n");
                goto wait;
        }
        for (;;) {
                ssize_t k = read(p[0], buf + n, sizeof(buf) - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                n += (size_t) k;
                if (n == sizeof(buf))
                        break;
        }
        close(p[0]);

        if (n == 0)
                printf("report.none\n");
        else {
                ShimReport r;

                printf("report.size=%zu\n", n);
                memcpy(&r, buf, n < sizeof(r) ? n : sizeof(r));
                if (n == sizeof(r)) {
                        printf("report.magic_ok=%d\n", le32toh(r.magic) == SHIM_REPORT_MAGIC);
                        printf("report.version=%u\n", le32toh(r.version));
                        printf("report.error=%d\n", (int32_t) le32toh((uint32_t) r.error));
                        printf("report.mode=%s\n", mode_name(le32toh(r.mode)));
                        printf("report.stage=%u\n", le32toh(r.stage));
                        printf("report.prefault_threads=%u\n", le32toh(r.prefault_threads));
                        printf("report.vm_lck_bytes=%llu\n",
                               (unsigned long long) le64toh(r.vm_lck_bytes));
                        printf("report.duration_usec=%llu\n",
                               (unsigned long long) le64toh(r.duration_usec));
                        printf("report.prefault_bytes=%llu\n",
                               (unsigned long long) le64toh(r.prefault_bytes));
                        printf("report.pid=%d\n", (int32_t) le32toh((uint32_t) r.pid));
                        printf("report.flags=%u\n", le32toh(r.flags));
                }
        }
wait:
        printf("child.pid=%d\n", (int) pid);
        if (waitpid(pid, &st, 0) < 0)
                return 3;
        if (WIFEXITED(st))
                printf("exit=%d\n", WEXITSTATUS(st));
        else
                printf("signal=%d\n", WTERMSIG(st));
        return 0;
}
