/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The libvirt qemu hook, installed as /etc/libvirt/hooks/qemu.d/mlockd: hands every guest
 * libvirt starts to mlockd, which locks its memory if a policy matches. See docs/libvirt.md.
 *
 * libvirt runs it as: mlockd DOMAIN PHASE SUBPHASE EXTRA, with the domain XML on stdin, while
 * it holds the domain's lock, and as root. Everything it gets is untrusted: the domain name
 * (any user allowed to define domains chooses it) and the XML. So this hook:
 *   - never runs a shell or another program, and never lets the name near an option or an
 *     address: it connects to the daemon's socket itself and speaks D-Bus with sd-bus;
 *   - parses the XML with libxml2 (libvirt/domain-facts.c) and escapes the name in its logs;
 *   - never calls libvirt (that would deadlock on the domain's lock);
 *   - returns at once: mlockd registers the workload and injects mlockall() asynchronously;
 *   - never fails the guest's start, unless the matching policy says OnFailure=abort: only
 *     then it waits for the lock's result and fails the start if the lock fails;
 *   - on reconnect (libvirtd restarted and found the guest running) hands over a guest mlockd
 *     does not have yet, and never fails;
 *   - on stopped/release drops the workload it registered, if mlockd still lists it.
 *
 * Environment (libvirtd clears its hooks' environment, so these are for manual runs and
 * tests; each is also read under its old MEMLOCKD_ prefix, for one release after the rename):
 *   MLOCKD_SOCKET          the daemon's socket (default: Socket= in mlockd.conf)
 *   MLOCKD_CONF            mlockd.conf (default MLOCKD_CONFIG_FILE)
 *   MLOCKD_HOOK_TIMEOUT    seconds to wait for a required lock (default 300)
 *   MLOCKD_LIBVIRT_RUNDIR  where libvirt keeps DOMAIN.pid (default /run/libvirt/qemu)
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "build-config.h"
#include "common/escape.h"
#include "common/macro.h"
#include "common/parse-util.h"
#include "common/proc.h"
#include "common/time-util.h"
#include "libvirt/domain-facts.h"
#include "policy/config.h"

#define BUS_NAME "org.mlockd1"
#define BUS_PATH "/org/mlockd1"
#define BUS_MANAGER "org.mlockd1.Manager"
#define BUS_WORKLOAD "org.mlockd1.Workload"
#define WORKLOAD_PATH_PREFIX "/org/mlockd1/workload/"
/* Every call has a short timeout: a hung daemon must not hold up libvirt. */
#define CALL_TIMEOUT_USEC (UINT64_C(5) * 1000 * 1000)
#define HOOK_TIMEOUT_DEFAULT_SEC 300U
#define LIBVIRT_RUNDIR_DEFAULT "/run/libvirt/qemu"
/* DOMAIN.pid holds a decimal pid; a workload path is short. */
#define SMALL_FILE_MAX 256U
/* How often a required lock's state is looked at when no change signal arrives. */
#define POLL_USEC (UINT64_C(100) * 1000)

static const char *arg_domain = "";

_printf_(2, 3) static void hook_log(int priority, const char *format, ...) {
        _cleanup_free_ char *msg = NULL, *emsg = NULL, *edomain = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&msg, format, ap);
        va_end(ap);
        if (r < 0)
                return;
        /* C-style escapes: a newline in a domain name must not start a line of its own (under
         * journald, "<2>..." would be a forged priority). Messages quote the daemon's errors,
         * which may quote the name again: escape both. */
        emsg = cescape(msg);
        edomain = cescape(arg_domain);
        if (!emsg || !edomain)
                return;
        /* stderr ends up in libvirtd's log (and in its error message if we fail the start). */
        fprintf(stderr, "mlockd hook: %s: %s\n", edomain, emsg);
        syslog(priority, "%s: %s", edomain, emsg);
}

/* MLOCKD_<name>, else MEMLOCKD_<name> (one release of the old prefix); empty counts as unset. */
static const char *env(const char *name) {
        char key[64];
        const char *v;

        snprintf(key, sizeof(key), "MLOCKD_%s", name);
        v = getenv(key);
        if (v && *v)
                return v;
        snprintf(key, sizeof(key), "MEMLOCKD_%s", name);
        v = getenv(key);
        return v && *v ? v : NULL;
}

