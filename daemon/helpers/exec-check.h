/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Resolving and opening a command as its caller (in the launch child), and telling whether
 * LD_PRELOAD can reach it. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <unistd.h>

#include "common/macro.h"

typedef enum ExecKind {
        EXEC_KIND_DYNAMIC, /* ELF with PT_INTERP, or a script run by a dynamic interpreter */
        EXEC_KIND_STATIC, /* ELF without PT_INTERP (static or static-pie): no loader */
        EXEC_KIND_SECURE_EXEC, /* setuid/setgid to someone else, or file capabilities: AT_SECURE,
                                * the loader ignores LD_PRELOAD */
        EXEC_KIND_OTHER, /* not ELF, not a script (binfmt_misc, ...): treated as dynamic */
        _EXEC_KIND_MAX,
        _EXEC_KIND_INVALID = -EINVAL,
} ExecKind;

/* The sentence for a person exec-check.c and spawn.c return: a printf into *ret_error
 * (malloc'd; NULL if out of memory). ret_error may be NULL. */
void helper_set_error(char **ret_error, const char *format, ...) _printf_(2, 3);

/* "dynamic", "static", "secure-exec", "other". */
const char *exec_kind_to_string(ExecKind k);
/* Whether the LD_PRELOAD shim cannot reach such a program (static, secure-exec). */
bool exec_kind_needs_injection(ExecKind k);

/* An executable as the launch child opened it (O_PATH, as the caller): what the policy decides
 * on and exactly what is executed. */
typedef struct ExecFile {
        int fd; /* O_PATH|O_CLOEXEC: the program, or the script */
        char *path; /* canonical, from the fd (/proc/self/fd/N): what /proc/PID/exe will show */
        dev_t dev;
        ino_t ino;
        ExecKind kind; /* for a script: its interpreter's */
        int interp_fd; /* scripts: the "#!" interpreter, opened the same way; else -EBADF */
        char *interpreter; /* its canonical path, NULL if not a script */
        char *interp_arg; /* the optional argument on the "#!" line, or NULL */
        dev_t interp_dev;
        ino_t interp_ino;
} ExecFile;

#define EXEC_FILE_NULL ((ExecFile){ .fd = -EBADF, .interp_fd = -EBADF, .kind = _EXEC_KIND_INVALID })
void exec_file_done(ExecFile *f);

/* Resolves argv0 like execvp(3) for the current process (the launch child, which runs as the
 * caller, in the caller's cwd and root, without capabilities): with a '/' as given (relative to
 * the cwd, through any symlink, /proc/self/... or ".." the caller's kernel view resolves), else
 * the first of at most max_entries entries of search (NULL: "/usr/local/bin:/usr/bin:/bin")
 * holding a file the caller may execute. Every candidate is opened once with O_PATH; its
 * checks, classification (ELF headers, "#!", set-id, the security.capability xattr, nosuid,
 * noexec) and identity are taken from that fd. What the caller cannot see gives the kernel's
 * answer for it, the same as for a name that does not exist behind it.
 * Returns 0, or -ENOENT (not found), -EACCES (not executable, invisible), -EISDIR, -E2BIG (too
 * many PATH entries), ... with a sentence naming the path in *ret_error (malloc'd, if
 * non-NULL). */
int exec_resolve(const char *argv0, const char *search, size_t max_entries, ExecFile *ret,
                 char **ret_error);

/* Pure: from the first bytes of a file (at least the ELF header and program headers),
 * whether it is an ELF executable and whether it has PT_INTERP. Returns 1 (ELF, *ret_static
 * set), 0 (not ELF), -EBADMSG (ELF, but truncated or malformed headers). ELF32/ELF64, both
 * byte orders. */
int elf_is_static(const void *buf, size_t n, bool *ret_static);

/* Pure: for a buffer starting with "#!", the interpreter path (malloc'd) in *ret. Returns 1,
 * 0 (not a script), -EINVAL (no interpreter), -ENOMEM. */
int script_interpreter(const void *buf, size_t n, char **ret);
/* The same, and the optional argument (the rest of the line without surrounding blanks, as the
 * kernel passes it; NULL if none) in *ret_arg if non-NULL. */
int script_parse(const void *buf, size_t n, char **ret_interpreter, char **ret_arg);

/* Pure: whether executing a file with this mode/owner/xattr presence by uid/gid is a secure
 * exec (AT_SECURE): setuid to another uid, setgid to another gid (unless the mount is nosuid),
 * or file capabilities for a non-root caller. */
bool exec_is_secure(mode_t mode, uid_t owner, gid_t group, bool has_file_caps, bool nosuid,
                    uid_t uid, gid_t gid);
