/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Sizing of QEMU guests: domain facts in, the memlock limit they need out (docs/libvirt.md). */

#include <stdbool.h>
#include <stdint.h>

/* QEMU's own mappings that mlockall() locks besides guest RAM: code, heap, ROMs, video memory,
 * vCPU thread stacks. Measured on QEMU 7.2: a 256M and a 4G guest with no devices lock 220M
 * beyond their memory; the rest is room for devices and more vCPUs. (TCG's translation cache
 * is extra: give TCG guests tb-size=64.) */
#define GUEST_OVERHEAD (UINT64_C(512) << 20)
/* libvirt's allowance for the MMIO regions and emulated-device buffers that VFIO maps
 * (qemuDomainGetMemLockLimitBytes: "1GiB ... reserved for the MMIO region"). */
#define GUEST_VFIO_EXTRA (UINT64_C(1) << 30)
/* Counts above this are treated as this (no real domain comes near; keeps products finite). */
#define GUEST_DEVICES_MAX 4096U

/* What the domain XML says about memory and the devices that pin it. Sizes in bytes, 0 when
 * absent or unknown. */
typedef struct GuestFacts {
        uint64_t memory; /* <memory>: the total, memory devices included */
        uint64_t max_memory; /* <maxMemory>: the hotplug ceiling */
        unsigned max_memory_slots; /* <maxMemory slots=>: memory hotplug is configured if > 0 */
        uint64_t hard_limit; /* <memtune><hard_limit> */
        unsigned n_vfio; /* VFIO hostdevs: <hostdev type='pci'> (vfio backend), mdev, and
                          * <interface type='hostdev'> */
        unsigned n_nvme; /* <disk type='nvme'>: QEMU's userspace NVMe driver pins via VFIO */
        unsigned n_vdpa; /* <interface type='vdpa'>: vhost-vdpa pins guest RAM */
        bool viommu; /* <iommu>: each VFIO device gets its own address space */
        bool locked; /* <memoryBacking><locked/> */
} GuestFacts;

typedef enum GuestLimitSource {
        GUEST_LIMIT_NONE, /* nothing known: no memory, no hard_limit */
        GUEST_LIMIT_HARD_LIMIT, /* the admin's <hard_limit> */
        GUEST_LIMIT_FORMULA, /* the formula of docs/libvirt.md */
        _GUEST_LIMIT_SOURCE_MAX,
        _GUEST_LIMIT_SOURCE_INVALID = -1,
} GuestLimitSource;
const char *guest_limit_source_to_string(GuestLimitSource s);

typedef struct GuestLimit {
        /* What mm->locked_vm (VmLck) reaches with the guest's present memory: the reservation. */
        uint64_t limit;
        /* The same with memory grown to <maxMemory> when memory hotplug is configured (else equal
         * to limit): what RLIMIT_MEMLOCK must allow so a hot-added DIMM can be locked before
         * anyone hears of it. */
        uint64_t limit_max;
        GuestLimitSource source;
} GuestLimit;

/* Our rule: hard_limit wins; otherwise the mlock term (memory + GUEST_OVERHEAD) plus libvirt's
 * VFIO term (factor x memory + GUEST_VFIO_EXTRA, factor = nvme + vdpa + (vfio: 1, or the number
 * of VFIO devices with a vIOMMU)), for memory and for maxMemory. <locked/> changes nothing.
 * Saturates at UINT64_MAX. The caller caps both by the policy's Limit=. */
GuestLimit guest_limit(const GuestFacts *f);

/* libvirt's own rule (qemuDomainGetMemLockLimitBytes, x86): hard_limit wins; <locked/> gives
 * UINT64_MAX (unlimited); VFIO/NVMe/vDPA give factor x memory + 1 GiB; otherwise 0 (libvirt sets
 * no limit). For comparison in tests and docs. */
uint64_t guest_limit_libvirt(const GuestFacts *f);

/* The factor above: how many times guest RAM is pinned for DMA. */
unsigned guest_limit_dma_factor(const GuestFacts *f);
