/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for daemon/libvirt-events.c: the pid-file helper, and event mode against
 * libvirt's test:///default driver (in-process, no libvirtd): the running guest is reported at
 * connect, a destroy and a start arrive as events (RESUMED and STARTED report once), a
 * reconnect reports nothing new. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/macro.h"

#if defined(HAVE_LIBVIRT) && HAVE_LIBVIRT

#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <sys/stat.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "daemon/libvirt-events.h"

/* libvirt keeps process-global state (driver tables, error storage of each thread) that it
 * never frees; LeakSanitizer must not blame the test for it. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) {
        return "leak:libvirt.so\n";
}

static char *make_tmpdir(void) {
        char *d = strdup("/tmp/test-libvirt-events.XXXXXX");
        assert_non_null(d);
        assert_non_null(mkdtemp(d));
        return d;
}

static void write_file(const char *dir, const char *name, const char *content) {
        _cleanup_free_ char *p = NULL;
        _cleanup_fclose_ FILE *f = NULL;

        assert_true(asprintf(&p, "%s/%s", dir, name) >= 0);
        f = fopen(p, "we");
        assert_non_null(f);
        assert_true(fputs(content, f) >= 0);
}

static void test_read_pid_file(void **state) {
        _cleanup_free_ char *dir = make_tmpdir();
        pid_t pid = 7;

        write_file(dir, "good.pid", "1234\n");
        write_file(dir, "bare.pid", "99");
        write_file(dir, "junk.pid", "12x\n");
        write_file(dir, "zero.pid", "0\n");
        write_file(dir, "empty.pid", "");

        assert_int_equal(libvirt_read_pid_file(dir, "good", &pid), 0);
        assert_int_equal(pid, 1234);
        assert_int_equal(libvirt_read_pid_file(dir, "bare", &pid), 0);
        assert_int_equal(pid, 99);
        pid = 7;
        assert_int_equal(libvirt_read_pid_file(dir, "junk", &pid), -EINVAL);
        assert_int_equal(libvirt_read_pid_file(dir, "zero", &pid), -EINVAL);
        assert_int_equal(libvirt_read_pid_file(dir, "empty", &pid), -EINVAL);
        assert_int_equal(libvirt_read_pid_file(dir, "missing", &pid), -ENOENT);
        assert_int_equal(libvirt_read_pid_file(dir, "../good", &pid), -EINVAL);
        assert_int_equal(libvirt_read_pid_file(dir, "..", &pid), -EINVAL);
        assert_int_equal(libvirt_read_pid_file(dir, "", &pid), -EINVAL);
        assert_int_equal(pid, 7);

        for (const char *n = "good\0bare\0junk\0zero\0empty\0"; *n; n += strlen(n) + 1) {
                _cleanup_free_ char *p = NULL;
                assert_true(asprintf(&p, "%s/%s.pid", dir, n) >= 0);
                assert_int_equal(unlink(p), 0);
        }
        assert_int_equal(rmdir(dir), 0);
}

typedef struct Recorder {
        unsigned started, stopped, connected, disconnected;
        char last_started[64], last_stopped[64];
        pid_t last_pid;
        GuestFacts last_facts;
} Recorder;

static void on_started(const char *name, pid_t pid, const GuestFacts *facts, void *userdata) {
        Recorder *r = userdata;
        r->started++;
        snprintf(r->last_started, sizeof(r->last_started), "%s", name);
        r->last_pid = pid;
        r->last_facts = *facts;
}

static void on_stopped(const char *name, pid_t pid, void *userdata) {
        Recorder *r = userdata;
        r->stopped++;
        snprintf(r->last_stopped, sizeof(r->last_stopped), "%s", name);
}

static void on_connection(bool connected, void *userdata) {
        Recorder *r = userdata;
        if (connected)
                r->connected++;
        else
                r->disconnected++;
}

static const LibvirtEventsCallbacks callbacks = {
        .domain_started = on_started,
        .domain_stopped = on_stopped,
        .connection_changed = on_connection,
};

/* One loop for the whole process: libvirt's event hooks are global. */
static sd_event *loop(void) {
        static sd_event *e;
        if (!e)
                assert_int_equal(sd_event_new(&e), 0);
        return e;
}

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000U + (uint64_t) ts.tv_nsec / 1000U;
}

/* Runs the loop until *counter reaches want or 5 s pass. */
static void run_until(const unsigned *counter, unsigned want) {
        uint64_t deadline = now_usec() + 5000000U;
        while (*counter < want && now_usec() < deadline)
                assert_true(sd_event_run(loop(), 100000) >= 0);
}

/* Runs the loop for a while, for events that must not come. */
static void run_for(uint64_t usec) {
        uint64_t deadline = now_usec() + usec;
        while (now_usec() < deadline)
                assert_true(sd_event_run(loop(), 50000) >= 0);
}

