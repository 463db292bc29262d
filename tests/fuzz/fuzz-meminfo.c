/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for meminfo_parse() (common/proc.c). */
#include <stddef.h>
#include <stdint.h>

#include "common/proc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        MemInfo v;
        (void) meminfo_parse((const char *) data, size, &v);
        return 0;
}
