/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for common/proc.c: the pure /proc parsers on crafted input, and the readers on
 * this very process. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/macro.h"
#include "common/proc.h"

#define PARSE(fn, s, ret) fn((s), strlen(s), (ret))

static const char status_ok[] = "Name:\tqemu-system-x86\n"
                                "Umask:\t0022\n"
                                "State:\tS (sleeping)\n"
                                "Uid:\t64055\t64055\t64055\t64055\n"
                                "Gid:\t108\t108\t108\t108\n"
                                "VmSize:\t 4194304 kB\n"
                                "VmLck:\t  524288 kB\n"
                                "VmPin:\t       0 kB\n"
                                "VmRSS:\t  530000 kB\n"
                                "VmSwap:\t       0 kB\n"
                                "Threads:\t7\n"
                                "CapPrm:\t0000000000004000\n"
                                "CapEff:\t0000000000004000\n"
                                "CapAmb:\t0000000000000000\n"
                                "NoNewPrivs:\t1\n";

static void test_status_parse(void **state) {
        ProcStatus s;

        assert_int_equal(PARSE(proc_status_parse, status_ok, &s), 0);
        assert_string_equal(s.name, "qemu-system-x86");
        assert_int_equal(s.uid_real, 64055);
        assert_int_equal(s.uid_effective, 64055);
        assert_int_equal(s.gid_fs, 108);
        assert_int_equal(s.vm_size, 4194304ULL * 1024);
        assert_int_equal(s.vm_lck, 524288ULL * 1024);
        assert_int_equal(s.vm_pin, 0);
        assert_int_equal(s.vm_rss, 530000ULL * 1024);
        assert_int_equal(s.threads, 7);
        assert_int_equal(s.cap_eff, 1ULL << 14); /* CAP_IPC_LOCK */
        assert_int_equal(s.cap_amb, 0);
        assert_int_equal(s.no_new_privs, 1);
}

static void test_status_missing_and_malformed(void **state) {
        ProcStatus s;

        /* A zombie or kernel thread has no Vm* lines: they stay unset. */
        assert_int_equal(PARSE(proc_status_parse,
                               "Name:\tkthreadd\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n", &s),
                         0);
        assert_true(s.vm_lck == PROC_UNSET);
        assert_int_equal(s.no_new_privs, -1);

        assert_int_equal(proc_status_parse("", 0, &s), -EBADMSG);
        /* Missing Uid/Gid entirely. */
        assert_int_equal(PARSE(proc_status_parse, "Name:\tx\nVmLck:\t0 kB\n", &s), -EBADMSG);
        /* Truncated in the middle of the Uid line. */
        assert_int_equal(PARSE(proc_status_parse, "Name:\tx\nUid:\t0\t0", &s), -EINVAL);
        /* A number past 2^64. */
        assert_int_equal(
                PARSE(proc_status_parse,
                      "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nVmLck:\t99999999999999999999 kB\n", &s),
                -EINVAL);
        /* Fits in 64 bits as kB but not as bytes. */
        assert_int_equal(PARSE(proc_status_parse,
                               "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nVmLck:\t18446744073709551 kB\n",
                               &s),
                         -EINVAL);
        /* Missing unit. */
        assert_int_equal(
                PARSE(proc_status_parse, "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nVmLck:\t12\n", &s),
                -EINVAL);
        assert_int_equal(
                PARSE(proc_status_parse, "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nCapEff:\tzz\n", &s),
                -EINVAL);
        assert_int_equal(PARSE(proc_status_parse,
                               "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nNoNewPrivs:\t2\n", &s),
                         -EINVAL);
        /* uid past 2^32. */
        assert_int_equal(
                PARSE(proc_status_parse, "Uid:\t4294967296\t0\t0\t0\nGid:\t0\t0\t0\t0\n", &s),
                -EINVAL);
}

