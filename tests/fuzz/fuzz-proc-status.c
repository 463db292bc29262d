/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for proc_status_parse() (common/proc.c). */
#include <stddef.h>
#include <stdint.h>

#include "common/proc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        ProcStatus v;
        (void) proc_status_parse((const char *) data, size, &v);
        return 0;
}
