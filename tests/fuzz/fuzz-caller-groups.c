/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for caller_groups_parse() (daemon/caller.c): the Groups: line of
 * /proc/PID/status. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "daemon/core/caller.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        gid_t *groups = NULL;
        size_t n = 0;

        if (caller_groups_parse((const char *) data, size, &groups, &n) >= 0)
                free(groups);
        return 0;
}
