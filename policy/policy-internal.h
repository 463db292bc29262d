/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The inside of a Policy and a PolicySet, shared by the files of the policy library. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "policy/policy.h"

/* A list of globs (Executable=, LibvirtDomain=, Unit=). */
typedef struct GlobList {
        char **globs; /* NULL-terminated */
        size_t n;
} GlobList;

/* A list of users or groups, resolved at load; names as written, for messages. */
typedef struct IdList {
        uint32_t *ids;
        char **names; /* NULL-terminated, parallel to ids */
        size_t n;
} IdList;

struct Policy {
        char *name;
        char *path;
        char *description;

        /* [Match]: every key that is set must match; within a key, any value may match. */
        GlobList executables;
        IdList users;
        IdList groups;
        GlobList libvirt_domains;
        GlobList units;

        /* [Lock] */
        LockSettings lock;
        char *limit_spec; /* as written: "16G", "25%", "infinity" */

        /* [Access] */
        IdList allow_uids; /* AllowUsers= names */
        IdList allow_gids; /* AllowUsers= @groups */
        char *allow_users_text;
        bool allow_run;
        bool allow_attach;
};

struct PolicySet {
        Policy **policies;
        size_t n;
};

/* Defaults of a policy's settings (documented in mlockd.policy(5)). */
#define POLICY_DEFAULT_MODE LOCK_MODE_ON
#define POLICY_DEFAULT_PREFAULT_THREADS (-1) /* auto */
#define POLICY_DEFAULT_THP true
#define POLICY_DEFAULT_INHERIT false
#define POLICY_DEFAULT_ON_FAILURE ON_FAILURE_ABORT
#define POLICY_DEFAULT_ON_EXCEED ON_EXCEED_WARN
#define POLICY_DEFAULT_CONTAINMENT CONTAINMENT_REQUIRED
#define POLICY_DEFAULT_ALLOW_RUN true
#define POLICY_DEFAULT_ALLOW_ATTACH true

/* A policy name: letters, digits, "-", "_", ".", "@"; at most this long. */
#define POLICY_NAME_MAX 128U
bool policy_name_is_valid(const char *name);

/* Joins a list with spaces for messages ("a b c"). malloc'd, NULL on OOM. */
char *strv_join_spaces(char *const *l);

/* Whether id is in the list. */
bool id_list_contains(const IdList *l, uint32_t id);
/* Whether s matches any glob of the list (fnmatch without flags: '*' also matches '/'). */
bool glob_list_match(const GlobList *l, const char *s);
