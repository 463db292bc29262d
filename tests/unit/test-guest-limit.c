/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for policy/guest-limit.c and libvirt/domain-facts.c: libvirt's own memlock rule
 * reproduced on its x86 test cases (tests/qemumemlocktest.c in libvirt, expected values from
 * there), and our limit, which adds the mlock term on top; XML units, overflow, hostile XML. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/macro.h"
#include "libvirt/domain-facts.h"
#include "policy/guest-limit.h"

#define K UINT64_C(1024)
#define M (K * K)
#define G (K * M)
#define UNLIMITED UINT64_MAX

/* The facts of libvirt's tests/qemumemlockdata/qemumemlock-pc-*.xml: a 1 GiB x86 guest, with
 * <memtune><hard_limit> 2 GiB, <memoryBacking><locked/>, a VFIO hostdev, an NVMe disk. */
#define XML_HEAD                                                                                   \
        "<domain type='kvm'>\n  <name>guest</name>\n  <memory unit='KiB'>1048576</memory>\n"
#define XML_HARD "  <memtune>\n    <hard_limit unit='KiB'>2097152</hard_limit>\n  </memtune>\n"
#define XML_LOCKED "  <memoryBacking>\n    <locked/>\n  </memoryBacking>\n"
#define XML_OS                                                                                     \
        "  <vcpu placement='static'>1</vcpu>\n  <os>\n    <type arch='x86_64' "                    \
        "machine='pc'>hvm</type>\n  </os>\n  <devices>\n"                                          \
        "    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
#define XML_HOSTDEV                                                                                \
        "    <hostdev mode='subsystem' type='pci' managed='yes'>\n      <driver name='vfio'/>\n"   \
        "      <source>\n        <address domain='0x0001' bus='0x01' slot='0x00' "                 \
        "function='0x0'/>\n      </source>\n    </hostdev>\n"
#define XML_NVME                                                                                   \
        "    <disk type='nvme' device='disk'>\n      <driver name='qemu' type='raw'/>\n"           \
        "      <source type='pci' managed='yes' namespace='1'>\n        <address "                 \
        "domain='0x0003' bus='0x02' slot='0x00' function='0x0'/>\n      </source>\n"               \
        "      <target dev='vda' bus='virtio'/>\n    </disk>\n"
#define XML_TAIL "  </devices>\n</domain>\n"

static const struct {
        const char *name;
        const char *xml;
        uint64_t libvirt; /* qemumemlocktest.c's expected value for x86 */
        uint64_t ours;
} cases[] = {
        /* No device pins memory: libvirt sets no limit (0); we lock memory + overhead. */
        { "pc-kvm", XML_HEAD XML_OS XML_TAIL, 0, 1 * G + 512 * M },
        { "pc-tcg",
          "<domain type='qemu'><name>guest</name><memory unit='KiB'>1048576</memory>"
          "<os><type arch='x86_64' machine='pc'>hvm</type></os></domain>",
          0, 1 * G + 512 * M },
        /* The admin's hard_limit wins, in both rules. */
        { "pc-hardlimit", XML_HEAD XML_HARD XML_OS XML_TAIL, 2147483648, 2 * G },
        /* <locked/>: libvirt gives up (unlimited); we size as without it. */
        { "pc-locked", XML_HEAD XML_LOCKED XML_OS XML_TAIL, UNLIMITED, 1 * G + 512 * M },
        /* VFIO: 1 x memory + 1 GiB, plus our mlock term (memory + 512M). */
        { "pc-hostdev", XML_HEAD XML_OS XML_HOSTDEV XML_TAIL, 2147483648,
          (1 * G + 512 * M) + (1 * G + 1 * G) },
        /* NVMe and VFIO: factor 2. */
        { "pc-hostdev-nvme", XML_HEAD XML_OS XML_NVME XML_HOSTDEV XML_TAIL, 3221225472,
          (1 * G + 512 * M) + (2 * G + 1 * G) },
        { "pc-hardlimit+locked", XML_HEAD XML_HARD XML_LOCKED XML_OS XML_TAIL, 2147483648, 2 * G },
        { "pc-hardlimit+hostdev", XML_HEAD XML_HARD XML_OS XML_HOSTDEV XML_TAIL, 2147483648,
          2 * G },
        { "pc-hardlimit+locked+hostdev", XML_HEAD XML_HARD XML_LOCKED XML_OS XML_HOSTDEV XML_TAIL,
          2147483648, 2 * G },
        { "pc-locked+hostdev", XML_HEAD XML_LOCKED XML_OS XML_HOSTDEV XML_TAIL, UNLIMITED,
          (1 * G + 512 * M) + (1 * G + 1 * G) },
};