static void test_events_test_driver(void **state) {
        _cleanup_(libvirt_events_freep) LibvirtEvents *l = NULL;
        _cleanup_free_ char *dir = make_tmpdir();
        Recorder rec = {};
        virConnectPtr other;
        virDomainPtr dom;
        sd_event *e2 = NULL;
        LibvirtEvents *l2 = NULL;

        /* A pid file for the test driver's guest "test": pids come from the pid directory. */
        write_file(dir, "test.pid", "4321\n");

        assert_int_equal(libvirt_events_new(loop(), "test:///default", dir, &callbacks, &rec, &l),
                         0);
        assert_true(libvirt_events_is_connected(l));
        assert_int_equal(rec.connected, 1);
        /* test:///default starts with one running 8 GiB guest named "test". */
        assert_int_equal(rec.started, 1);
        assert_string_equal(rec.last_started, "test");
        assert_int_equal(rec.last_pid, 4321);
        /* Its facts come from its live XML. */
        assert_int_equal(rec.last_facts.memory, 8ULL << 30);
        assert_int_equal(guest_limit(&rec.last_facts).limit, (8ULL << 30) + GUEST_OVERHEAD);
        assert_false(rec.last_facts.locked);
        assert_int_equal(libvirt_events_n_domains(l), 1);

        /* Another loop cannot join: libvirt's hooks are process-wide. */
        assert_int_equal(sd_event_new(&e2), 0);
        assert_int_equal(libvirt_events_new(e2, "test:///default", dir, &callbacks, &rec, &l2),
                         -EBUSY);
        assert_null(l2);
        sd_event_unref(e2);

        /* Destroy through a second connection to the same (process-shared) test driver. */
        other = virConnectOpen("test:///default");
        assert_non_null(other);
        dom = virDomainLookupByName(other, "test");
        assert_non_null(dom);
        assert_int_equal(virDomainDestroy(dom), 0);
        run_until(&rec.stopped, 1);
        assert_int_equal(rec.stopped, 1);
        assert_string_equal(rec.last_stopped, "test");
        assert_int_equal(libvirt_events_n_domains(l), 0);

        /* Start: libvirt sends RESUMED and STARTED; the guest is reported once. */
        assert_int_equal(virDomainCreate(dom), 0);
        run_until(&rec.started, 2);
        run_for(300000);
        assert_int_equal(rec.started, 2);
        assert_int_equal(libvirt_events_n_domains(l), 1);

        /* Suspend and resume: same guest, same pid, nothing reported. */
        assert_int_equal(virDomainSuspend(dom), 0);
        assert_int_equal(virDomainResume(dom), 0);
        run_for(300000);
        assert_int_equal(rec.started, 2);
        assert_int_equal(rec.stopped, 1);

        /* Reconnect (what a libvirtd restart causes): the guest is still known, not re-reported;
         * a guest that stopped meanwhile is reported stopped by the resync. */
        assert_int_equal(libvirt_events_reconnect(l), 0);
        assert_true(libvirt_events_is_connected(l));
        assert_int_equal(rec.connected, 2);
        assert_int_equal(rec.disconnected, 1);
        assert_int_equal(rec.started, 2);
        assert_int_equal(libvirt_events_n_domains(l), 1);

        /* A new pid under the same name counts as stop + start. */
        write_file(dir, "test.pid", "5555\n");
        assert_int_equal(libvirt_events_reconnect(l), 0);
        assert_int_equal(rec.stopped, 2);
        assert_int_equal(rec.started, 3);
        assert_int_equal(rec.last_pid, 5555);

        /* Leave the shared test driver as we found it (running). */
        virDomainFree(dom);
        virConnectClose(other);

        l = libvirt_events_free(l);
        run_for(100000); /* lets the deferred free callbacks of libvirt's handles run */

        {
                _cleanup_free_ char *p = NULL;
                assert_true(asprintf(&p, "%s/test.pid", dir) >= 0);
                assert_int_equal(unlink(p), 0);
                assert_int_equal(rmdir(dir), 0);
        }
}

static void test_events_unreachable(void **state) {
        _cleanup_(libvirt_events_freep) LibvirtEvents *l = NULL;
        Recorder rec = {};

        /* A libvirtd that is not there: new() succeeds, nothing is reported, it retries. */
        assert_int_equal(libvirt_events_new(loop(),
                                            "qemu:///system?socket=/nonexistent/libvirt-sock", NULL,
                                            &callbacks, &rec, &l),
                         0);
        assert_false(libvirt_events_is_connected(l));
        run_for(700000); /* one retry after LIBVIRT_RECONNECT_FIRST_USEC */
        assert_false(libvirt_events_is_connected(l));
        assert_int_equal(rec.started, 0);
        assert_int_equal(rec.connected, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_read_pid_file),
                cmocka_unit_test(test_events_test_driver),
                cmocka_unit_test(test_events_unreachable),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

#else

int main(void) {
        printf("libvirt support not built (HAVE_LIBVIRT unset), skipping\n");
        return 77;
}

#endif
