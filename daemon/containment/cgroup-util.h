/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Small cgroupfs helpers the containment backends share: pure parsers of /proc/PID/cgroup and
 * memory.stat / memory.events text, and checked reads and writes of single-value files. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/macro.h"

/* The longest cgroupfs file we read (memory.stat of v1 is ~1.5 KiB, of v2 ~2 KiB). */
#define CGROUP_FILE_MAX (64U * 1024U)

/* The path of a process's cgroup in one hierarchy, from the text of /proc/PID/cgroup:
 * controller "memory" finds the v1 line that lists it ("4:memory:/a/b"), NULL finds the
 * unified line ("0::/a/b"). ret is malloc'd and starts with '/'. -ENOENT if there is no such
 * line, -EINVAL if the line is malformed. Pure. */
int cgroup_path_parse(const char *buf, size_t n, const char *controller, char **ret);

/* "key value" lines (memory.stat, memory.events): the value of key, or -ENOENT. Pure. */
int cgroup_keyed_get(const char *buf, size_t n, const char *key, uint64_t *ret);

/* Whether a cgroup path is one that systemd or libvirt manages for a unit or a guest: an
 * element ending in ".scope" or ".service" (systemd: machine-qemu-1-vm.scope,
 * sshd.service), ".libvirt-qemu" / ".libvirt-lxc" (libvirt without systemd), or the
 * "machine.slice" / "machine" top (libvirt's partition). *ret_owner (may be NULL) gets the
 * managing element (malloc'd). Returns 1 managed, 0 not, -ENOMEM. Pure. */
int cgroup_path_is_managed(const char *path, char **ret_owner);

/* Writes value to dir/name (O_WRONLY|O_CLOEXEC, created if missing so a fake tree in tests
 * works; cgroupfs files always exist). Returns 0 or -errno. */
int cgroup_write(const char *dir, const char *name, const char *value);
int cgroup_write_u64(const char *dir, const char *name, uint64_t value);
/* Reads dir/name whole (malloc'd, NUL-terminated). */
int cgroup_read(const char *dir, const char *name, char **ret, size_t *ret_size);
/* A single number ("max" reads as UINT64_MAX). */
int cgroup_read_u64(const char *dir, const char *name, uint64_t *ret);
/* A keyed value of dir/name. */
int cgroup_read_keyed(const char *dir, const char *name, const char *key, uint64_t *ret);
/* Whether dir/cgroup.procs lists a process: 1 yes, 0 empty, -errno. */
int cgroup_is_populated(const char *dir);

/* The sentence for a person both backends (containment.c, containment-scope.c) return: a
 * printf into *ret_error (malloc'd; NULL if out of memory), replacing and freeing what it held.
 * ret_error may be NULL. */
void containment_set_error(char **ret_error, const char *format, ...) _printf_(2, 3);