/* Reads all of stdin: libvirt writes the domain XML there and a hook that exits before reading
 * it breaks libvirt's pipe. Keeps at most DOMAIN_XML_SIZE_MAX bytes (the rest is drained);
 * *ret_truncated says whether there was more. */
static int read_stdin(char **ret, size_t *ret_size, bool *ret_truncated) {
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, allocated = 0;
        bool truncated = false;

        for (;;) {
                char drain[65536];
                ssize_t k;

                if (n < DOMAIN_XML_SIZE_MAX && allocated - n < 65536) {
                        size_t want = MIN(MAX(allocated * 2, (size_t) 65536),
                                          (size_t) DOMAIN_XML_SIZE_MAX);
                        char *b = realloc(buf, want);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                        allocated = want;
                }
                if (n < allocated)
                        k = read(STDIN_FILENO, buf + n, allocated - n);
                else
                        k = read(STDIN_FILENO, drain, sizeof(drain));
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EBADF)
                                break; /* run without stdin */
                        return -errno;
                }
                if (k == 0)
                        break;
                if (n < allocated)
                        n += (size_t) k;
                else
                        truncated = true;
        }
        *ret = TAKE_PTR(buf);
        *ret_size = n;
        *ret_truncated = truncated;
        return 0;
}

static bool domain_name_ok(const char *d) {
        /* The name becomes a file name in libvirt's run directory and in ours. */
        return *d && !strchr(d, '/') && !streq(d, ".") && !streq(d, "..");
}

static int read_small_file(const char *path, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t n;
        int r;

        r = read_file_at(AT_FDCWD, path, SMALL_FILE_MAX, &buf, &n);
        if (r < 0)
                return r;
        if (n > 0 && buf[n - 1] == '\n')
                buf[n - 1] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

static int read_pid(const char *rundir, pid_t *ret) {
        _cleanup_free_ char *path = NULL, *s = NULL;
        uint32_t pid;
        int r;

        if (asprintf(&path, "%s/%s.pid", rundir, arg_domain) < 0)
                return -ENOMEM;
        r = read_small_file(path, &s);
        if (r < 0)
                return r;
        r = parse_uint32(s, &pid);
        if (r < 0 || pid == 0 || pid > INT_MAX)
                return -EINVAL;
        *ret = (pid_t) pid;
        return 0;
}

typedef struct Settings {
        char *socket;
        char *statedir;
        const char *rundir;
        unsigned timeout_sec;
} Settings;

static void settings_done(Settings *s) {
        free(s->socket);
        free(s->statedir);
}

static int settings_load(Settings *ret) {
        const char *v, *conf;
        Settings s = {};
        char *slash;
        int r;

        v = env("SOCKET");
        if (v)
                s.socket = strdup(v);
        else {
                DaemonConfig c;
                PolicyDiagnostics diags = {};

                /* Socket= of mlockd.conf: the same parser as the daemon's. A broken file is
                 * reported; the default socket is tried then. */
                conf = env("CONF") ?: MLOCKD_CONFIG_FILE;
                r = daemon_config_init(&c, 0);
                if (r < 0)
                        return r;
                r = daemon_config_load(conf, true, 0, &c, &diags);
                if (r < 0) {
                        _cleanup_free_ char *d = policy_diagnostics_join(&diags, "; ");
                        hook_log(LOG_WARNING, "ignoring %s: %s", conf, d ?: strerror(-r));
                }
                s.socket = strdup(r < 0 ? MLOCKD_SOCKET_PATH : c.socket_path);
                policy_diagnostics_clear(&diags);
                daemon_config_done(&c);
        }
        if (!s.socket)
                return -ENOMEM;

        /* Where the hook remembers which workload belongs to which domain (stopped/release). */
        s.statedir = strdup(s.socket);
        if (!s.statedir) {
                free(s.socket);
                return -ENOMEM;
        }
        slash = strrchr(s.statedir, '/');
        if (slash)
                *slash = '\0';
        else
                strcpy(s.statedir, ".");
        r = asprintf(&slash, "%s/libvirt-hook", s.statedir);
        free(s.statedir);
        s.statedir = r < 0 ? NULL : slash;

        s.rundir = env("LIBVIRT_RUNDIR") ?: LIBVIRT_RUNDIR_DEFAULT;
        s.timeout_sec = HOOK_TIMEOUT_DEFAULT_SEC;
        v = env("HOOK_TIMEOUT");
        if (v) {
                uint32_t t;
                if (parse_uint32(v, &t) >= 0)
                        s.timeout_sec = t;
        }
        *ret = s;
        return s.statedir ? 0 : -ENOMEM;
}

/* Connects to the daemon's socket ourselves: no D-Bus address string is ever built, so nothing
 * in a name or a path can choose another transport or socket. */
static int bus_open(const char *path, sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t n = strlen(path);
        int r;

        if (n == 0 || n >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, n);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, offsetof(struct sockaddr_un, sun_path) + n + 1) <
            0)
                return -errno;

        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_fd(bus, fd, fd);
        if (r < 0)
                return r;
        TAKE_FD(fd);
        (void) sd_bus_set_method_call_timeout(bus, CALL_TIMEOUT_USEC);
        r = sd_bus_start(bus);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bus);
        return 0;
}

