/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/parse-util.h"
#include "common/proc.h"
#include "common/process-util.h"

/* The largest /proc file we read; status and stat are far smaller, cgroup paths are bounded. */
#define PROC_FILE_MAX (256u * 1024u)

/* Iterates the lines of a buffer that need not be NUL-terminated. */
typedef struct LineIter {
        const char *p, *end;
} LineIter;

static bool line_next(LineIter *it, const char **ret_line, size_t *ret_len) {
        if (it->p >= it->end)
                return false;
        const char *nl = memchr(it->p, '\n', (size_t) (it->end - it->p));
        size_t len = nl ? (size_t) (nl - it->p) : (size_t) (it->end - it->p);
        *ret_line = it->p;
        *ret_len = len;
        it->p += len + (nl ? 1 : 0);
        return true;
}

/* Copies a token of at most 63 chars into a NUL-terminated buffer. Returns false if too long. */
static bool copy_token(char *dst, size_t dst_size, const char *src, size_t len) {
        if (len >= dst_size)
                return false;
        memcpy(dst, src, len);
        dst[len] = '\0';
        return true;
}

/* Parses "<spaces><number>[<spaces>kB]" from a status or meminfo value. */
static int parse_kb_value(const char *v, size_t len, bool want_kb, uint64_t *ret) {
        char tok[32];
        size_t i = 0, start, n;

        while (i < len && (v[i] == ' ' || v[i] == '\t'))
                i++;
        start = i;
        while (i < len && v[i] >= '0' && v[i] <= '9')
                i++;
        n = i - start;
        if (n == 0 || !copy_token(tok, sizeof(tok), v + start, n))
                return -EINVAL;
        uint64_t x;
        if (parse_uint64(tok, &x) < 0)
                return -EINVAL;
        while (i < len && v[i] == ' ')
                i++;
        if (want_kb) {
                if (len - i != 2 || memcmp(v + i, "kB", 2) != 0)
                        return -EINVAL;
                if (x > UINT64_MAX / 1024)
                        return -EINVAL;
                x *= 1024;
        } else if (i != len)
                return -EINVAL;
        *ret = x;
        return 0;
}

static int parse_hex_value(const char *v, size_t len, uint64_t *ret) {
        uint64_t x = 0;
        size_t i = 0, digits = 0;

        while (i < len && (v[i] == ' ' || v[i] == '\t'))
                i++;
        for (; i < len; i++, digits++) {
                char c = v[i];
                unsigned d;
                if (c >= '0' && c <= '9')
                        d = (unsigned) (c - '0');
                else if (c >= 'a' && c <= 'f')
                        d = (unsigned) (c - 'a' + 10);
                else if (c >= 'A' && c <= 'F')
                        d = (unsigned) (c - 'A' + 10);
                else
                        return -EINVAL;
                if (x >> 60)
                        return -EINVAL;
                x = (x << 4) | d;
        }
        if (digits == 0)
                return -EINVAL;
        *ret = x;
        return 0;
}

/* "Uid:\t0\t0\t0\t0" → four ids. */
static int parse_ids(const char *v, size_t len, uint32_t out[4]) {
        size_t i = 0;
        for (int k = 0; k < 4; k++) {
                char tok[16];
                while (i < len && (v[i] == ' ' || v[i] == '\t'))
                        i++;
                size_t start = i;
                while (i < len && v[i] != ' ' && v[i] != '\t')
                        i++;
                uint32_t x;
                if (!copy_token(tok, sizeof(tok), v + start, i - start) ||
                    parse_uint32(tok, &x) < 0)
                        return -EINVAL;
                out[k] = x;
        }
        return 0;
}

