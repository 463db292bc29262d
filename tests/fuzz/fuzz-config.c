/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for the mlockd.conf parser (policy/config.c, policy/ini.c). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "policy/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        PolicyDiagnostics diags = {};
        DaemonConfig c;

        if (daemon_config_init(&c, 16ULL << 30) < 0) {
                daemon_config_done(&c);
                return 0;
        }
        if (daemon_config_parse("fuzz.conf", (const char *) data, size, 16ULL << 30, &c, &diags) >=
            0)
                free(daemon_config_summary(&c));
        policy_diagnostics_clear(&diags);
        daemon_config_done(&c);
        return 0;
}