/* Options of Attach (docs/dbus-api.md): the domain's name and what sizes its limit. Zero facts
 * are left out (the daemon refuses 0 sizes). legacy: only the sizes a daemon older than the
 * guest facts knows (memory, hard_limit). */
static int append_options(sd_bus_message *m, const GuestFacts *f, bool legacy) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "{sv}{sv}", "name", "s", arg_domain, "libvirt_domain", "s",
                                  arg_domain);
        if (r < 0)
                return r;
#define SIZE(key, v)                                                                               \
        if ((v) > 0) {                                                                             \
                r = sd_bus_message_append(m, "{sv}", key, "t", (uint64_t) (v));                    \
                if (r < 0)                                                                         \
                        return r;                                                                  \
        }
#define COUNT(key, v)                                                                              \
        if ((v) > 0) {                                                                             \
                r = sd_bus_message_append(m, "{sv}", key, "u", (uint32_t) (v));                    \
                if (r < 0)                                                                         \
                        return r;                                                                  \
        }
#define FLAG(key, v)                                                                               \
        if (v) {                                                                                   \
                r = sd_bus_message_append(m, "{sv}", key, "b", 1);                                 \
                if (r < 0)                                                                         \
                        return r;                                                                  \
        }
        SIZE("memory", f->memory);
        SIZE("hard_limit", f->hard_limit);
        if (legacy)
                return sd_bus_message_close_container(m);
        SIZE("max_memory", f->max_memory);
        COUNT("max_memory_slots", f->max_memory_slots);
        COUNT("vfio_devices", f->n_vfio);
        COUNT("nvme_disks", f->n_nvme);
        COUNT("vdpa_devices", f->n_vdpa);
        FLAG("viommu", f->viommu);
        FLAG("locked", f->locked);
#undef SIZE
#undef COUNT
#undef FLAG
        return sd_bus_message_close_container(m);
}