int proc_status_parse(const char *buf, size_t n, ProcStatus *ret) {
        ProcStatus s = {
                .vm_size = PROC_UNSET,
                .vm_lck = PROC_UNSET,
                .vm_pin = PROC_UNSET,
                .vm_rss = PROC_UNSET,
                .vm_swap = PROC_UNSET,
                .cap_eff = PROC_UNSET,
                .cap_prm = PROC_UNSET,
                .cap_amb = PROC_UNSET,
                .no_new_privs = -1,
                .threads = PROC_UNSET,
        };
        bool have_uid = false, have_gid = false;
        LineIter it = { buf, buf + n };
        const char *line;
        size_t len;

        if (n == 0)
                return -EBADMSG;

        while (line_next(&it, &line, &len)) {
                const char *colon = memchr(line, ':', len);
                if (!colon)
                        continue;
                size_t klen = (size_t) (colon - line);
                const char *v = colon + 1;
                size_t vlen = len - klen - 1;
                uint32_t ids[4];
                int r = 0;

#define KEY(k) (klen == sizeof(k) - 1 && memcmp(line, k, klen) == 0)
                if (KEY("Name")) {
                        while (vlen > 0 && (*v == '\t' || *v == ' '))
                                v++, vlen--;
                        if (vlen >= sizeof(s.name))
                                vlen = sizeof(s.name) - 1;
                        memcpy(s.name, v, vlen);
                        s.name[vlen] = '\0';
                } else if (KEY("Uid")) {
                        r = parse_ids(v, vlen, ids);
                        if (r >= 0) {
                                s.uid_real = ids[0], s.uid_effective = ids[1];
                                s.uid_saved = ids[2], s.uid_fs = ids[3];
                                have_uid = true;
                        }
                } else if (KEY("Gid")) {
                        r = parse_ids(v, vlen, ids);
                        if (r >= 0) {
                                s.gid_real = ids[0], s.gid_effective = ids[1];
                                s.gid_saved = ids[2], s.gid_fs = ids[3];
                                have_gid = true;
                        }
                } else if (KEY("VmSize"))
                        r = parse_kb_value(v, vlen, true, &s.vm_size);
                else if (KEY("VmLck"))
                        r = parse_kb_value(v, vlen, true, &s.vm_lck);
                else if (KEY("VmPin"))
                        r = parse_kb_value(v, vlen, true, &s.vm_pin);
                else if (KEY("VmRSS"))
                        r = parse_kb_value(v, vlen, true, &s.vm_rss);
                else if (KEY("VmSwap"))
                        r = parse_kb_value(v, vlen, true, &s.vm_swap);
                else if (KEY("CapEff"))
                        r = parse_hex_value(v, vlen, &s.cap_eff);
                else if (KEY("CapPrm"))
                        r = parse_hex_value(v, vlen, &s.cap_prm);
                else if (KEY("CapAmb"))
                        r = parse_hex_value(v, vlen, &s.cap_amb);
                else if (KEY("Threads"))
                        r = parse_kb_value(v, vlen, false, &s.threads);
                else if (KEY("NoNewPrivs")) {
                        uint64_t x;
                        r = parse_kb_value(v, vlen, false, &x);
                        if (r >= 0 && x > 1)
                                r = -EINVAL;
                        if (r >= 0)
                                s.no_new_privs = (int) x;
                }
#undef KEY
                if (r < 0)
                        return r;
        }

        if (!have_uid || !have_gid)
                return it.p < buf + n ? -EINVAL : -EBADMSG;
        *ret = s;
        return 0;
}

int proc_stat_parse(const char *buf, size_t n, ProcStat *ret) {
        ProcStat s = {};
        const char *open, *close, *p, *end = buf + n;

        /* comm may contain spaces, parentheses and ") (": it runs from the first '(' to the
         * last ')' of the whole line. */
        open = memchr(buf, '(', n);
        if (!open)
                return -EBADMSG;
        close = NULL;
        for (const char *q = end; q > open + 1; q--)
                if (q[-1] == ')') {
                        close = q - 1;
                        break;
                }
        if (!close)
                return -EBADMSG;
        size_t clen = (size_t) (close - open - 1);
        if (clen >= sizeof(s.comm))
                clen = sizeof(s.comm) - 1;
        memcpy(s.comm, open + 1, clen);
        s.comm[clen] = '\0';

        /* Fields after comm: 3 state, 4 ppid, ... 10 minflt, 12 majflt, 22 starttime. */
        p = close + 1;
        for (int field = 3; field <= 22; field++) {
                char tok[32];
                while (p < end && *p == ' ')
                        p++;
                if (p >= end || *p == '\n')
                        return -EBADMSG;
                const char *start = p;
                while (p < end && *p != ' ' && *p != '\n')
                        p++;
                if (!copy_token(tok, sizeof(tok), start, (size_t) (p - start)))
                        return -EINVAL;

                uint64_t x = 0;
                if (field == 3) {
                        if (strlen(tok) != 1)
                                return -EINVAL;
                        s.state = tok[0];
                        continue;
                }
                if (field == 4 || field == 10 || field == 12 || field == 22) {
                        if (parse_uint64(tok, &x) < 0)
                                return -EINVAL;
                }
                switch (field) {
                case 4:
                        if (x > INT_MAX)
                                return -EINVAL;
                        s.ppid = (pid_t) x;
                        break;
                case 10:
                        s.minflt = x;
                        break;
                case 12:
                        s.majflt = x;
                        break;
                case 22:
                        s.starttime = x;
                        break;
                default:
                        break;
                }
        }
        *ret = s;
        return 0;
}