static void test_stat_parse(void **state) {
        ProcStat st;

        assert_int_equal(PARSE(proc_stat_parse,
                               "1234 (qemu-system-x86) S 1 1234 1234 0 -1 4194560 500 0 7 0 10 5 0 "
                               "0 20 0 3 0 987654 0 0\n",
                               &st),
                         0);
        assert_string_equal(st.comm, "qemu-system-x86");
        assert_int_equal(st.state, 'S');
        assert_int_equal(st.ppid, 1);
        assert_int_equal(st.minflt, 500);
        assert_int_equal(st.majflt, 7);
        assert_int_equal(st.starttime, 987654);

        /* comm may contain spaces, parentheses and ") (": the last ')' ends it. */
        assert_int_equal(
                PARSE(proc_stat_parse,
                      "42 (a) (b) S c) R 7 42 42 0 -1 0 11 0 13 0 0 0 0 0 20 0 1 0 555 0 0", &st),
                0);
        assert_string_equal(st.comm, "a) (b) S c");
        assert_int_equal(st.state, 'R');
        assert_int_equal(st.ppid, 7);
        assert_int_equal(st.minflt, 11);
        assert_int_equal(st.majflt, 13);
        assert_int_equal(st.starttime, 555);
}

static void test_stat_malformed(void **state) {
        ProcStat st;

        assert_int_equal(proc_stat_parse("", 0, &st), -EBADMSG);
        assert_int_equal(PARSE(proc_stat_parse, "1 (x", &st), -EBADMSG);
        assert_int_equal(PARSE(proc_stat_parse, "1 (x) S 1 1 1", &st), -EBADMSG);
        assert_int_equal(PARSE(proc_stat_parse, "1 x S 1", &st), -EBADMSG);
        assert_int_equal(
                PARSE(proc_stat_parse,
                      "1 (x) S 1 1 1 0 -1 0 99999999999999999999 0 0 0 0 0 0 0 20 0 1 0 5 0 0",
                      &st),
                -EINVAL);
        assert_int_equal(
                PARSE(proc_stat_parse, "1 (x) SS 1 1 1 0 -1 0 1 0 0 0 0 0 0 0 20 0 1 0 5", &st),
                -EINVAL);
        /* A truncated line that ends right before starttime. */
        assert_int_equal(
                PARSE(proc_stat_parse, "1 (x) S 1 1 1 0 -1 0 1 0 0 0 0 0 0 0 20 0 1 0\n", &st),
                -EBADMSG);
}

static void test_meminfo(void **state) {
        MemInfo m;

        assert_int_equal(
                PARSE(meminfo_parse,
                      "MemTotal:       24576000 kB\nMemFree: 1 kB\nMemAvailable:   20000000 kB\n"
                      "Unevictable:        1024 kB\nMlocked:             512 kB\n"
                      "SwapTotal:             0 kB\nSwapFree: 0 kB\nHugePages_Total: 0\n",
                      &m),
                0);
        assert_int_equal(m.mem_total, 24576000ULL * 1024);
        assert_int_equal(m.mlocked, 512ULL * 1024);
        assert_int_equal(m.unevictable, 1024ULL * 1024);
        assert_int_equal(m.swap_total, 0);

        assert_int_equal(meminfo_parse("", 0, &m), -EBADMSG);
        assert_int_equal(PARSE(meminfo_parse, "MemFree: 1 kB\n", &m), -EINVAL);
        assert_int_equal(PARSE(meminfo_parse, "MemTotal: 184467440737095516160 kB\n", &m), -EINVAL);
        assert_int_equal(PARSE(meminfo_parse, "MemTotal: 12", &m), -EINVAL);
}

