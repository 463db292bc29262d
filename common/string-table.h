/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Enum <-> string tables: every enum with a _MAX has NAME_table[] and these two functions. */

#include <stddef.h>

#include "common/macro.h"

/* Index of s in table (n entries, NULL entries skipped), or -EINVAL. */
int string_table_lookup(const char *const *table, size_t n, const char *s);

/* Defines type##_to_string() (NULL when out of range) and _from_string() (-EINVAL when
 * unknown) over a static const char *const name##_table[]. */
#define DEFINE_STRING_TABLE_LOOKUP(name, type)                                                     \
        const char *name##_to_string(type i) {                                                     \
                if ((int) i < 0 || (size_t) i >= ELEMENTSOF(name##_table))                         \
                        return NULL;                                                               \
                return name##_table[i];                                                            \
        }                                                                                          \
        type name##_from_string(const char *s) {                                                   \
                return (type) string_table_lookup(name##_table, ELEMENTSOF(name##_table), s);      \
        }

/* Only the _to_string() direction. */
#define DEFINE_STRING_TABLE_TO_STRING(name, type)                                                  \
        const char *name##_to_string(type i) {                                                     \
                if ((int) i < 0 || (size_t) i >= ELEMENTSOF(name##_table))                         \
                        return NULL;                                                               \
                return name##_table[i];                                                            \
        }