/* An answer of Explain(pid): its verdict, policy and OnFailure= setting (NULL if none). */
static int explain_parse(sd_bus_message *reply, char **ret_verdict, char **ret_policy,
                         char **ret_on_failure) {
        _cleanup_free_ char *verdict = NULL, *policy = NULL, *on_failure = NULL;
        const char *v, *p, *msg;
        int r;

        if (sd_bus_message_is_method_error(reply, NULL))
                return -sd_bus_message_get_errno(reply) ?: -EIO;
        r = sd_bus_message_read(reply, "sss", &v, &p, &msg);
        if (r < 0)
                return r;
        r = sd_bus_message_skip(reply, "as");
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        for (;;) {
                const char *key, *contents;

                r = sd_bus_message_enter_container(reply, 'e', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read(reply, "s", &key);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(reply, NULL, &contents);
                if (r < 0)
                        return r;
                if (streq(key, "on_failure") && streq(contents, "s")) {
                        const char *s;
                        r = sd_bus_message_read(reply, "v", "s", &s);
                        if (r < 0)
                                return r;
                        free(on_failure);
                        on_failure = strdup(s);
                        if (!on_failure)
                                return -ENOMEM;
                } else {
                        r = sd_bus_message_skip(reply, "v");
                        if (r < 0)
                                return r;
                }
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        verdict = strdup(v);
        policy = strdup(p);
        if (!verdict || !policy)
                return -ENOMEM;
        *ret_verdict = TAKE_PTR(verdict);
        *ret_policy = TAKE_PTR(policy);
        *ret_on_failure = TAKE_PTR(on_failure);
        return 0;
}

/* A call whose reply is awaited together with others: requests go out back to back, and the
 * hook pays one round trip for all of them. */
typedef struct Pending {
        sd_bus_message *reply;
} Pending;

static int pending_done(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Pending *p = userdata;

        p->reply = sd_bus_message_ref(m);
        return 0;
}

static void pending_done_all(Pending (*p)[2]) {
        for (size_t i = 0; i < ELEMENTSOF(*p); i++)
                sd_bus_message_unref((*p)[i].reply);
}

/* Waits for every reply (or its timeout, which sd-bus turns into an error reply). */
static int pending_wait(sd_bus *bus, Pending *p, size_t n) {
        for (;;) {
                bool all = true;
                int r;

                for (size_t i = 0; i < n; i++)
                        all = all && p[i].reply;
                if (all)
                        return 0;
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                r = sd_bus_wait(bus, UINT64_MAX);
                if (r < 0 && r != -EINTR)
                        return r;
        }
}

/* Sends Attach(pid, options); the reply lands in *p. */
static int attach_send(sd_bus *bus, pid_t pid, const GuestFacts *f, bool legacy, Pending *p) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, BUS_PATH, BUS_MANAGER, "Attach");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "u", (uint32_t) pid);
        if (r < 0)
                return r;
        r = append_options(m, f, legacy);
        if (r < 0)
                return r;
        return sd_bus_call_async(bus, NULL, m, pending_done, p, CALL_TIMEOUT_USEC);
}

/* Whether reply is a daemon's refusal of an option it does not know. */
static bool unknown_option(sd_bus_message *reply) {
        const sd_bus_error *e;

        if (!sd_bus_message_is_method_error(reply, "org.mlockd1.Error.InvalidArgument"))
                return false;
        e = sd_bus_message_get_error(reply);
        return e && e->message && strncmp(e->message, "Unknown option", 14) == 0;
}

/* Whether the policy that admitted the workload says OnFailure=abort. Explain(pid), asked
 * together with Attach, says what the policy that applies to the pid wants; but Explain knows
 * no domain name, so its answer counts only if it names the policy that admitted the workload
 * (read only in that case: usually the answer is "continue" and this costs no round trip). */
static bool lock_required(sd_bus *bus, const char *path, const char *verdict, const char *policy,
                          const char *on_failure) {
        _cleanup_free_ char *wpol = NULL;
        int r;

        if (!verdict || !streq(verdict, "allow") || !on_failure || !streq(on_failure, "abort"))
                return false;
        r = sd_bus_get_property_string(bus, BUS_NAME, path, BUS_WORKLOAD, "Policy", NULL, &wpol);
        return r >= 0 && streq(wpol, policy);
}

/* OnFailure=abort: the guest must not run unlocked. Waits for the workload's result: State
 * changes are signalled (PropertiesChanged), and looked at every POLL_USEC besides. */
static int wait_locked(sd_bus *bus, const char *path, unsigned timeout_sec) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + (uint64_t) timeout_sec * USEC_PER_SEC;
        int r;

        /* The daemon sends a peer the signals about workloads it did not Run only once it has
         * a match rule (docs/dbus-api.md). */
        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                               "org.freedesktop.DBus", "AddMatch", NULL, NULL, "s",
                               "type='signal',interface='org.freedesktop.DBus.Properties'");
        if (r < 0)
                hook_log(LOG_DEBUG, "AddMatch failed (%s): looking every %llu ms", strerror(-r),
                         (unsigned long long) (POLL_USEC / 1000));

        for (;;) {
                _cleanup_free_ char *state = NULL, *err = NULL;
                uint64_t now;

                r = sd_bus_get_property_string(bus, BUS_NAME, path, BUS_WORKLOAD, "State", NULL,
                                               &state);
                if (r >= 0 && streq(state, "locked"))
                        return 0;
                if (r < 0 || streq(state, "failed") || streq(state, "exited") ||
                    streq(state, "detached")) {
                        (void) sd_bus_get_property_string(bus, BUS_NAME, path, BUS_WORKLOAD,
                                                          "Error", NULL, &err);
                        hook_log(LOG_ERR, "required lock failed: %s",
                                 err && *err ? err : "workload gone");
                        return -EIO;
                }
                now = now_usec(CLOCK_MONOTONIC);
                if (now >= deadline) {
                        hook_log(LOG_ERR, "required lock not done after %us", timeout_sec);
                        return -ETIMEDOUT;
                }
                /* Drain whatever arrived (signals), then sleep until more or the next look. */
                while (sd_bus_process(bus, NULL) > 0)
                        ;
                (void) sd_bus_wait(bus, MIN(POLL_USEC, deadline - now));
        }
}

