/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "common/escape.h"
#include "common/lock-mode.h"
#include "common/macro.h"
#include "common/string-table.h"
#include "daemon/bus/bus-error.h"
#include "daemon/bus/bus-options.h"
#include "daemon/bus/bus-limits.h"

static const char *const bus_option_type_table[_BUS_OPTION_TYPE_MAX] = {
        [BUS_OPTION_STRING] = "string",   [BUS_OPTION_NAME] = "name",
        [BUS_OPTION_LOCK_MODE] = "mode",  [BUS_OPTION_SIZE] = "size",
        [BUS_OPTION_BOOL] = "boolean",    [BUS_OPTION_UMASK] = "umask",
        [BUS_OPTION_THREADS] = "threads", [BUS_OPTION_COUNT] = "count",
};
DEFINE_STRING_TABLE_TO_STRING(bus_option_type, BusOptionType);

static const char *const bus_option_signature[_BUS_OPTION_TYPE_MAX] = {
        [BUS_OPTION_STRING] = "s",  [BUS_OPTION_NAME] = "s",  [BUS_OPTION_LOCK_MODE] = "s",
        [BUS_OPTION_SIZE] = "t",    [BUS_OPTION_BOOL] = "b",  [BUS_OPTION_UMASK] = "u",
        [BUS_OPTION_THREADS] = "i", [BUS_OPTION_COUNT] = "u",
};

/* The options of docs/dbus-api.md, in the order --help and errors list them. */
static const BusOption workload_options[] = {
        { "policy", BUS_OPTION_NAME, offsetof(WorkloadOptions, policy) },
        { "name", BUS_OPTION_NAME, offsetof(WorkloadOptions, name) },
        { "mode", BUS_OPTION_LOCK_MODE, offsetof(WorkloadOptions, mode) },
        { "limit", BUS_OPTION_SIZE, offsetof(WorkloadOptions, limit) },
        { "prefault_threads", BUS_OPTION_THREADS, offsetof(WorkloadOptions, prefault_threads) },
        { "detach", BUS_OPTION_BOOL, offsetof(WorkloadOptions, detach) },
        { "umask", BUS_OPTION_UMASK, offsetof(WorkloadOptions, umask) },
        { "libvirt_domain", BUS_OPTION_NAME, offsetof(WorkloadOptions, libvirt_domain) },
        /* A libvirt guest's facts (docs/libvirt.md); guest_limit() sizes its limit by them. */
        { "memory", BUS_OPTION_SIZE, offsetof(WorkloadOptions, guest.memory) },
        { "hard_limit", BUS_OPTION_SIZE, offsetof(WorkloadOptions, guest.hard_limit) },
        { "max_memory", BUS_OPTION_SIZE, offsetof(WorkloadOptions, guest.max_memory) },
        { "max_memory_slots", BUS_OPTION_COUNT, offsetof(WorkloadOptions, guest.max_memory_slots) },
        { "vfio_devices", BUS_OPTION_COUNT, offsetof(WorkloadOptions, guest.n_vfio) },
        { "nvme_disks", BUS_OPTION_COUNT, offsetof(WorkloadOptions, guest.n_nvme) },
        { "vdpa_devices", BUS_OPTION_COUNT, offsetof(WorkloadOptions, guest.n_vdpa) },
        { "viommu", BUS_OPTION_BOOL, offsetof(WorkloadOptions, guest.viommu) },
        { "locked", BUS_OPTION_BOOL, offsetof(WorkloadOptions, guest.locked) },
};
_Static_assert(ELEMENTSOF(workload_options) <= LIMIT_OPTIONS_KNOWN,
               "limits.h sizes the largest message for LIMIT_OPTIONS_KNOWN options");

int bus_check_name(const char *what, const char *s, sd_bus_error *error) {
        size_t offset;
        uint32_t c;

        if (strlen(s) > LIMIT_STRING_BYTES)
                return bus_error_setf(error, BUS_ERROR_LIMIT_EXCEEDED,
                                      "%s is longer than %u bytes.", what, LIMIT_STRING_BYTES);
        if (string_find_control(s, &offset, &c) == 0)
                return 0;
        if (c < 0x80)
                return bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                      "%s contains control character 0x%02x at offset %zu.", what,
                                      (unsigned) c, offset);
        return bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                              "%s contains control character U+%04X at offset %zu.", what,
                              (unsigned) c, offset);
}

