/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for state_parse() (daemon/state.c): the state file a restarted daemon reads. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "daemon/core/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        WorkloadTable t = {};
        uint64_t next_id;
        char *text;

        log_set_max_level(LOG_CRIT); /* malformed entries are logged; not interesting here */
        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        (void) state_parse(text, &next_id, &t);
        workload_table_clear(&t);
        free(text);
        return 0;
}