static void test_limits(void **state) {
        ProcLimits l;

        assert_int_equal(PARSE(proc_limits_parse,
                               "Limit                     Soft Limit           Hard Limit          "
                               " Units     \n"
                               "Max locked memory         8388608              8388608             "
                               " bytes     \n",
                               &l),
                         0);
        assert_int_equal(l.memlock_soft, 8388608);
        assert_int_equal(l.memlock_hard, 8388608);
        assert_int_equal(
                PARSE(proc_limits_parse, "Max locked memory unlimited  unlimited  bytes\n", &l), 0);
        assert_true(l.memlock_soft == UINT64_MAX && l.memlock_hard == UINT64_MAX);
        assert_int_equal(proc_limits_parse("", 0, &l), -EBADMSG);
        assert_int_equal(PARSE(proc_limits_parse, "Max open files 1024 4096 files\n", &l), -EINVAL);
        assert_int_equal(PARSE(proc_limits_parse, "Max locked memory         8388608", &l),
                         -EINVAL);
        assert_int_equal(PARSE(proc_limits_parse, "Max locked memory 1x 2 bytes\n", &l), -EINVAL);
}

static void test_cgroup_unit(void **state) {
        _cleanup_free_ char *u1 = NULL, *u2 = NULL, *u3 = NULL;
        char *none = NULL;

        assert_int_equal(PARSE(proc_cgroup_unit_parse, "0::/system.slice/libvirtd.service\n", &u1),
                         0);
        assert_string_equal(u1, "libvirtd.service");
        assert_int_equal(PARSE(proc_cgroup_unit_parse,
                               "0::/machine.slice/machine-qemu\\x2d1\\x2drt.scope/libvirt/vcpu0\n",
                               &u2),
                         0);
        assert_string_equal(u2, "machine-qemu\\x2d1\\x2drt.scope");
        assert_int_equal(PARSE(proc_cgroup_unit_parse,
                               "12:cpu:/\n1:name=systemd:/system.slice/foo.service\n", &u3),
                         0);
        assert_string_equal(u3, "foo.service");
        assert_int_equal(PARSE(proc_cgroup_unit_parse, "0::/\n", &none), -ENOENT);
        assert_int_equal(proc_cgroup_unit_parse("", 0, &none), -ENOENT);
        assert_null(none);
}

static void test_read_self(void **state) {
        _cleanup_close_ int dfd = proc_open(getpid());
        ProcStatus s;
        ProcStat st;
        ProcLimits l;
        MemInfo m;
        struct rlimit rl;

        assert_true(dfd >= 0);
        assert_int_equal(proc_status_read(dfd, &s), 0);
        assert_int_equal(s.uid_real, getuid());
        assert_true(s.vm_rss != PROC_UNSET && s.vm_rss > 0);
        assert_int_equal(proc_stat_read(dfd, &st), 0);
        assert_int_equal(st.ppid, getppid());
        assert_true(st.starttime > 0);
        assert_int_equal(proc_limits_read(dfd, &l), 0);
        assert_int_equal(getrlimit(RLIMIT_MEMLOCK, &rl), 0);
        assert_true(l.memlock_soft == (rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : rl.rlim_cur));
        assert_int_equal(meminfo_read(&m), 0);
        assert_true(m.mem_total > 0 && m.mem_total != PROC_UNSET);

        /* A lock of our own shows in VmLck. The raw syscalls: ASan intercepts mlock() and
         * turns it into a no-op. */
        size_t len = 64 * 4096;
        void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        assert_true(p != MAP_FAILED);
        if (syscall(SYS_mlock, p, len) == 0) {
                assert_int_equal(proc_status_read(dfd, &s), 0);
                assert_true(s.vm_lck >= len);
                (void) syscall(SYS_munlock, p, len);
        }
        munmap(p, len);

        _cleanup_free_ char *exe = NULL;
        assert_int_equal(proc_exe_read(dfd, &exe), 0);
        assert_non_null(strstr(exe, "test-proc"));

        assert_int_equal(proc_open(0), -EINVAL);
        assert_int_equal(proc_open(0x3fffffff), -ESRCH);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_status_parse),
                cmocka_unit_test(test_status_missing_and_malformed),
                cmocka_unit_test(test_stat_parse),
                cmocka_unit_test(test_stat_malformed),
                cmocka_unit_test(test_meminfo),
                cmocka_unit_test(test_limits),
                cmocka_unit_test(test_cgroup_unit),
                cmocka_unit_test(test_read_self),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
