/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for spawn_message_parse() (daemon/helpers/spawn.c): what the launch child,
 * which runs as the caller, sends the daemon. */
#include <stddef.h>
#include <stdint.h>

#include "daemon/helpers/spawn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        SpawnMessage m = { .kind = _EXEC_KIND_INVALID };

        if (spawn_message_parse(data, size, &m) >= 0)
                spawn_message_done(&m);
        return 0;
}
