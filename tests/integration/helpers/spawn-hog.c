/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A workload for the spawn tests: maps and touches N MiB, prints one line
 *   "hog pid=P uid=U VmLck=K CapEff=X CapAmb=X" (kB, hex) from /proc/self/status,
 * then waits until stdin reaches EOF (or S seconds with a second argument) and exits 0.
 * Plain libc only: test-spawn.sh also builds it with `cc -static`, to be locked by injection at
 * the exec stop, since a static program cannot get the LD_PRELOAD shim. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void field(const char *status, const char *name, char *out, size_t size) {
        const char *p = strstr(status, name);
        size_t n = 0;

        out[0] = '\0';
        if (!p)
                return;
        p += strlen(name);
        while (*p == ' ' || *p == '\t')
                p++;
        while (p[n] && p[n] != '\n' && p[n] != ' ' && n + 1 < size)
                n++;
        memcpy(out, p, n);
        out[n] = '\0';
}

int main(int argc, char *argv[]) {
        char status[8192], lck[32], eff[32], amb[32];
        size_t mib, n;
        FILE *f;
        char *p;

        if (argc < 2) {
                fprintf(stderr, "usage: spawn-hog MIB [SECONDS]\n");
                return 2;
        }
        mib = strtoul(argv[1], NULL, 10);
        p = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
                perror("mmap");
                return 1;
        }
        for (size_t i = 0; i < mib << 20; i += 4096)
                p[i] = 1;

        f = fopen("/proc/self/status", "re");
        if (!f) {
                perror("/proc/self/status");
                return 1;
        }
        n = fread(status, 1, sizeof(status) - 1, f);
        status[n] = '\0';
        fclose(f);
        field(status, "VmLck:", lck, sizeof(lck));
        field(status, "CapEff:", eff, sizeof(eff));
        field(status, "CapAmb:", amb, sizeof(amb));
        printf("hog pid=%d uid=%u VmLck=%s CapEff=%s CapAmb=%s\n", (int) getpid(),
               (unsigned) getuid(), lck, eff, amb);
        fflush(stdout);

        if (argc > 2)
                sleep((unsigned) strtoul(argv[2], NULL, 10));
        else {
                char buf[256];
                while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
                        ;
        }
        return 0;
}
