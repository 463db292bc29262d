/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for the cgroupfs parsers of daemon/cgroup-util.c: cgroup_path_parse() for
 * the v1 memory line and the unified line of /proc/PID/cgroup, cgroup_path_is_managed() on
 * what it returns, and cgroup_keyed_get() (memory.stat, memory.events, memory.oom_control). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "daemon/containment/cgroup-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const controllers[] = { "memory", "name=systemd", NULL };
        static const char *const keys[] = { "unevictable", "total_unevictable", "oom_kill", "max" };
        const char *buf = (const char *) data;
        uint64_t v;

        for (size_t i = 0; i < 3; i++) {
                char *path = NULL, *owner = NULL;

                if (cgroup_path_parse(buf, size, controllers[i], &path) < 0)
                        continue;
                if (cgroup_path_is_managed(path, &owner) > 0)
                        free(owner);
                free(path);
        }
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
                (void) cgroup_keyed_get(buf, size, keys[i], &v);
        return 0;
}