static void test_libvirt_cases(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const char *reason = NULL;
                GuestFacts f;
                GuestLimit l;
                int r;

                r = domain_facts_parse(cases[i].xml, strlen(cases[i].xml), &f, &reason);
                if (r < 0)
                        fail_msg("%s: %s", cases[i].name, strna(reason));
                l = guest_limit(&f);
                printf("%-30s libvirt %20" PRIu64 "  ours %12" PRIu64 "\n", cases[i].name,
                       guest_limit_libvirt(&f), l.limit);
                if (guest_limit_libvirt(&f) != cases[i].libvirt)
                        fail_msg("%s: libvirt's rule gives %" PRIu64 ", its test expects %" PRIu64,
                                 cases[i].name, guest_limit_libvirt(&f), cases[i].libvirt);
                if (l.limit != cases[i].ours || l.limit_max != cases[i].ours)
                        fail_msg("%s: ours %" PRIu64 "/%" PRIu64 ", expected %" PRIu64,
                                 cases[i].name, l.limit, l.limit_max, cases[i].ours);
        }
}

static void test_viommu_and_hotplug(void **state) {
        static const char xml[] =
                "<domain><memory unit='GiB'>16</memory><maxMemory slots='4' unit='GiB'>64"
                "</maxMemory><devices>"
                "<hostdev mode='subsystem' type='pci'><driver name='vfio'/></hostdev>"
                "<hostdev type='pci'/>" /* mode defaults to subsystem, backend to vfio */
                "<hostdev mode='subsystem' type='pci'><driver name='kvm'/></hostdev>"
                "<hostdev mode='subsystem' type='mdev'/>"
                "<hostdev mode='capabilities' type='storage'/>"
                "<interface type='hostdev'/><interface type='network'/>"
                "<interface type='vdpa'/><disk type='file'/><disk type='nvme'/>"
                "<iommu model='intel'/></devices></domain>";
        GuestFacts f;
        GuestLimit l;

        assert_int_equal(domain_facts_parse(xml, strlen(xml), &f, NULL), 0);
        assert_int_equal(f.memory, 16 * G);
        assert_int_equal(f.max_memory, 64 * G);
        assert_int_equal(f.max_memory_slots, 4);
        assert_int_equal(f.n_vfio, 4); /* 2 pci vfio, mdev, interface hostdev; not kvm */
        assert_int_equal(f.n_vdpa, 1);
        assert_int_equal(f.n_nvme, 1);
        assert_true(f.viommu);
        assert_false(f.locked);

        /* With a vIOMMU every VFIO device has its own address space: factor 4 + 1 + 1. */
        assert_int_equal(guest_limit_dma_factor(&f), 6);
        l = guest_limit(&f);
        assert_int_equal(l.source, GUEST_LIMIT_FORMULA);
        assert_int_equal(l.limit, (16 * G + 512 * M) + (6 * 16 * G + 1 * G));
        assert_int_equal(l.limit_max, (64 * G + 512 * M) + (6 * 64 * G + 1 * G));
        assert_int_equal(guest_limit_libvirt(&f), 6 * 16 * G + 1 * G);

        /* Without the vIOMMU, one shared address space: factor 1 + 1 + 1. */
        f.viommu = false;
        assert_int_equal(guest_limit_dma_factor(&f), 3);
        /* maxMemory without slots is no hotplug. */
        f.max_memory_slots = 0;
        l = guest_limit(&f);
        assert_int_equal(l.limit, l.limit_max);
}

