/* SPDX-License-Identifier: LGPL-2.1-or-later */
#if defined(HAVE_LIBVIRT) && HAVE_LIBVIRT

#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "common/log.h"
#include "common/macro.h"
#include "common/parse-util.h"
#include "common/proc.h"
#include "daemon/libvirt-events.h"
#include "libvirt/domain-facts.h"

/* Domain XML is a few KiB; refuse absurd pid files. */
#define PID_FILE_SIZE_MAX 64U
/* libvirt's keepalive: a libvirtd that answers no ping for interval * (count + 1) seconds is
 * treated as gone, so a hung (not just restarted) libvirtd also leads to a reconnect. */
#define KEEPALIVE_INTERVAL_SEC 5
#define KEEPALIVE_COUNT 3U

/*
 * libvirt's event loop on sd-event.
 *
 * libvirt needs an event loop to deliver domain events, keepalives and the connection's close
 * notification. It offers two ways: its own loop (virEventRunDefaultImpl) in a thread of ours,
 * handing events over to the daemon's loop through an eventfd; or hooks (virEventRegisterImpl)
 * through which it adds its fds and timers to our loop. We take the hooks: the daemon stays a
 * single-threaded sd-event program, callbacks run in the loop's context with no locking and no
 * hand-over queue, and libvirt's fds are just more sources. The price: libvirt's hooks are
 * process-global and carry no userdata, so the state below is global (set once, for the
 * process's lifetime), and libvirt calls made from the loop block it for their round trip
 * (local socket, milliseconds).
 *
 * libvirt requires that the free callbacks of removed handles and timeouts run later, not
 * inside the remove call (it may hold locks there): removed entries wait in a list that a defer
 * source empties on the next iteration.
 */

typedef struct EventHandle EventHandle;
struct EventHandle {
        EventHandle *next;
        int id;
        int fd;
        bool removed;
        sd_event_source *source;
        virEventHandleCallback cb;
        void *opaque;
        virFreeCallback ff;
};

typedef struct EventTimeout EventTimeout;
struct EventTimeout {
        EventTimeout *next;
        int id;
        int frequency; /* ms; -1 disabled, 0 every iteration */
        bool removed;
        sd_event_source *source;
        virEventTimeoutCallback cb;
        void *opaque;
        virFreeCallback ff;
};

static sd_event *event_loop;
static EventHandle *event_handles, *event_handles_removed;
static EventTimeout *event_timeouts, *event_timeouts_removed;
static sd_event_source *event_free_source;
static int event_next_id = 1;

static uint32_t epoll_from_vir(int events) {
        uint32_t e = 0;

        if (events & VIR_EVENT_HANDLE_READABLE)
                e |= EPOLLIN;
        if (events & VIR_EVENT_HANDLE_WRITABLE)
                e |= EPOLLOUT;
        /* EPOLLERR and EPOLLHUP are always reported; nothing to ask for. */
        return e;
}

static int vir_from_epoll(uint32_t e) {
        int events = 0;

        if (e & (EPOLLIN | EPOLLPRI))
                events |= VIR_EVENT_HANDLE_READABLE;
        if (e & EPOLLOUT)
                events |= VIR_EVENT_HANDLE_WRITABLE;
        if (e & EPOLLERR)
                events |= VIR_EVENT_HANDLE_ERROR;
        if (e & EPOLLHUP)
                events |= VIR_EVENT_HANDLE_HANGUP;
        return events;
}

static int event_next_id_take(void) {
        int id = event_next_id;

        event_next_id = event_next_id == INT_MAX ? 1 : event_next_id + 1;
        return id;
}

static int event_free_dispatch(sd_event_source *s, void *userdata) {
        /* Take the lists first: a free callback may remove more entries. */
        EventHandle *h = TAKE_PTR(event_handles_removed);
        EventTimeout *t = TAKE_PTR(event_timeouts_removed);

        while (h) {
                EventHandle *next = h->next;
                if (h->ff)
                        h->ff(h->opaque);
                free(h);
                h = next;
        }
        while (t) {
                EventTimeout *next = t->next;
                if (t->ff)
                        t->ff(t->opaque);
                free(t);
                t = next;
        }
        return 0;
}

