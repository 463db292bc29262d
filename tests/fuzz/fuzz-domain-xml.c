/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for domain_facts_parse() (libvirt/domain-facts.c) and the sizing of what
 * it returns (policy/guest-limit.c): the domain XML reaches the root hook from any user who
 * may define domains. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "libvirt/domain-facts.h"
#include "policy/guest-limit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *reason = NULL;
        GuestFacts f;
        GuestLimit l;
        int r;

        r = domain_facts_parse((const char *) data, size, &f, &reason);
        if (r < 0 && !reason && r != -ENOMEM)
                abort(); /* every refusal names its reason */
        l = guest_limit(&f);
        /* The hotplug ceiling is never below the present need; hard_limit is taken as is. */
        if (l.limit_max < l.limit)
                abort();
        if (f.hard_limit > 0 && (l.limit != f.hard_limit || l.limit_max != f.hard_limit))
                abort();
        if (f.hard_limit == 0 && f.memory > 0 && l.limit < f.memory)
                abort();
        (void) guest_limit_libvirt(&f);
        return 0;
}
