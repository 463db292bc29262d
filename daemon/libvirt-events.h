/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* libvirt event mode: follows qemu guests' lifecycle through the libvirt API and reports
 * started and stopped guests to callbacks. Knows nothing of the Manager or of policies. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "policy/guest-limit.h"

/* Where the qemu driver of qemu:///system writes DOMAIN.pid. */
#define LIBVIRT_QEMU_PID_DIR "/run/libvirt/qemu"
/* Reconnect backoff after libvirtd went away: doubles from the first to the last delay. */
#define LIBVIRT_RECONNECT_FIRST_USEC (UINT64_C(500) * 1000)
#define LIBVIRT_RECONNECT_MAX_USEC (UINT64_C(30) * 1000 * 1000)
/* Guests tracked at once; more are ignored with a warning (a bound on memory use). */
#define LIBVIRT_DOMAINS_MAX 4096U

typedef struct LibvirtEvents LibvirtEvents;

typedef struct LibvirtEventsCallbacks {
        /* A guest runs: reported once per (name, pid) for guests running when the connection is
         * made (at start and after each reconnect) and for each start later. pid is 0 if the
         * pid file could not be read (e.g. the test:/// driver). facts: what its live XML says
         * (libvirt/domain-facts.c; all 0 when the XML could not be had or read). */
        void (*domain_started)(const char *name, pid_t pid, const GuestFacts *facts,
                               void *userdata);
        /* A running guest's facts changed: a device or memory was hot(un)plugged, or a
         * virtio-mem device resized (DEVICE_ADDED, DEVICE_REMOVED, MEMORY_DEVICE_SIZE_CHANGE).
         * Optional. */
        void (*domain_changed)(const char *name, pid_t pid, const GuestFacts *facts,
                               void *userdata);
        /* A guest reported started has stopped (or vanished while we were disconnected). */
        void (*domain_stopped)(const char *name, pid_t pid, void *userdata);
        /* Optional: the connection to libvirtd came up (true) or went down (false). */
        void (*connection_changed)(bool connected, void *userdata);
} LibvirtEventsCallbacks;

#if defined(HAVE_LIBVIRT) && HAVE_LIBVIRT
/* Joins libvirt's event loop to e (libvirt's event hooks are implemented with sd-event
 * sources: the process is single-threaded, and the first call decides the loop for the
 * process's lifetime; a later call with another loop fails with -EBUSY), connects to uri
 * (e.g. "qemu:///system"), reports the running guests and follows their lifecycle. If libvirtd
 * is not reachable, this still succeeds and retries with backoff. pid_dir: where DOMAIN.pid
 * files are (NULL: LIBVIRT_QEMU_PID_DIR). cb is copied. */
int libvirt_events_new(sd_event *e, const char *uri, const char *pid_dir,
                       const LibvirtEventsCallbacks *cb, void *userdata, LibvirtEvents **ret);
/* Closes the connection; no callback is called from here on. NULL is fine. */
LibvirtEvents *libvirt_events_free(LibvirtEvents *l);
static inline void libvirt_events_freep(LibvirtEvents **l) {
        if (*l)
                libvirt_events_free(*l);
}
bool libvirt_events_is_connected(const LibvirtEvents *l);
/* How many guests are currently tracked as running. */
unsigned libvirt_events_n_domains(const LibvirtEvents *l);
/* Drops the connection and reconnects now (tests; also what a libvirtd restart causes). */
int libvirt_events_reconnect(LibvirtEvents *l);

/* Reads DOMAIN.pid from dir (a decimal pid, optionally followed by a newline). Returns 0, or
 * -ENOENT, -EINVAL (garbage or a name containing '/'), or another -errno. */
int libvirt_read_pid_file(const char *dir, const char *name, pid_t *ret);
#endif