static void event_free_schedule(void) {
        int r;

        if (!event_free_source) {
                r = sd_event_add_defer(event_loop, &event_free_source, event_free_dispatch, NULL);
                if (r < 0)
                        goto fail;
                (void) sd_event_source_set_description(event_free_source, "libvirt-free");
        }
        r = sd_event_source_set_enabled(event_free_source, SD_EVENT_ONESHOT);
        if (r >= 0)
                return;
fail:
        /* Entries stay listed (not leaked) and are freed at the next chance. -ESTALE: the loop
         * has finished (the daemon is exiting), there is no next chance and no harm. */
        log_full_errno(r == -ESTALE ? LOG_DEBUG : LOG_WARNING, r,
                       "Failed to schedule libvirt event cleanup: %m");
}

static int event_handle_dispatch(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        EventHandle *h = userdata;

        /* The callback may remove h; h stays allocated until the free source runs. */
        h->cb(h->id, fd, vir_from_epoll(revents), h->opaque);
        return 0;
}

static EventHandle *event_handle_find(int id) {
        for (EventHandle *h = event_handles; h; h = h->next)
                if (h->id == id)
                        return h;
        return NULL;
}

static int event_add_handle(int fd, int events, virEventHandleCallback cb, void *opaque,
                            virFreeCallback ff) {
        EventHandle *h;
        int r;

        h = calloc(1, sizeof(*h));
        if (!h)
                return -1;
        *h = (EventHandle){
                .id = event_next_id_take(), .fd = fd, .cb = cb, .opaque = opaque, .ff = ff
        };

        r = sd_event_add_io(event_loop, &h->source, fd, epoll_from_vir(events),
                            event_handle_dispatch, h);
        if (r < 0) {
                log_debug_errno(r, "Failed to watch libvirt fd %d: %m", fd);
                free(h);
                return -1;
        }
        (void) sd_event_source_set_description(h->source, "libvirt-io");
        if (events == 0)
                (void) sd_event_source_set_enabled(h->source, SD_EVENT_OFF);

        h->next = event_handles;
        event_handles = h;
        return h->id;
}