static int read_one(sd_bus_message *msg, const BusOption *o, void *dest, sd_bus_error *error) {
        uint8_t *p = (uint8_t *) dest + o->offset;
        const char *s;
        uint64_t t;
        uint32_t u;
        int32_t i;
        int b, r;

        switch (o->type) {
        case BUS_OPTION_STRING:
        case BUS_OPTION_NAME:
        case BUS_OPTION_LOCK_MODE:
                r = sd_bus_message_read(msg, "v", "s", &s);
                if (r < 0)
                        return r;
                if (o->type == BUS_OPTION_NAME)
                        r = bus_check_name(o->key, s, error);
                else if (strlen(s) > LIMIT_STRING_BYTES)
                        r = bus_error_setf(error, BUS_ERROR_LIMIT_EXCEEDED,
                                           "%s is longer than %u bytes.", o->key,
                                           LIMIT_STRING_BYTES);
                if (r < 0)
                        return r;
                if (o->type != BUS_OPTION_LOCK_MODE) {
                        memcpy(p, &s, sizeof(s));
                        return 0;
                }
                LockMode mode = lock_mode_from_string(s);
                if (mode < 0)
                        return bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                              "Unknown mode '%.64s': use on, on-fault or current.",
                                              s);
                memcpy(p, &mode, sizeof(mode));
                return 0;
        case BUS_OPTION_SIZE:
                r = sd_bus_message_read(msg, "v", "t", &t);
                if (r < 0)
                        return r;
                if (t == 0)
                        return bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                              "Option '%s' must not be 0.", o->key);
                memcpy(p, &t, sizeof(t));
                return 0;
        case BUS_OPTION_BOOL:
                r = sd_bus_message_read(msg, "v", "b", &b);
                if (r < 0)
                        return r;
                *(bool *) p = b;
                return 0;
        case BUS_OPTION_UMASK:
                r = sd_bus_message_read(msg, "v", "u", &u);
                if (r < 0)
                        return r;
                if (u > 0777)
                        return bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                              "umask %o is not a permission mask.", u);
                mode_t m = (mode_t) u;
                memcpy(p, &m, sizeof(m));
                return 0;
        case BUS_OPTION_COUNT:
                r = sd_bus_message_read(msg, "v", "u", &u);
                if (r < 0)
                        return r;
                unsigned c = u;
                memcpy(p, &c, sizeof(c));
                return 0;
        case BUS_OPTION_THREADS:
                r = sd_bus_message_read(msg, "v", "i", &i);
                if (r < 0)
                        return r;
                if (i < -1 || i > 1024)
                        return bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                              "%s must be -1 (auto), 0 or up to 1024, not %d.",
                                              o->key, (int) i);
                int v = i;
                memcpy(p, &v, sizeof(v));
                return 0;
        default:
                return -EINVAL;
        }
}

static int unknown_option(const char *key, const BusOption *table, size_t n_table,
                          sd_bus_error *error) {
        char known[512] = "";
        size_t l = 0;

        for (size_t i = 0; i < n_table && l < sizeof(known); i++)
                l += (size_t) snprintf(known + l, sizeof(known) - l, "%s%s", i > 0 ? ", " : "",
                                       table[i].key);
        /* The key is the caller's: bounded, and escaped by the client that prints it. */
        return bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                              "Unknown option '%.64s'; known: %s.", key, known);
}

int bus_read_options(sd_bus_message *msg, const BusOption *table, size_t n_table, void *dest,
                     sd_bus_error *error) {
        _cleanup_free_ char *unknown = NULL;
        const char *twice = NULL;
        uint64_t seen = 0;
        unsigned n = 0;
        int r;

        if (n_table > 64) /* seen is a 64-bit mask */
                return -EINVAL;
        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        for (;;) {
                const char *key, *contents;
                const BusOption *o = NULL;
                char type;

                r = sd_bus_message_enter_container(msg, 'e', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                if (++n > LIMIT_OPTIONS_COUNT)
                        return bus_error_setf(error, BUS_ERROR_LIMIT_EXCEEDED,
                                              "More than %u options.", LIMIT_OPTIONS_COUNT);
                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n_table; i++)
                        if (streq(table[i].key, key)) {
                                o = &table[i];
                                break;
                        }
                if (!o) {
                        /* Reported after the whole dictionary is read, so that too many
                         * options give LimitExceeded whatever their names. */
                        if (!unknown) {
                                unknown = strndup(key, 64);
                                if (!unknown)
                                        return -ENOMEM;
                        }
                        r = sd_bus_message_skip(msg, "v");
                } else {
                        uint64_t bit = UINT64_C(1) << (o - table);

                        if (seen & bit) {
                                /* Like unknown keys: reported once the count is known. */
                                if (!twice)
                                        twice = o->key;
                                r = sd_bus_message_skip(msg, "v");
                                goto next;
                        }
                        seen |= bit;
                        r = sd_bus_message_peek_type(msg, &type, &contents);
                        if (r < 0)
                                return r;
                        if (!streq(contents, bus_option_signature[o->type]))
                                return bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                                      "Option '%s' must have type '%s', not "
                                                      "'%s'.",
                                                      o->key, bus_option_signature[o->type],
                                                      contents);
                        r = read_one(msg, o, dest, error);
                }
        next:
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        if (unknown)
                return unknown_option(unknown, table, n_table, error);
        if (twice)
                return bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                      "Option '%s' is given twice.", twice);
        return sd_bus_message_exit_container(msg);
}

int bus_read_workload_options(sd_bus_message *msg, WorkloadOptions *o, sd_bus_error *error) {
        workload_options_init(o);
        return bus_read_options(msg, workload_options, ELEMENTSOF(workload_options), o, error);
}
