/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A workload for bench/containment.sh: maps N MiB and writes one byte per page, then exits.
 * Run under the shim with Mode=on (mlockall MCL_CURRENT|MCL_FUTURE) every page it touches is
 * locked, and, contained, charged to its memory cgroup: its run time is the lock throughput.
 *
 *   touch-locked MIB */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char *argv[]) {
        size_t mib, len, page = (size_t) sysconf(_SC_PAGESIZE);
        volatile char *p;

        if (argc != 2) {
                fprintf(stderr, "usage: touch-locked MIB\n");
                return 2;
        }
        mib = strtoul(argv[1], NULL, 10);
        len = mib << 20;
        p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
                perror("mmap");
                return 1;
        }
        for (size_t i = 0; i < len; i += page)
                p[i] = 1;
        return 0;
}
