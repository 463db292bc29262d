/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "daemon/helpers/exec-check.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/macro.h"

/* How much of a file is read to classify it: the ELF header and program headers sit at the
 * start of every real executable; "#!" lines are limited to 256 bytes by the kernel (6.x). */
#define EXEC_HEAD_MAX (64u * 1024u)
#define SCRIPT_LINE_MAX 256u
#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

static const char *const exec_kind_table[_EXEC_KIND_MAX] = {
        [EXEC_KIND_DYNAMIC] = "dynamic",
        [EXEC_KIND_STATIC] = "static",
        [EXEC_KIND_SECURE_EXEC] = "secure-exec",
        [EXEC_KIND_OTHER] = "other",
};

_printf_(2, 3) static void set_error(char **ret_error, const char *format, ...) {
        va_list ap;

        if (!ret_error)
                return;
        va_start(ap, format);
        if (vasprintf(ret_error, format, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
}

const char *exec_kind_to_string(ExecKind k) {
        if (k < 0 || k >= _EXEC_KIND_MAX)
                return NULL;
        return exec_kind_table[k];
}

bool exec_kind_needs_injection(ExecKind k) {
        return k == EXEC_KIND_STATIC || k == EXEC_KIND_SECURE_EXEC;
}

void exec_check_done(ExecCheck *c) {
        if (!c)
                return;
        free(c->path);
        free(c->canonical);
        free(c->interpreter);
        *c = (ExecCheck){ .kind = _EXEC_KIND_INVALID };
}

/* Reads an unsigned field of size sz at off in the file's byte order. */
static uint64_t elf_get(const uint8_t *p, size_t sz, bool msb) {
        uint64_t v = 0;

        for (size_t i = 0; i < sz; i++)
                v |= (uint64_t) p[msb ? sz - 1 - i : i] << (8 * i);
        return v;
}

int elf_is_static(const void *buf, size_t n, bool *ret_static) {
        const uint8_t *b = buf;
        uint64_t phoff, phentsize, phnum, type;
        bool is64, msb;

        if (!b || n < EI_NIDENT || memcmp(b, ELFMAG, SELFMAG) != 0)
                return 0;

        switch (b[EI_CLASS]) {
        case ELFCLASS32:
                is64 = false;
                break;
        case ELFCLASS64:
                is64 = true;
                break;
        default:
                return -EBADMSG;
        }
        switch (b[EI_DATA]) {
        case ELFDATA2LSB:
                msb = false;
                break;
        case ELFDATA2MSB:
                msb = true;
                break;
        default:
                return -EBADMSG;
        }

        if (n < (is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr)))
                return -EBADMSG;

        if (is64) {
                type = elf_get(b + offsetof(Elf64_Ehdr, e_type), 2, msb);
                phoff = elf_get(b + offsetof(Elf64_Ehdr, e_phoff), 8, msb);
                phentsize = elf_get(b + offsetof(Elf64_Ehdr, e_phentsize), 2, msb);
                phnum = elf_get(b + offsetof(Elf64_Ehdr, e_phnum), 2, msb);
        } else {
                type = elf_get(b + offsetof(Elf32_Ehdr, e_type), 2, msb);
                phoff = elf_get(b + offsetof(Elf32_Ehdr, e_phoff), 4, msb);
                phentsize = elf_get(b + offsetof(Elf32_Ehdr, e_phentsize), 2, msb);
                phnum = elf_get(b + offsetof(Elf32_Ehdr, e_phnum), 2, msb);
        }

        /* Relocatable objects and core files cannot be executed. */
        if (type != ET_EXEC && type != ET_DYN)
                return -EBADMSG;
        /* PN_XNUM (more than 0xfffe headers) is never used by executables. */
        if (phnum == 0 || phnum >= PN_XNUM)
                return -EBADMSG;
        if (phentsize < (is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)))
                return -EBADMSG;
        /* All values are at most 64 bits read from at most 16-bit and 64-bit fields: the
         * product fits, the sum is checked against n without overflow. */
        if (phoff > n || phentsize * phnum > n - phoff)
                return -EBADMSG;

        for (uint64_t i = 0; i < phnum; i++) {
                const uint8_t *ph = b + phoff + i * phentsize;
                uint64_t p_type = elf_get(ph, 4, msb); /* p_type is first in both classes */

                if (p_type == PT_INTERP) {
                        *ret_static = false;
                        return 1;
                }
        }

        *ret_static = true;
        return 1;
}