int meminfo_parse(const char *buf, size_t n, MemInfo *ret) {
        MemInfo m = {
                .mem_total = PROC_UNSET,
                .mem_available = PROC_UNSET,
                .mlocked = PROC_UNSET,
                .unevictable = PROC_UNSET,
                .swap_total = PROC_UNSET,
                .swap_free = PROC_UNSET,
        };
        LineIter it = { buf, buf + n };
        const char *line;
        size_t len;

        while (line_next(&it, &line, &len)) {
                const char *colon = memchr(line, ':', len);
                if (!colon)
                        continue;
                size_t klen = (size_t) (colon - line);
                const char *v = colon + 1;
                size_t vlen = len - klen - 1;
                uint64_t *dst = NULL;
#define KEY(k) (klen == sizeof(k) - 1 && memcmp(line, k, klen) == 0)
                if (KEY("MemTotal"))
                        dst = &m.mem_total;
                else if (KEY("MemAvailable"))
                        dst = &m.mem_available;
                else if (KEY("Mlocked"))
                        dst = &m.mlocked;
                else if (KEY("Unevictable"))
                        dst = &m.unevictable;
                else if (KEY("SwapTotal"))
                        dst = &m.swap_total;
                else if (KEY("SwapFree"))
                        dst = &m.swap_free;
#undef KEY
                if (dst) {
                        int r = parse_kb_value(v, vlen, true, dst);
                        if (r < 0)
                                return r;
                }
        }
        if (m.mem_total == PROC_UNSET)
                return n == 0 ? -EBADMSG : -EINVAL;
        *ret = m;
        return 0;
}

int proc_limits_parse(const char *buf, size_t n, ProcLimits *ret) {
        static const char key[] = "Max locked memory";
        LineIter it = { buf, buf + n };
        const char *line;
        size_t len;

        while (line_next(&it, &line, &len)) {
                if (len < sizeof(key) - 1 || memcmp(line, key, sizeof(key) - 1) != 0)
                        continue;
                /* "Max locked memory         8388608              8388608              bytes" */
                uint64_t vals[2];
                size_t i = sizeof(key) - 1;
                for (int k = 0; k < 2; k++) {
                        char tok[32];
                        while (i < len && line[i] == ' ')
                                i++;
                        size_t start = i;
                        while (i < len && line[i] != ' ')
                                i++;
                        if (!copy_token(tok, sizeof(tok), line + start, i - start))
                                return -EINVAL;
                        if (streq(tok, "unlimited"))
                                vals[k] = UINT64_MAX;
                        else if (parse_uint64(tok, &vals[k]) < 0)
                                return -EINVAL;
                }
                ret->memlock_soft = vals[0];
                ret->memlock_hard = vals[1];
                return 0;
        }
        return n == 0 ? -EBADMSG : -EINVAL;
}

static bool is_unit_name(const char *s, size_t len) {
        static const char *const suffixes[] = { ".service", ".scope", ".socket", ".mount",
                                                ".swap",    ".timer", ".path" };
        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                size_t sl = strlen(suffixes[i]);
                if (len > sl && memcmp(s + len - sl, suffixes[i], sl) == 0)
                        return true;
        }
        return false;
}

