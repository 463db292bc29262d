/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for proc_limits_parse() (common/proc.c). */
#include <stddef.h>
#include <stdint.h>

#include "common/proc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        ProcLimits v;
        (void) proc_limits_parse((const char *) data, size, &v);
        return 0;
}