static int remember(const Settings *s, const char *path) {
        _cleanup_free_ char *file = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t n = strlen(path);

        if (mkdir(s->statedir, 0755) < 0 && errno != EEXIST)
                return -errno;
        if (asprintf(&file, "%s/%s", s->statedir, arg_domain) < 0)
                return -ENOMEM;
        fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        if (write(fd, path, n) != (ssize_t) n || write(fd, "\n", 1) != 1)
                return -EIO;
        return 0;
}

typedef enum AttachMode {
        ATTACH_START, /* started begin */
        ATTACH_RECONNECT, /* libvirtd restarted and found the guest running */
} AttachMode;

/* Returns 0 (the guest may run) or 1 (fail its start). */
static int attach(const Settings *s, AttachMode mode, const char *xml, size_t xml_size,
                  bool xml_truncated) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(pending_done_all) Pending p[2] = {};
        _cleanup_free_ char *verdict = NULL, *policy = NULL, *onf = NULL;
        GuestFacts facts = {};
        const char *path, *reason = NULL;
        pid_t pid;
        int r;

        if (!domain_name_ok(arg_domain)) {
                hook_log(LOG_WARNING, "refusing odd domain name");
                return 0;
        }
        r = read_pid(s->rundir, &pid);
        if (r < 0) {
                hook_log(LOG_WARNING, "no qemu pid in %s/%s.pid (%s), not locking", s->rundir,
                         arg_domain, strerror(-r));
                return 0;
        }
        r = bus_open(s->socket, &bus);
        if (r < 0) {
                hook_log(LOG_WARNING, "mlockd is not running (%s: %s), not locking", s->socket,
                         strerror(-r));
                return 0;
        }

        if (mode == ATTACH_RECONNECT) {
                r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_MANAGER, "GetWorkloadByPid",
                                       NULL, NULL, "u", (uint32_t) pid);
                if (r >= 0)
                        return 0; /* already a workload (the usual case) */
        }

        if (xml_size == 0)
                hook_log(LOG_WARNING, "no domain XML on stdin; sizing by policy only");
        else if (xml_truncated)
                hook_log(LOG_WARNING, "the domain XML is over %" PRIu64 " bytes; sizing unknown",
                         DOMAIN_XML_SIZE_MAX);
        else {
                r = domain_facts_parse(xml, xml_size, &facts, &reason);
                if (r < 0) {
                        hook_log(LOG_WARNING, "%s (%s); sizing by policy only",
                                 reason ?: "cannot read the domain XML", strerror(-r));
                        facts = (GuestFacts){};
                }
        }

        r = attach_send(bus, pid, &facts, false, &p[0]);
        if (r >= 0)
                r = sd_bus_call_method_async(bus, NULL, BUS_NAME, BUS_PATH, BUS_MANAGER, "Explain",
                                             pending_done, &p[1], "u", (uint32_t) pid);
        if (r >= 0)
                r = pending_wait(bus, p, ELEMENTSOF(p));
        if (r >= 0 && unknown_option(p[0].reply)) {
                /* A daemon that predates the guest facts (running on after an upgrade until
                 * restarted): what it knows still sizes the guest. */
                hook_log(LOG_INFO,
                         "mlockd does not know the guest facts (%s); sizing by memory "
                         "and hard_limit only",
                         sd_bus_message_get_error(p[0].reply)->message);
                p[0].reply = sd_bus_message_unref(p[0].reply);
                r = attach_send(bus, pid, &facts, true, &p[0]);
                if (r >= 0)
                        r = pending_wait(bus, p, 1);
        }
        if (r < 0) {
                hook_log(LOG_WARNING, "cannot talk to mlockd (%s): %s, not locking", s->socket,
                         strerror(-r));
                return 0;
        }
        if (explain_parse(p[1].reply, &verdict, &policy, &onf) < 0)
                verdict = policy = onf = NULL;

        if (sd_bus_message_is_method_error(p[0].reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(p[0].reply);

                /* Not taken (no matching policy, budget, ...): the guest runs unlocked, unless
                 * the policy that would apply requires the lock. */
                hook_log(LOG_WARNING, "mlockd did not take the guest (pid %d): %s", (int) pid,
                         e && e->message ? e->message : "error");
                if (mode == ATTACH_START && onf && streq(onf, "abort")) {
                        hook_log(LOG_ERR, "the policy requires the lock (OnFailure=abort): "
                                          "failing the start");
                        return 1;
                }
                return 0;
        }
        r = sd_bus_message_read(p[0].reply, "o", &path);
        if (r < 0 || strncmp(path, WORKLOAD_PATH_PREFIX, strlen(WORKLOAD_PATH_PREFIX)) != 0) {
                hook_log(LOG_WARNING, "unexpected answer from mlockd");
                return 0;
        }
        r = remember(s, path);
        if (r < 0)
                hook_log(LOG_WARNING, "cannot remember %s in %s: %s", path, s->statedir,
                         strerror(-r));
        hook_log(LOG_INFO, "handed qemu pid %d to mlockd as %s", (int) pid, path);

        if (mode != ATTACH_START || !lock_required(bus, path, verdict, policy, onf))
                return 0;
        return wait_locked(bus, path, s->timeout_sec) < 0 ? 1 : 0;
}

