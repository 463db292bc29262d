/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* a{sv} option dictionaries read by table (systemd's bus_properties_map is the model): each
 * known key has a type that says its D-Bus signature, how it is validated and where it is
 * stored. Names (workload name, policy, libvirt domain) are data that end up in logs and
 * tables: they are refused if they hold control characters. */

#include <stddef.h>
#include <systemd/sd-bus.h>

#include "daemon/core/manager.h"

typedef enum BusOptionType {
        BUS_OPTION_STRING, /* "s", at most LIMIT_STRING_BYTES; stored as const char * */
        BUS_OPTION_NAME, /* BUS_OPTION_STRING without control characters */
        BUS_OPTION_LOCK_MODE, /* "s": on, on-fault, current; stored as LockMode */
        BUS_OPTION_SIZE, /* "t", not 0; stored as uint64_t */
        BUS_OPTION_BOOL, /* "b"; stored as bool */
        BUS_OPTION_UMASK, /* "u", at most 0777; stored as mode_t */
        BUS_OPTION_THREADS, /* "i", -1 (auto) to 1024; stored as int */
        BUS_OPTION_COUNT, /* "u", any value; stored as unsigned (guest facts: device counts) */
        _BUS_OPTION_TYPE_MAX,
        _BUS_OPTION_TYPE_INVALID = -1,
} BusOptionType;
const char *bus_option_type_to_string(BusOptionType t);

typedef struct BusOption {
        const char *key;
        BusOptionType type;
        size_t offset; /* in the destination struct */
} BusOption;

/* Reads an a{sv} into dest by table: at most LIMIT_OPTIONS_COUNT entries (LimitExceeded), each
 * key known and given once, of its type, valid (InvalidArgument naming the key and what is
 * wrong). Strings point into msg. */
int bus_read_options(sd_bus_message *msg, const BusOption *table, size_t n_table, void *dest,
                     sd_bus_error *error);
/* The options of Run, Exec, Attach and AttachPidfd into o (workload_options_init() first). */
int bus_read_workload_options(sd_bus_message *msg, WorkloadOptions *o, sd_bus_error *error);
/* InvalidArgument unless s is free of control characters: "name contains control character
 * 0x0a at offset 1". */
int bus_check_name(const char *what, const char *s, sd_bus_error *error);
