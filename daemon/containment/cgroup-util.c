/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "daemon/containment/cgroup-util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/parse-util.h"
#include "common/proc.h"

/* Next line of [*p, end): sets *line and *len (without the newline); false at the end. */
static bool next_line(const char **p, const char *end, const char **line, size_t *len) {
        const char *nl;

        if (*p >= end)
                return false;
        nl = memchr(*p, '\n', (size_t) (end - *p));
        *line = *p;
        *len = (size_t) ((nl ? nl : end) - *p);
        *p = nl ? nl + 1 : end;
        return true;
}

/* Whether the comma-separated list [s, s+n) contains word. */
static bool list_has(const char *s, size_t n, const char *word) {
        size_t wl = strlen(word);

        for (size_t i = 0; i < n;) {
                size_t j = i;
                while (j < n && s[j] != ',')
                        j++;
                if (j - i == wl && memcmp(s + i, word, wl) == 0)
                        return true;
                i = j + 1;
        }
        return false;
}

int cgroup_path_parse(const char *buf, size_t n, const char *controller, char **ret) {
        const char *p = buf, *end = buf + n, *line;
        size_t len;

        while (next_line(&p, end, &line, &len)) {
                const char *c1 = memchr(line, ':', len), *c2;
                char *s;

                if (!c1)
                        return -EINVAL;
                c2 = memchr(c1 + 1, ':', (size_t) (line + len - (c1 + 1)));
                if (!c2)
                        return -EINVAL;
                if (controller ? !list_has(c1 + 1, (size_t) (c2 - c1 - 1), controller)
                               : !(c2 == c1 + 1 && c1 - line == 1 && line[0] == '0'))
                        continue;
                if (c2 + 1 >= line + len || c2[1] != '/')
                        return -EINVAL;
                s = strndup(c2 + 1, (size_t) (line + len - (c2 + 1)));
                if (!s)
                        return -ENOMEM;
                *ret = s;
                return 0;
        }
        return -ENOENT;
}

int cgroup_keyed_get(const char *buf, size_t n, const char *key, uint64_t *ret) {
        const char *p = buf, *end = buf + n, *line;
        size_t len, kl = strlen(key);

        while (next_line(&p, end, &line, &len)) {
                char num[32];

                if (len <= kl + 1 || memcmp(line, key, kl) != 0 || line[kl] != ' ')
                        continue;
                if (len - kl - 1 >= sizeof(num))
                        return -EINVAL;
                memcpy(num, line + kl + 1, len - kl - 1);
                num[len - kl - 1] = '\0';
                return parse_uint64(num, ret) < 0 ? -EINVAL : 0;
        }
        return -ENOENT;
}

static bool has_suffix(const char *s, size_t n, const char *suffix) {
        size_t l = strlen(suffix);
        return n > l && memcmp(s + n - l, suffix, l) == 0;
}

int cgroup_path_is_managed(const char *path, char **ret_owner) {
        static const char *const suffixes[] = { ".scope", ".service", ".libvirt-qemu",
                                                ".libvirt-lxc" };
        const char *owner = NULL;
        size_t olen = 0, n = strlen(path);
        bool first = true;

        for (size_t i = 0; i < n;) {
                size_t start;

                while (i < n && path[i] == '/')
                        i++;
                start = i;
                while (i < n && path[i] != '/')
                        i++;
                if (i == start)
                        break;
                /* libvirt's partition: /machine.slice (systemd) or /machine (cgroupfs). */
                if (first && ((i - start == 13 && memcmp(path + start, "machine.slice", 13) == 0) ||
                              (i - start == 7 && memcmp(path + start, "machine", 7) == 0))) {
                        owner = path + start;
                        olen = i - start;
                }
                first = false;
                for (size_t k = 0; k < ELEMENTSOF(suffixes); k++)
                        if (has_suffix(path + start, i - start, suffixes[k])) {
                                /* The innermost managed element names it best. */
                                owner = path + start;
                                olen = i - start;
                        }
        }
        if (!owner)
                return 0;
        if (ret_owner) {
                *ret_owner = strndup(owner, olen);
                if (!*ret_owner)
                        return -ENOMEM;
        }
        return 1;
}

static int join(const char *dir, const char *name, char **ret) {
        return asprintf(ret, "%s/%s", dir, name) < 0 ? -ENOMEM : 0;
}

int cgroup_write(const char *dir, const char *name, const char *value) {
        _cleanup_free_ char *p = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t l = strlen(value);
        ssize_t k;
        int r;

        r = join(dir, name, &p);
        if (r < 0)
                return r;
        fd = open(p, O_WRONLY | O_CLOEXEC | O_CREAT | O_TRUNC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return negative_errno();
        /* cgroupfs takes one value per write(); a short write is an error there. */
        k = write(fd, value, l);
        if (k < 0)
                return negative_errno();
        return (size_t) k == l ? 0 : -EIO;
}

int cgroup_write_u64(const char *dir, const char *name, uint64_t value) {
        char buf[32];

        if (value == UINT64_MAX)
                return cgroup_write(dir, name, "max");
        (void) snprintf(buf, sizeof(buf), "%" PRIu64, value);
        return cgroup_write(dir, name, buf);
}

int cgroup_read(const char *dir, const char *name, char **ret, size_t *ret_size) {
        _cleanup_free_ char *p = NULL;
        int r;

        r = join(dir, name, &p);
        if (r < 0)
                return r;
        return read_file_at(AT_FDCWD, p, CGROUP_FILE_MAX, ret, ret_size);
}

int cgroup_read_u64(const char *dir, const char *name, uint64_t *ret) {
        _cleanup_free_ char *s = NULL;
        size_t n;
        int r;

        r = cgroup_read(dir, name, &s, &n);
        if (r < 0)
                return r;
        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
                s[--n] = '\0';
        if (streq(s, "max")) {
                *ret = UINT64_MAX;
                return 0;
        }
        return parse_uint64(s, ret) < 0 ? -EINVAL : 0;
}

int cgroup_read_keyed(const char *dir, const char *name, const char *key, uint64_t *ret) {
        _cleanup_free_ char *s = NULL;
        size_t n;
        int r;

        r = cgroup_read(dir, name, &s, &n);
        if (r < 0)
                return r;
        return cgroup_keyed_get(s, n, key, ret);
}

int cgroup_is_populated(const char *dir) {
        _cleanup_free_ char *s = NULL;
        size_t n;
        int r;

        r = cgroup_read(dir, "cgroup.procs", &s, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (s[i] >= '0' && s[i] <= '9')
                        return 1;
        return 0;
}

void containment_set_error(char **ret_error, const char *format, ...) {
        va_list ap;

        if (!ret_error)
                return;
        free(*ret_error);
        va_start(ap, format);
        if (vasprintf(ret_error, format, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
}
