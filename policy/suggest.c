/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Edit distance for did-you-mean suggestions on unknown sections and keys. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/macro.h"
#include "policy/suggest.h"

/* Names we compare are short (keys, sections); longer input is never a typo of one. */
#define SUGGEST_LEN_MAX 64U

static size_t cost(char a, char b) {
        if (a == b)
                return 0;
        if (tolower((unsigned char) a) == tolower((unsigned char) b))
                return 1;
        return 2;
}

size_t suggest_distance(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b);

        if (la > SUGGEST_LEN_MAX || lb > SUGGEST_LEN_MAX)
                return SIZE_MAX;

        /* Three rows of the dynamic programming table suffice for transpositions. */
        size_t rows[3][SUGGEST_LEN_MAX + 1];
        size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];

        for (size_t j = 0; j <= lb; j++)
                prev[j] = 2 * j;
        for (size_t i = 1; i <= la; i++) {
                cur[0] = 2 * i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t v = prev[j - 1] + cost(a[i - 1], b[j - 1]);
                        v = MIN(v, prev[j] + 2);
                        v = MIN(v, cur[j - 1] + 2);
                        if (i > 1 && j > 1 && cost(a[i - 1], b[j - 2]) == 0 &&
                            cost(a[i - 2], b[j - 1]) == 0)
                                v = MIN(v, prev2[j - 2] + 2);
                        cur[j] = v;
                }
                size_t *t = prev2;
                prev2 = prev;
                prev = cur;
                cur = t;
        }
        return prev[lb];
}

const char *suggest_nearest(const char *word, const char *const *candidates, size_t n) {
        const char *best = NULL;
        size_t best_d = SIZE_MAX, len = strlen(word);

        if (len == 0)
                return NULL;

        /* Allowed edits grow with the length: one for short names, up to three for long ones. */
        size_t max_edits = len <= 4 ? 1 : len <= 9 ? 2 : 3;

        for (size_t i = 0; i < n; i++) {
                if (!candidates[i])
                        continue;
                /* The distance is at least the difference in length: skip the hopeless. */
                size_t cl = strlen(candidates[i]);
                if ((cl > len ? cl - len : len - cl) > max_edits)
                        continue;
                size_t d = suggest_distance(word, candidates[i]);
                if (d < best_d) {
                        best_d = d;
                        best = candidates[i];
                }
        }
        /* A pure case difference ("limit") is always a good suggestion. */
        if (best && best_d != SIZE_MAX && (best_d <= 2 * max_edits || strcasecmp(best, word) == 0))
                return best;
        return NULL;
}