int proc_cgroup_unit_parse(const char *buf, size_t n, char **ret) {
        LineIter it = { buf, buf + n };
        const char *line, *path = NULL;
        size_t len, plen = 0;

        /* Prefer the unified hierarchy ("0::/system.slice/foo.service"), else name=systemd. */
        while (line_next(&it, &line, &len)) {
                if (len >= 3 && memcmp(line, "0::", 3) == 0) {
                        path = line + 3, plen = len - 3;
                        break;
                }
                const char *p = memmem(line, len, ":name=systemd:", 14);
                if (p) {
                        path = p + 14;
                        plen = len - (size_t) (path - line);
                }
        }
        if (!path)
                return -ENOENT;

        /* The innermost unit: walk the path elements, keep the last that names a unit. */
        const char *unit = NULL;
        size_t ulen = 0;
        for (size_t i = 0; i < plen;) {
                while (i < plen && path[i] == '/')
                        i++;
                size_t start = i;
                while (i < plen && path[i] != '/')
                        i++;
                if (i > start && is_unit_name(path + start, i - start)) {
                        unit = path + start;
                        ulen = i - start;
                }
        }
        if (!unit)
                return -ENOENT;
        char *u = strndup(unit, ulen);
        if (!u)
                return -ENOMEM;
        *ret = u;
        return 0;
}

int proc_open(pid_t pid) {
        char path[32];
        int fd;

        if (pid <= 0)
                return -EINVAL;
        snprintf(path, sizeof(path), "/proc/%d", (int) pid);
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? -ESRCH : negative_errno();
        return fd;
}

int read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, alloc = 4096;

        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errno == ENOENT && dirfd != AT_FDCWD ? -ESRCH : negative_errno();

        buf = malloc(alloc);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (size + 1 >= alloc) {
                        if (alloc >= max + 1)
                                return -EFBIG;
                        size_t na = MIN(alloc * 2, max + 1);
                        char *nb = realloc(buf, na);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb, alloc = na;
                }
                ssize_t k = read(fd, buf + size, alloc - size - 1);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        /* A process that died between open and read reports ESRCH. */
                        return negative_errno();
                }
                if (k == 0)
                        break;
                size += (size_t) k;
                if (size > max)
                        return -EFBIG;
        }
        buf[size] = '\0';
        *ret = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = size;
        return 0;
}

#define DEFINE_PROC_READER(func, file, type, parser)                                               \
        int func(int proc_dirfd, type *ret) {                                                      \
                _cleanup_free_ char *buf = NULL;                                                   \
                size_t n;                                                                          \
                int r = read_file_at(proc_dirfd, file, PROC_FILE_MAX, &buf, &n);                   \
                if (r < 0)                                                                         \
                        return r;                                                                  \
                return parser(buf, n, ret);                                                        \
        }

DEFINE_PROC_READER(proc_status_read, "status", ProcStatus, proc_status_parse)
DEFINE_PROC_READER(proc_stat_read, "stat", ProcStat, proc_stat_parse)
DEFINE_PROC_READER(proc_limits_read, "limits", ProcLimits, proc_limits_parse)
DEFINE_PROC_READER(proc_cgroup_unit_read, "cgroup", char *, proc_cgroup_unit_parse)

int meminfo_read(MemInfo *ret) {
        _cleanup_free_ char *buf = NULL;
        size_t n;
        int r = read_file_at(AT_FDCWD, "/proc/meminfo", PROC_FILE_MAX, &buf, &n);
        if (r < 0)
                return r;
        return meminfo_parse(buf, n, ret);
}

int proc_exe_read(int proc_dirfd, char **ret) {
        char buf[PATH_MAX + 1];
        ssize_t k = readlinkat(proc_dirfd, "exe", buf, sizeof(buf) - 1);
        if (k < 0)
                return errno == ENOENT ? -ESRCH : negative_errno();
        buf[k] = '\0';
        char *s = strdup(buf);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int proc_vm_lck_read(pid_t pid, int pidfd, uint64_t *ret) {
        _cleanup_close_ int dfd = -EBADF;
        ProcStatus st;
        int r;

        dfd = proc_open(pid);
        if (dfd < 0)
                return dfd;
        r = proc_status_read(dfd, &st);
        if (r < 0)
                return r;
        if (pidfd >= 0) {
                pid_t now;
                r = pidfd_get_pid(pidfd, &now);
                if (r < 0 || now != pid)
                        return -ESRCH;
        }
        *ret = st.vm_lck == PROC_UNSET ? 0 : st.vm_lck;
        return 0;
}