/* The daemon notices the end of qemu itself and forgets the workload; if it still lists the
 * one we handed over, drop it. Errors (already gone) do not matter. */
static int drop(const Settings *s) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *file = NULL, *path = NULL;
        int r;

        if (!domain_name_ok(arg_domain))
                return 0;
        if (asprintf(&file, "%s/%s", s->statedir, arg_domain) < 0)
                return 0;
        r = read_small_file(file, &path);
        if (r < 0)
                return 0;
        (void) unlink(file);
        if (strncmp(path, WORKLOAD_PATH_PREFIX, strlen(WORKLOAD_PATH_PREFIX)) != 0 ||
            !sd_bus_object_path_is_valid(path))
                return 0;
        r = bus_open(s->socket, &bus);
        if (r < 0)
                return 0;
        (void) sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_MANAGER, "Detach", NULL, NULL, "o",
                                  path);
        return 0;
}

int main(int argc, char *argv[]) {
        _cleanup_(settings_done) Settings s = {};
        _cleanup_free_ char *xml = NULL;
        const char *phase, *subphase;
        size_t xml_size = 0;
        bool truncated = false;
        int r;

        arg_domain = argc > 1 ? argv[1] : "";
        phase = argc > 2 ? argv[2] : "";
        subphase = argc > 3 ? argv[3] : "";
        openlog("mlockd-hook", LOG_PID, LOG_DAEMON);

        /* In every phase: libvirt expects its pipe read. */
        r = read_stdin(&xml, &xml_size, &truncated);
        if (r < 0)
                hook_log(LOG_WARNING, "cannot read the domain XML: %s", strerror(-r));

        bool start = streq(phase, "started") && streq(subphase, "begin");
        bool reconnect =
                (streq(phase, "reconnect") || streq(phase, "attach")) && streq(subphase, "begin");
        bool stop = (streq(phase, "stopped") || streq(phase, "release")) && streq(subphase, "end");
        if (!start && !reconnect && !stop)
                return 0;

        r = settings_load(&s);
        if (r < 0) {
                hook_log(LOG_ERR, "cannot set up: %s", strerror(-r));
                return 0;
        }
        if (stop)
                return drop(&s);
        return attach(&s, start ? ATTACH_START : ATTACH_RECONNECT, xml, xml_size, truncated);
}
