/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Resolving a command as its caller would, and telling whether LD_PRELOAD can reach it. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef enum ExecKind {
        EXEC_KIND_DYNAMIC, /* ELF with PT_INTERP, or a script run by a dynamic interpreter */
        EXEC_KIND_STATIC, /* ELF without PT_INTERP (static or static-pie): no loader */
        EXEC_KIND_SECURE_EXEC, /* setuid/setgid to someone else, or file capabilities: AT_SECURE,
                                * the loader ignores LD_PRELOAD */
        EXEC_KIND_OTHER, /* not ELF, not a script (binfmt_misc, ...): treated as dynamic */
        _EXEC_KIND_MAX,
        _EXEC_KIND_INVALID = -EINVAL,
} ExecKind;

/* "dynamic", "static", "secure-exec", "other". */
const char *exec_kind_to_string(ExecKind k);
/* Whether the LD_PRELOAD shim cannot reach such a program (static, secure-exec). */
bool exec_kind_needs_injection(ExecKind k);

/* Who runs the command. */
typedef struct ExecCaller {
        uid_t uid;
        gid_t gid;
        const gid_t *groups;
        size_t n_groups;
        const char *cwd; /* for relative commands ("./a.out"); NULL = "/" */
        const char *path; /* the caller's PATH; NULL = the default "/usr/local/bin:/usr/bin:/bin" */
} ExecCaller;

typedef struct ExecCheck {
        char *path; /* the resolved absolute path, what is executed (malloc'd) */
        char *canonical; /* realpath of it: what /proc/PID/exe will show, for policy matching */
        ExecKind kind;
        char *interpreter; /* for "#!" scripts: the interpreter's path (malloc'd), else NULL */
} ExecCheck;
void exec_check_done(ExecCheck *c);

/* Resolves argv0 like execvp(3) does for the caller: with a '/' relative to cwd, else the first
 * PATH entry holding a regular file the caller may execute (by mode bits against uid, gid,
 * groups; root needs one x bit; noexec mounts refuse; ACLs are not read: execve as the caller
 * has the last word). Then classifies it (ELF headers, "#!", setuid/setgid/nosuid, the
 * security.capability xattr). Returns 0, or -ENOENT (not found), -EACCES (found, not
 * executable by the caller), -EISDIR, ... with a sentence naming the path in *ret_error
 * (malloc'd, if ret_error is non-NULL). */
int exec_check(const char *argv0, const ExecCaller *caller, ExecCheck *ret, char **ret_error);

/* Pure: from the first bytes of a file (at least the ELF header and program headers),
 * whether it is an ELF executable and whether it has PT_INTERP. Returns 1 (ELF, *ret_static
 * set), 0 (not ELF), -EBADMSG (ELF, but truncated or malformed headers). ELF32/ELF64, both
 * byte orders. */
int elf_is_static(const void *buf, size_t n, bool *ret_static);

/* Pure: for a buffer starting with "#!", the interpreter path (malloc'd) in *ret. Returns 1,
 * 0 (not a script), -EINVAL (no interpreter), -ENOMEM. */
int script_interpreter(const void *buf, size_t n, char **ret);

/* Pure: whether executing a file with this mode/owner/xattr presence by uid/gid is a secure
 * exec (AT_SECURE): setuid to another uid, setgid to another gid (unless the mount is nosuid),
 * or file capabilities for a non-root caller. */
bool exec_is_secure(mode_t mode, uid_t owner, gid_t group, bool has_file_caps, bool nosuid,
                    uid_t uid, gid_t gid);
