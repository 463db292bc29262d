/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "common/macro.h"
#include "common/string-table.h"
#include "policy/guest-limit.h"

static const char *const guest_limit_source_table[_GUEST_LIMIT_SOURCE_MAX] = {
        [GUEST_LIMIT_NONE] = "none",
        [GUEST_LIMIT_HARD_LIMIT] = "hard_limit",
        [GUEST_LIMIT_FORMULA] = "formula",
};
DEFINE_STRING_TABLE_TO_STRING(guest_limit_source, GuestLimitSource);

static uint64_t add_sat(uint64_t a, uint64_t b) {
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t mul_sat(uint64_t a, uint64_t b) {
        return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

unsigned guest_limit_dma_factor(const GuestFacts *f) {
        unsigned vfio = MIN(f->n_vfio, GUEST_DEVICES_MAX);
        unsigned factor = MIN(f->n_nvme, GUEST_DEVICES_MAX) + MIN(f->n_vdpa, GUEST_DEVICES_MAX);

        /* VFIO type1 pins guest RAM once per container: all devices share one address space
         * (the guest's physical one) unless a vIOMMU gives each device its own. NVMe (QEMU's
         * userspace driver) and vhost-vdpa pin on their own, each once. */
        if (vfio > 0)
                factor += f->viommu ? vfio : 1;
        return factor;
}

static uint64_t formula(const GuestFacts *f, uint64_t memory) {
        unsigned factor = guest_limit_dma_factor(f);
        /* mlockall() locks all of guest RAM and QEMU's own mappings ... */
        uint64_t v = add_sat(memory, GUEST_OVERHEAD);

        /* ... and mm->locked_vm counts DMA-pinned pages again, even those already mlocked. */
        if (factor > 0)
                v = add_sat(v, add_sat(mul_sat(factor, memory), GUEST_VFIO_EXTRA));
        return v;
}

GuestLimit guest_limit(const GuestFacts *f) {
        uint64_t max_memory;

        if (f->hard_limit > 0)
                return (GuestLimit){ .limit = f->hard_limit,
                                     .limit_max = f->hard_limit,
                                     .source = GUEST_LIMIT_HARD_LIMIT };
        if (f->memory == 0)
                return (GuestLimit){ .source = GUEST_LIMIT_NONE };

        /* Hot-added DIMMs count once hotplug is configured (slots); <memory> already includes
         * the DIMMs present, so the ceiling is never below it. */
        max_memory = f->max_memory_slots > 0 ? MAX(f->max_memory, f->memory) : f->memory;
        return (GuestLimit){ .limit = formula(f, f->memory),
                             .limit_max = formula(f, max_memory),
                             .source = GUEST_LIMIT_FORMULA };
}

uint64_t guest_limit_libvirt(const GuestFacts *f) {
        unsigned factor;

        if (f->hard_limit > 0)
                return f->hard_limit;
        if (f->locked)
                return UINT64_MAX;
        factor = guest_limit_dma_factor(f);
        if (factor == 0)
                return 0;
        return add_sat(mul_sat(factor, f->memory), GUEST_VFIO_EXTRA);
}