int script_interpreter(const void *buf, size_t n, char **ret) {
        const char *b = buf, *end, *p, *q;
        char *s;

        if (!b || n < 2 || b[0] != '#' || b[1] != '!')
                return 0;

        n = MIN(n, (size_t) SCRIPT_LINE_MAX);
        end = memchr(b, '\n', n) ?: b + n;

        /* Like the kernel (fs/binfmt_script.c): skip blanks, the interpreter runs to the next
         * blank. */
        for (p = b + 2; p < end && (*p == ' ' || *p == '\t'); p++)
                ;
        for (q = p; q < end && *q != ' ' && *q != '\t' && *q != '\0'; q++)
                ;
        if (q == p)
                return -EINVAL;

        s = strndup(p, (size_t) (q - p));
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 1;
}

bool exec_is_secure(mode_t mode, uid_t owner, gid_t group, bool has_file_caps, bool nosuid,
                    uid_t uid, gid_t gid) {
        if (nosuid)
                return false; /* the kernel ignores set-id bits and file capabilities there */
        if ((mode & S_ISUID) && owner != uid)
                return true;
        /* Set-group-ID without group execute permission is mandatory locking, not set-gid. */
        if ((mode & S_ISGID) && (mode & S_IXGRP) && group != gid)
                return true;
        /* Root already holds every capability: nothing is gained. */
        if (has_file_caps && uid != 0)
                return true;
        return false;
}

static bool caller_in_group(const ExecCaller *c, gid_t g) {
        if (c->gid == g)
                return true;
        for (size_t i = 0; i < c->n_groups; i++)
                if (c->groups[i] == g)
                        return true;
        return false;
}

/* By mode bits, as the kernel's generic_permission() would without ACLs. */
static bool caller_may_execute(const ExecCaller *c, const struct stat *st) {
        if (c->uid == 0)
                return (st->st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) != 0;
        if (st->st_uid == c->uid)
                return (st->st_mode & S_IXUSR) != 0;
        if (caller_in_group(c, st->st_gid))
                return (st->st_mode & S_IXGRP) != 0;
        return (st->st_mode & S_IXOTH) != 0;
}

