/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for proc_cgroup_unit_parse() (common/proc.c). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/proc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *unit = NULL;
        if (proc_cgroup_unit_parse((const char *) data, size, &unit) >= 0)
                free(unit);
        return 0;
}
