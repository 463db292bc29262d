/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for parse_size() and format_bytes() (common/parse-util.c). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);
        uint64_t v;
        const char *reason;

        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        if (parse_size(s, 1ULL << 34, &v, &reason) >= 0) {
                char buf[FORMAT_BYTES_MAX];
                format_bytes(buf, sizeof(buf), v);
        }
        (void) parse_uint64(s, &v);
        free(s);
        return 0;
}