static void test_units(void **state) {
        static const struct {
                const char *v, *unit;
                int r;
                uint64_t bytes;
        } t[] = {
                { "1", NULL, 0, 1024 },
                { "1", "", 0, 1024 },
                { "1", "b", 0, 1 },
                { "1", "bytes", 0, 1 },
                { "1", "BYTE", 0, 1 },
                { "1", "k", 0, 1024 },
                { "1", "KiB", 0, 1024 },
                { "1", "KB", 0, 1000 },
                { "1", "kb", 0, 1000 },
                { "3", "M", 0, 3 * M },
                { "3", "MiB", 0, 3 * M },
                { "3", "MB", 0, 3000000 },
                { "2", "G", 0, 2 * G },
                { "2", "GB", 0, 2000000000 },
                { "1", "TiB", 0, K * G },
                { "1", "PiB", 0, K * K * G },
                { "15", "EiB", 0, 15 * K * K * K * G },
                { "16", "EiB", -ERANGE, 0 },
                { "18446744073709551615", "b", 0, UINT64_MAX },
                { "18446744073709551616", "b", -ERANGE, 0 },
                { "18014398509481984", "KiB", -ERANGE, 0 },
                { " 42\n", "b", 0, 42 },
                { "", NULL, -EINVAL, 0 },
                { "-1", NULL, -EINVAL, 0 },
                { "+1", NULL, -EINVAL, 0 },
                { "1.5", "G", -EINVAL, 0 },
                { "0x10", NULL, -EINVAL, 0 },
                { "1 2", NULL, -EINVAL, 0 },
                { "1", "Q", -EINVAL, 0 },
                { "1", "GiBB", -EINVAL, 0 },
                { "1", "bits", -EINVAL, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                uint64_t v = 0;
                int r = domain_facts_parse_scaled(t[i].v, t[i].unit, &v);
                if (r != t[i].r || (r == 0 && v != t[i].bytes))
                        fail_msg("'%s' '%s': %d %" PRIu64, t[i].v, strna(t[i].unit), r, v);
        }
}

static void test_bad_xml(void **state) {
        static const struct {
                const char *xml;
                int r;
        } t[] = {
                { "", -EBADMSG },
                { "<domain>", -EBADMSG },
                { "<vm><memory>1</memory></vm>", -EBADMSG },
                { "<!DOCTYPE domain [<!ENTITY a 'x'>]><domain/>", -EBADMSG },
                { "<domain><memory unit='parsec'>1</memory></domain>", -EINVAL },
                { "<domain><memory/></domain>", -EINVAL },
                { "<domain><memory unit='EiB'>16</memory></domain>", -ERANGE },
                { "<domain><maxMemory slots='x' unit='GiB'>4</maxMemory></domain>", -EINVAL },
                { "<domain><memtune><hard_limit>lots</hard_limit></memtune></domain>", -EINVAL },
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                const char *reason = NULL;
                GuestFacts f;
                int r = domain_facts_parse(t[i].xml, strlen(t[i].xml), &f, &reason);
                if (r != t[i].r || !reason)
                        fail_msg("'%s': %d (%s)", t[i].xml, r, strna(reason));
        }
}

static void test_absent_and_odd(void **state) {
        static const char unlimited[] = "<domain><memory>1048576</memory><memtune><hard_limit "
                                        "unit='KiB'>9007199254740991</hard_limit></memtune>"
                                        "<memoryBacking/></domain>";
        static const char nested[] = "<domain><devices><memory model='dimm'><target><size "
                                     "unit='GiB'>8</size></target></memory></devices>"
                                     "<foo><memory>99</memory></foo></domain>";
        GuestFacts f;
        GuestLimit l;

        /* No <memory> at all: nothing to size by. */
        assert_int_equal(domain_facts_parse("<domain/>", 9, &f, NULL), 0);
        l = guest_limit(&f);
        assert_int_equal(l.source, GUEST_LIMIT_NONE);
        assert_int_equal(l.limit, 0);

        /* libvirt's "unlimited" hard_limit is no hard limit. */
        assert_int_equal(domain_facts_parse(unlimited, strlen(unlimited), &f, NULL), 0);
        assert_int_equal(f.hard_limit, 0);
        assert_false(f.locked);
        assert_int_equal(guest_limit(&f).limit, G + 512 * M);

        /* Only <domain>'s own <memory> is the guest's memory. */
        assert_int_equal(domain_facts_parse(nested, strlen(nested), &f, NULL), 0);
        assert_int_equal(f.memory, 0);

        /* Saturation instead of overflow. */
        f = (GuestFacts){ .memory = UINT64_MAX / 2, .n_vfio = 3, .viommu = true };
        assert_int_equal(guest_limit(&f).limit, UINT64_MAX);
        f = (GuestFacts){ .memory = G,
                          .n_vfio = UINT32_MAX,
                          .n_nvme = UINT32_MAX,
                          .n_vdpa = UINT32_MAX,
                          .viommu = true };
        assert_int_equal(guest_limit_dma_factor(&f), 3 * GUEST_DEVICES_MAX);
}

static void test_size_cap(void **state) {
        char *big = malloc(DOMAIN_XML_SIZE_MAX + 2);
        const char *reason = NULL;
        GuestFacts f;

        assert_non_null(big);
        memset(big, ' ', DOMAIN_XML_SIZE_MAX + 1);
        assert_int_equal(domain_facts_parse(big, DOMAIN_XML_SIZE_MAX + 1, &f, &reason), -E2BIG);
        assert_non_null(reason);
        free(big);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_libvirt_cases),  cmocka_unit_test(test_viommu_and_hotplug),
                cmocka_unit_test(test_units),          cmocka_unit_test(test_bad_xml),
                cmocka_unit_test(test_absent_and_odd), cmocka_unit_test(test_size_cap),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