/* dir + "/" + name, with dir made absolute against cwd. An empty dir means cwd. */
static int path_join_abs(const char *cwd, const char *dir, size_t dir_len, const char *name,
                         char **ret) {
        char *s;
        int k;

        if (dir_len == 0) {
                dir = ".";
                dir_len = 1;
        }
        if (dir[0] == '/')
                k = asprintf(&s, "%.*s/%s", (int) dir_len, dir, name);
        else
                k = asprintf(&s, "%s/%.*s/%s", cwd ?: "/", (int) dir_len, dir, name);
        if (k < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/* Removes "//", "/./" from an absolute path in place (not "..": that would change meaning
 * across symlinks). */
static void path_simplify(char *p) {
        char *w = p;

        for (const char *r = p; *r;) {
                if (r[0] == '/' && r[1] == '/') {
                        r++;
                        continue;
                }
                if (r[0] == '/' && r[1] == '.' && (r[2] == '/' || r[2] == '\0')) {
                        r += 2;
                        continue;
                }
                *w++ = *r++;
        }
        if (w == p)
                *w++ = '/';
        *w = '\0';
}

static int read_head(int fd, uint8_t *buf, size_t size, size_t *ret_n) {
        size_t n = 0;

        while (n < size) {
                ssize_t k = pread(fd, buf + n, size - n, (off_t) n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        *ret_n = n;
        return 0;
}

/* Classifies an executable file, following one "#!" level to the interpreter. */
static int classify(const char *path, const ExecCaller *c, int depth, ExecKind *ret_kind,
                    char **ret_interpreter, char **ret_error) {
        _cleanup_close_ int path_fd = -EBADF, fd = -EBADF;
        _cleanup_free_ uint8_t *buf = NULL;
        char fd_path[sizeof("/proc/self/fd/") + 12];
        _cleanup_free_ char *interp = NULL;
        struct statvfs sv;
        struct stat st;
        bool has_caps, is_static, secure;
        size_t n;
        int r;

        /* Look before opening for reading: this runs as root, and opening a device node (a
         * watchdog, a tape) can have effects. O_PATH opens nothing; the same inode is then
         * reopened through /proc, so a swapped path cannot slip a device in between. */
        path_fd = open(path, O_PATH | O_CLOEXEC);
        if (path_fd < 0) {
                r = negative_errno();
                set_error(ret_error, "Failed to open '%s': %s", path, strerror(-r));
                return r;
        }
        if (fstat(path_fd, &st) < 0) {
                r = negative_errno();
                set_error(ret_error, "Failed to stat '%s': %s", path, strerror(-r));
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                set_error(ret_error, "'%s' is not a regular file.", path);
                return -EACCES;
        }
        if (fstatvfs(path_fd, &sv) < 0) {
                r = negative_errno();
                set_error(ret_error, "Failed to stat '%s': %s", path, strerror(-r));
                return r;
        }
        if (sv.f_flag & ST_NOEXEC) {
                set_error(ret_error,
                          "'%s' is on a file system mounted noexec: it cannot be "
                          "executed.",
                          path);
                return -EACCES;
        }
        if (!caller_may_execute(c, &st)) {
                set_error(ret_error, "'%s' is not executable by uid %u.", path, (unsigned) c->uid);
                return -EACCES;
        }

        (void) snprintf(fd_path, sizeof(fd_path), "/proc/self/fd/%d", path_fd);
        has_caps = getxattr(fd_path, "security.capability", NULL, 0) >= 0;
        /* For a script this is decided by its interpreter: the kernel ignores a script's own
         * set-id bits and capabilities. */
        secure = exec_is_secure(st.st_mode, st.st_uid, st.st_gid, has_caps,
                                (sv.f_flag & ST_NOSUID) != 0, c->uid, c->gid);

        fd = open(fd_path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                /* Execute-only for everyone, and the daemon has no CAP_DAC_READ_SEARCH: it cannot
                 * look inside. Let execve() decide; treated like a dynamic program. */
                if (errno == EACCES || errno == EPERM) {
                        *ret_kind = secure ? EXEC_KIND_SECURE_EXEC : EXEC_KIND_OTHER;
                        return 0;
                }
                r = negative_errno();
                set_error(ret_error, "Failed to open '%s': %s", path, strerror(-r));
                return r;
        }

        buf = malloc(EXEC_HEAD_MAX);
        if (!buf)
                return -ENOMEM;
        r = read_head(fd, buf, EXEC_HEAD_MAX, &n);
        if (r < 0) {
                set_error(ret_error, "Failed to read '%s': %s", path, strerror(-r));
                return r;
        }

        r = elf_is_static(buf, n, &is_static);
        if (r == -EBADMSG) {
                set_error(ret_error, "'%s' is not a valid ELF executable.", path);
                return -ENOEXEC;
        }
        if (r > 0) {
                *ret_kind = secure      ? EXEC_KIND_SECURE_EXEC
                            : is_static ? EXEC_KIND_STATIC
                                        : EXEC_KIND_DYNAMIC;
                return 0;
        }

        r = script_interpreter(buf, n, &interp);
        if (r < 0 && r != -EINVAL)
                return r;
        if (r == -EINVAL) {
                set_error(ret_error, "'%s' has a '#!' line without interpreter.", path);
                return -ENOEXEC;
        }
        if (r > 0 && depth == 0) {
                ExecKind k;

                if (interp[0] != '/') {
                        /* The kernel resolves a relative interpreter against the cwd; rare and
                         * fragile: let exec decide, treat as dynamic. */
                        *ret_kind = EXEC_KIND_DYNAMIC;
                        *ret_interpreter = TAKE_PTR(interp);
                        return 0;
                }
                r = classify(interp, c, depth + 1, &k, NULL, ret_error);
                if (r == -ENOENT) {
                        if (ret_error)
                                free(TAKE_PTR(*ret_error));
                        set_error(ret_error,
                                  "'%s' is a script for the interpreter '%s', which does not "
                                  "exist.",
                                  path, interp);
                }
                if (r < 0)
                        return r;
                *ret_kind = k == EXEC_KIND_OTHER ? EXEC_KIND_DYNAMIC : k;
                *ret_interpreter = TAKE_PTR(interp);
                return 0;
        }

        *ret_kind = secure ? EXEC_KIND_SECURE_EXEC : EXEC_KIND_OTHER;
        return 0;
}

/* Tries one candidate path. 0: usable; 1: nothing there; -errno: exists but unusable (message
 * in *ret_error). */
static int try_candidate(const char *path, const ExecCaller *c, ExecCheck *ret, char **ret_error) {
        _cleanup_free_ char *interp = NULL, *canonical = NULL, *p = NULL;
        struct stat st;
        ExecKind kind;
        int r;

        if (stat(path, &st) < 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return 1;
                r = negative_errno();
                set_error(ret_error, "Failed to access '%s': %s", path, strerror(-r));
                return r;
        }
        if (S_ISDIR(st.st_mode)) {
                set_error(ret_error, "'%s' is a directory, not a program.", path);
                return -EISDIR;
        }

        r = classify(path, c, 0, &kind, &interp, ret_error);
        if (r < 0)
                return r;

        p = strdup(path);
        if (!p)
                return -ENOMEM;
        canonical = realpath(path, NULL);
        if (!canonical) {
                canonical = strdup(path);
                if (!canonical)
                        return -ENOMEM;
        }

        *ret = (ExecCheck){
                .path = TAKE_PTR(p),
                .canonical = TAKE_PTR(canonical),
                .kind = kind,
                .interpreter = TAKE_PTR(interp),
        };
        return 0;
}

int exec_check(const char *argv0, const ExecCaller *caller, ExecCheck *ret, char **ret_error) {
        _cleanup_free_ char *first_error = NULL;
        const char *search;
        int first_r = 0, r;

        if (!argv0 || argv0[0] == '\0') {
                if (ret_error)
                        *ret_error = strdup("No command given.");
                return -EINVAL;
        }
        if (caller->cwd && caller->cwd[0] != '/') {
                set_error(ret_error, "Working directory '%s' is not absolute.", caller->cwd);
                return -EINVAL;
        }

        if (strchr(argv0, '/')) {
                _cleanup_free_ char *p = NULL;

                if (argv0[0] == '/')
                        p = strdup(argv0);
                else if (path_join_abs(caller->cwd, ".", 1, argv0, &p) < 0)
                        p = NULL;
                if (!p)
                        return -ENOMEM;
                path_simplify(p);

                r = try_candidate(p, caller, ret, ret_error);
                if (r > 0) {
                        set_error(ret_error, "Command '%s' not found: '%s' does not exist.", argv0,
                                  p);
                        return -ENOENT;
                }
                return r;
        }

        /* Like execvp(3): every PATH entry in order; remember the first "exists, but unusable"
         * error and report it if no later entry works. */
        search = caller->path ?: DEFAULT_PATH;
        for (const char *d = search;;) {
                _cleanup_free_ char *p = NULL, *err = NULL;
                size_t l = strcspn(d, ":");

                r = path_join_abs(caller->cwd, d, l, argv0, &p);
                if (r < 0)
                        return r;
                path_simplify(p);

                r = try_candidate(p, caller, ret, ret_error ? &err : NULL);
                if (r == 0)
                        return 0;
                if (r == -ENOMEM)
                        return r;
                if (r < 0 && first_r == 0) {
                        first_r = r;
                        first_error = TAKE_PTR(err);
                }

                if (d[l] == '\0')
                        break;
                d += l + 1;
        }

        if (first_r < 0) {
                if (ret_error)
                        *ret_error = TAKE_PTR(first_error);
                return first_r;
        }
        set_error(ret_error, "Command '%s' not found in PATH '%s'.", argv0, search);
        return -ENOENT;
}