static void event_update_handle(int id, int events) {
        EventHandle *h = event_handle_find(id);

        if (!h)
                return;
        if (events == 0) {
                (void) sd_event_source_set_enabled(h->source, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_io_events(h->source, epoll_from_vir(events));
        (void) sd_event_source_set_enabled(h->source, SD_EVENT_ON);
}

static int event_remove_handle(int id) {
        for (EventHandle **p = &event_handles; *p; p = &(*p)->next) {
                EventHandle *h = *p;

                if (h->id != id)
                        continue;
                *p = h->next;
                h->removed = true;
                h->source = sd_event_source_disable_unref(h->source);
                h->next = event_handles_removed;
                event_handles_removed = h;
                event_free_schedule();
                return 0;
        }
        return -1;
}

static void event_timeout_arm(EventTimeout *t) {
        uint64_t now;
        int r;

        if (t->frequency < 0) {
                (void) sd_event_source_set_enabled(t->source, SD_EVENT_OFF);
                return;
        }
        r = sd_event_now(event_loop, CLOCK_MONOTONIC, &now);
        if (r < 0)
                now = 0; /* fires at once */
        (void) sd_event_source_set_time(t->source, now + (uint64_t) t->frequency * 1000U);
        (void) sd_event_source_set_enabled(t->source, SD_EVENT_ONESHOT);
}

static int event_timeout_dispatch(sd_event_source *s, uint64_t usec, void *userdata) {
        EventTimeout *t = userdata;

        t->cb(t->id, t->opaque);
        /* libvirt's timers repeat until updated to -1 or removed. */
        if (!t->removed)
                event_timeout_arm(t);
        return 0;
}

static EventTimeout *event_timeout_find(int id) {
        for (EventTimeout *t = event_timeouts; t; t = t->next)
                if (t->id == id)
                        return t;
        return NULL;
}

static int event_add_timeout(int frequency, virEventTimeoutCallback cb, void *opaque,
                             virFreeCallback ff) {
        EventTimeout *t;
        int r;

        t = calloc(1, sizeof(*t));
        if (!t)
                return -1;
        *t = (EventTimeout){ .id = event_next_id_take(),
                             .frequency = frequency,
                             .cb = cb,
                             .opaque = opaque,
                             .ff = ff };

        r = sd_event_add_time(event_loop, &t->source, CLOCK_MONOTONIC, 0, 1000,
                              event_timeout_dispatch, t);
        if (r < 0) {
                log_debug_errno(r, "Failed to add libvirt timer: %m");
                free(t);
                return -1;
        }
        (void) sd_event_source_set_description(t->source, "libvirt-timer");
        event_timeout_arm(t);

        t->next = event_timeouts;
        event_timeouts = t;
        return t->id;
}

static void event_update_timeout(int id, int frequency) {
        EventTimeout *t = event_timeout_find(id);

        if (!t)
                return;
        t->frequency = frequency;
        event_timeout_arm(t);
}

static int event_remove_timeout(int id) {
        for (EventTimeout **p = &event_timeouts; *p; p = &(*p)->next) {
                EventTimeout *t = *p;

                if (t->id != id)
                        continue;
                *p = t->next;
                t->removed = true;
                t->source = sd_event_source_disable_unref(t->source);
                t->next = event_timeouts_removed;
                event_timeouts_removed = t;
                event_free_schedule();
                return 0;
        }
        return -1;
}

static void libvirt_error_log(void *userdata, virErrorPtr err) {
        /* libvirt prints every error to stderr by default; ours are reported where handled. */
        if (err)
                log_debug("libvirt: %s", strna(err->message));
}

static int libvirt_setup_once(sd_event *e) {
        if (event_loop)
                return event_loop == e ? 0 : -EBUSY;

        if (virInitialize() < 0)
                return -EIO;
        virSetErrorFunc(NULL, libvirt_error_log);
        /* The reference is kept for the process's lifetime: libvirt cannot unregister hooks. */
        event_loop = sd_event_ref(e);
        virEventRegisterImpl(event_add_handle, event_update_handle, event_remove_handle,
                             event_add_timeout, event_update_timeout, event_remove_timeout);
        return 0;
}

/*
 * The domains and the connection.
 */

typedef struct KnownDomain {
        char *name;
        pid_t pid;
        unsigned generation; /* last sync that saw it running */
        GuestFacts facts; /* as last reported */
} KnownDomain;

/* The events that may change a running guest's facts: memory and devices hot(un)plugged,
 * virtio-mem resized. */
static const int hotplug_event_ids[] = {
        VIR_DOMAIN_EVENT_ID_DEVICE_ADDED,
        VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
        VIR_DOMAIN_EVENT_ID_MEMORY_DEVICE_SIZE_CHANGE,
};

struct LibvirtEvents {
        sd_event *event;
        char *uri;
        char *pid_dir;
        LibvirtEventsCallbacks cb;
        void *userdata;

        virConnectPtr conn;
        int lifecycle_id; /* -1: not registered */
        int hotplug_ids[ELEMENTSOF(hotplug_event_ids)]; /* -1: not registered */
        bool close_registered;
        bool connected;
        bool warned; /* a failed connect was logged at warning level; later ones at debug */

        sd_event_source *reconnect_source;
        uint64_t backoff_usec;

        KnownDomain *domains;
        size_t n_domains;
        unsigned generation;
};

int libvirt_read_pid_file(const char *dir, const char *name, pid_t *ret) {
        _cleanup_free_ char *path = NULL, *buf = NULL;
        size_t n;
        uint32_t pid;
        int r;

        if (!dir || !name || !*name || strchr(name, '/') || streq(name, ".") || streq(name, ".."))
                return -EINVAL;
        if (asprintf(&path, "%s/%s.pid", dir, name) < 0)
                return -ENOMEM;
        r = read_file_at(AT_FDCWD, path, PID_FILE_SIZE_MAX, &buf, &n);
        if (r < 0)
                return r;
        if (n > 0 && buf[n - 1] == '\n')
                buf[n - 1] = '\0';
        r = parse_uint32(buf, &pid);
        if (r < 0)
                return -EINVAL;
        if (pid == 0 || pid > INT_MAX)
                return -EINVAL;
        *ret = (pid_t) pid;
        return 0;
}

static KnownDomain *known_find(LibvirtEvents *l, const char *name) {
        for (size_t i = 0; i < l->n_domains; i++)
                if (streq(l->domains[i].name, name))
                        return &l->domains[i];
        return NULL;
}

static void known_remove(LibvirtEvents *l, KnownDomain *d) {
        size_t i = d - l->domains;

        free(d->name);
        memmove(l->domains + i, l->domains + i + 1, (l->n_domains - i - 1) * sizeof(*d));
        l->n_domains--;
}

static void report_stopped(LibvirtEvents *l, KnownDomain *d) {
        _cleanup_free_ char *name = TAKE_PTR(d->name);
        pid_t pid = d->pid;

        d->name = NULL;
        known_remove(l, d);
        log_info("libvirt: guest '%s' (pid %d) stopped.", name, (int) pid);
        if (l->cb.domain_stopped)
                l->cb.domain_stopped(name, pid, l->userdata);
}

/* The facts of a domain's live XML; all 0 when the XML cannot be had or read (logged). */
static void domain_facts(virDomainPtr dom, const char *name, GuestFacts *ret) {
        _cleanup_free_ char *xml = NULL;
        const char *reason = NULL;
        int r;

        *ret = (GuestFacts){};
        xml = virDomainGetXMLDesc(dom, 0);
        if (!xml) {
                log_debug("libvirt: no XML for '%s': %s", name, strna(virGetLastErrorMessage()));
                return;
        }
        r = domain_facts_parse(xml, strlen(xml), ret, &reason);
        if (r < 0) {
                log_warning_errno(r, "libvirt: cannot size guest '%s': %s (%m).", name,
                                  strna(reason));
                *ret = (GuestFacts){};
        }
}

static void log_facts(const char *what, const char *name, pid_t pid, const GuestFacts *f) {
        log_info("libvirt: guest '%s' %s (pid %d, memory %s, max %s/%u slots, hard limit %s, "
                 "%u VFIO, %u NVMe, %u vDPA%s%s).",
                 name, what, (int) pid, FORMAT_BYTES(f->memory), FORMAT_BYTES(f->max_memory),
                 f->max_memory_slots, f->hard_limit ? FORMAT_BYTES(f->hard_limit) : "none",
                 f->n_vfio, f->n_nvme, f->n_vdpa, f->viommu ? ", vIOMMU" : "",
                 f->locked ? ", <locked/>" : "");
}

/* A domain is running (STARTED, RESUMED or found by a sync): report it unless known. */
static void domain_up(LibvirtEvents *l, virDomainPtr dom) {
        const char *name;
        KnownDomain *d, *n;
        GuestFacts facts;
        pid_t pid = 0;
        int r;

        name = virDomainGetName(dom);
        if (!name)
                return;

        r = libvirt_read_pid_file(l->pid_dir, name, &pid);
        if (r < 0) {
                log_debug_errno(r, "libvirt: no pid file for '%s' in %s: %m", name, l->pid_dir);
                pid = 0;
        }

        d = known_find(l, name);
        if (d) {
                d->generation = l->generation;
                if (d->pid == pid)
                        return; /* RESUMED then STARTED, a resume after pause, or a resync */
                report_stopped(l, d); /* the same name with a new process */
        }
        if (l->n_domains >= LIBVIRT_DOMAINS_MAX) {
                log_warning("libvirt: more than %u running guests, ignoring '%s'.",
                            LIBVIRT_DOMAINS_MAX, name);
                return;
        }

        domain_facts(dom, name, &facts);

        n = reallocarray(l->domains, l->n_domains + 1, sizeof(*l->domains));
        if (!n) {
                log_oom();
                return;
        }
        l->domains = n;
        d = &l->domains[l->n_domains];
        *d = (KnownDomain){
                .name = strdup(name), .pid = pid, .generation = l->generation, .facts = facts
        };
        if (!d->name) {
                log_oom();
                return;
        }
        l->n_domains++;

        log_facts("running", name, pid, &facts);
        if (l->cb.domain_started)
                l->cb.domain_started(name, pid, &facts, l->userdata);
}

/* A known domain's devices or memory changed: read its XML again and report new facts. */
static void domain_refresh(LibvirtEvents *l, virDomainPtr dom) {
        const char *name = virDomainGetName(dom);
        GuestFacts facts;
        KnownDomain *d;

        if (!name)
                return;
        d = known_find(l, name);
        if (!d)
                return; /* not reported as running (yet): domain_up() will read it */
        domain_facts(dom, name, &facts);
        if (memcmp(&facts, &d->facts, sizeof(facts)) == 0)
                return;
        d->facts = facts;
        log_facts("changed", name, d->pid, &facts);
        if (l->cb.domain_changed)
                l->cb.domain_changed(name, d->pid, &facts, l->userdata);
}

static void device_event(virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque) {
        domain_refresh(opaque, dom);
}

static void memory_size_event(virConnectPtr conn, virDomainPtr dom, const char *alias,
                              unsigned long long size, void *opaque) {
        domain_refresh(opaque, dom);
}

static void domain_down(LibvirtEvents *l, virDomainPtr dom) {
        const char *name = virDomainGetName(dom);
        KnownDomain *d;

        if (!name)
                return;
        d = known_find(l, name);
        if (d)
                report_stopped(l, d);
}

static int lifecycle_event(virConnectPtr conn, virDomainPtr dom, int event, int detail,
                           void *opaque) {
        LibvirtEvents *l = opaque;

        switch (event) {
        case VIR_DOMAIN_EVENT_STARTED:
        case VIR_DOMAIN_EVENT_RESUMED:
                /* At start libvirt emits RESUMED (qemu's vCPUs start) before STARTED; either one
                 * reports the guest, the other finds it known. */
                domain_up(l, dom);
                break;
        case VIR_DOMAIN_EVENT_STOPPED:
                domain_down(l, dom);
                break;
        default:
                break;
        }
        return 0;
}

/* Reports every running domain not yet known, and known ones no longer running. */
static int domains_sync(LibvirtEvents *l) {
        virDomainPtr *doms = NULL;
        int n;

        n = virConnectListAllDomains(l->conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
        if (n < 0) {
                log_warning("libvirt: failed to list running guests: %s",
                            strna(virGetLastErrorMessage()));
                return -EIO;
        }
        l->generation++;
        for (int i = 0; i < n; i++) {
                domain_up(l, doms[i]);
                virDomainFree(doms[i]);
        }
        free(doms);

        for (size_t i = l->n_domains; i > 0; i--)
                if (l->domains[i - 1].generation != l->generation)
                        report_stopped(l, &l->domains[i - 1]);
        return 0;
}

static void connection_set(LibvirtEvents *l, bool connected) {
        if (l->connected == connected)
                return;
        l->connected = connected;
        if (l->cb.connection_changed)
                l->cb.connection_changed(connected, l->userdata);
}

static int connection_open(LibvirtEvents *l);
static void connection_closed(virConnectPtr conn, int reason, void *opaque);

static void connection_drop(LibvirtEvents *l) {
        if (!l->conn)
                return;
        if (l->lifecycle_id >= 0)
                (void) virConnectDomainEventDeregisterAny(l->conn, l->lifecycle_id);
        l->lifecycle_id = -1;
        for (size_t i = 0; i < ELEMENTSOF(l->hotplug_ids); i++) {
                if (l->hotplug_ids[i] >= 0)
                        (void) virConnectDomainEventDeregisterAny(l->conn, l->hotplug_ids[i]);
                l->hotplug_ids[i] = -1;
        }
        if (l->close_registered)
                (void) virConnectUnregisterCloseCallback(l->conn, connection_closed);
        l->close_registered = false;
        (void) virConnectClose(l->conn);
        l->conn = NULL;
}

static int reconnect_dispatch(sd_event_source *s, uint64_t usec, void *userdata) {
        LibvirtEvents *l = userdata;

        (void) connection_open(l);
        return 0;
}

static void reconnect_schedule(LibvirtEvents *l) {
        uint64_t now;
        int r;

        r = sd_event_now(l->event, CLOCK_MONOTONIC, &now);
        if (r < 0) {
                log_warning_errno(r, "libvirt: cannot read the clock: %m");
                return;
        }
        if (!l->reconnect_source) {
                r = sd_event_add_time(l->event, &l->reconnect_source, CLOCK_MONOTONIC, 0,
                                      100 * 1000, reconnect_dispatch, l);
                if (r < 0) {
                        log_warning_errno(r, "libvirt: cannot schedule a reconnect: %m");
                        return;
                }
                (void) sd_event_source_set_description(l->reconnect_source, "libvirt-reconnect");
        }
        (void) sd_event_source_set_time(l->reconnect_source, now + l->backoff_usec);
        (void) sd_event_source_set_enabled(l->reconnect_source, SD_EVENT_ONESHOT);
        log_debug("libvirt: reconnecting to %s in %" PRIu64 " ms.", l->uri, l->backoff_usec / 1000);
        l->backoff_usec = MIN(l->backoff_usec * 2, LIBVIRT_RECONNECT_MAX_USEC);
}

static void connection_closed(virConnectPtr conn, int reason, void *opaque) {
        LibvirtEvents *l = opaque;

        /* Called from libvirt's dispatch: do not close the connection here; the reconnect
         * timer drops it first. Guests stay known, so a reconnect reports only changes. */
        log_warning("libvirt: connection to %s lost (reason %d), reconnecting.", l->uri, reason);
        connection_set(l, false);
        l->backoff_usec = LIBVIRT_RECONNECT_FIRST_USEC;
        reconnect_schedule(l);
}

static int connection_open(LibvirtEvents *l) {
        int r;

        connection_drop(l);

        l->conn = virConnectOpen(l->uri);
        if (!l->conn) {
                log_full_errno(l->warned ? LOG_DEBUG : LOG_WARNING, 0,
                               "libvirt: cannot connect to %s (%s), retrying.", l->uri,
                               strna(virGetLastErrorMessage()));
                l->warned = true;
                connection_set(l, false);
                reconnect_schedule(l);
                return 0;
        }

        r = virConnectRegisterCloseCallback(l->conn, connection_closed, l, NULL);
        l->close_registered = r >= 0;
        /* Not every driver has keepalives (test:///); a failure only loses hang detection. */
        (void) virConnectSetKeepAlive(l->conn, KEEPALIVE_INTERVAL_SEC, KEEPALIVE_COUNT);

        l->lifecycle_id = virConnectDomainEventRegisterAny(
                l->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                VIR_DOMAIN_EVENT_CALLBACK(lifecycle_event), l, NULL);
        if (l->lifecycle_id < 0) {
                log_warning("libvirt: cannot follow guest events on %s (%s), retrying.", l->uri,
                            strna(virGetLastErrorMessage()));
                connection_drop(l);
                reconnect_schedule(l);
                return 0;
        }

        for (size_t i = 0; i < ELEMENTSOF(hotplug_event_ids); i++) {
                virConnectDomainEventGenericCallback cb =
                        hotplug_event_ids[i] == VIR_DOMAIN_EVENT_ID_MEMORY_DEVICE_SIZE_CHANGE
                                ? VIR_DOMAIN_EVENT_CALLBACK(memory_size_event)
                                : VIR_DOMAIN_EVENT_CALLBACK(device_event);

                /* Without them (an old libvirtd) guests are still locked, sized at start. */
                l->hotplug_ids[i] = virConnectDomainEventRegisterAny(
                        l->conn, NULL, hotplug_event_ids[i], cb, l, NULL);
                if (l->hotplug_ids[i] < 0)
                        log_warning("libvirt: cannot follow hotplug (event %d) on %s: %s",
                                    hotplug_event_ids[i], l->uri, strna(virGetLastErrorMessage()));
        }

        log_info("libvirt: connected to %s.", l->uri);
        l->warned = false;
        l->backoff_usec = LIBVIRT_RECONNECT_FIRST_USEC;
        connection_set(l, true);

        /* After registering: a guest starting now is reported once, by whichever comes first. */
        r = domains_sync(l);
        if (r < 0) {
                connection_drop(l);
                connection_set(l, false);
                reconnect_schedule(l);
        }
        return 0;
}

int libvirt_events_new(sd_event *e, const char *uri, const char *pid_dir,
                       const LibvirtEventsCallbacks *cb, void *userdata, LibvirtEvents **ret) {
        _cleanup_(libvirt_events_freep) LibvirtEvents *l = NULL;
        int r;

        if (!e || !uri || !*uri || !cb || !ret)
                return -EINVAL;

        r = libvirt_setup_once(e);
        if (r < 0)
                return r;

        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        *l = (LibvirtEvents){
                .event = sd_event_ref(e),
                .cb = *cb,
                .userdata = userdata,
                .lifecycle_id = -1,
                .backoff_usec = LIBVIRT_RECONNECT_FIRST_USEC,
        };
        for (size_t i = 0; i < ELEMENTSOF(l->hotplug_ids); i++)
                l->hotplug_ids[i] = -1;
        l->uri = strdup(uri);
        l->pid_dir = strdup(pid_dir ?: LIBVIRT_QEMU_PID_DIR);
        if (!l->uri || !l->pid_dir)
                return -ENOMEM;

        r = connection_open(l);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(l);
        return 0;
}

LibvirtEvents *libvirt_events_free(LibvirtEvents *l) {
        if (!l)
                return NULL;

        l->cb = (LibvirtEventsCallbacks){};
        connection_drop(l);
        sd_event_source_disable_unref(l->reconnect_source);
        for (size_t i = 0; i < l->n_domains; i++)
                free(l->domains[i].name);
        free(l->domains);
        free(l->uri);
        free(l->pid_dir);
        sd_event_unref(l->event);
        free(l);
        return NULL;
}

bool libvirt_events_is_connected(const LibvirtEvents *l) {
        return l && l->connected;
}

unsigned libvirt_events_n_domains(const LibvirtEvents *l) {
        return l ? (unsigned) l->n_domains : 0;
}

int libvirt_events_reconnect(LibvirtEvents *l) {
        if (!l)
                return -EINVAL;
        connection_drop(l);
        connection_set(l, false);
        return connection_open(l);
}

#endif /* HAVE_LIBVIRT */
