/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* "Did you mean ...?": the nearest known name to a misspelt one, by edit distance. */

#include <stddef.h>

/* Optimal string alignment distance (Levenshtein plus adjacent transpositions), comparing
 * ASCII letters case-insensitively but counting a case difference as a half step so that an
 * exact-case candidate wins a tie. Returned in half steps: 2 per edit, 1 per case change. */
size_t suggest_distance(const char *a, const char *b);

/* The candidate closest to word if it is close enough to be a likely typo, else NULL.
 * candidates is an array of n strings; NULL entries are skipped. */
const char *suggest_nearest(const char *word, const char *const *candidates, size_t n);
