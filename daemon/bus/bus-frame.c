/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "common/macro.h"
#include "common/string-table.h"
#include "daemon/bus/bus-frame.h"

static const char *const bus_frame_phase_table[_BUS_FRAME_PHASE_MAX] = {
        [BUS_FRAME_NUL] = "nul",   [BUS_FRAME_AUTH] = "auth",     [BUS_FRAME_HEADER] = "header",
        [BUS_FRAME_REST] = "rest", [BUS_FRAME_FAILED] = "failed",
};
DEFINE_STRING_TABLE_TO_STRING(bus_frame_phase, BusFramePhase);

void bus_frame_parser_init(BusFrameParser *p, uint64_t max_message, uint64_t max_auth) {
        *p = (BusFrameParser){
                .phase = BUS_FRAME_NUL,
                .max_message = max_message,
                .max_auth = max_auth,
        };
}

int bus_frame_message_size(const uint8_t header[static BUS_FRAME_FIXED_HEADER],
                           uint64_t *ret_size) {
        uint32_t body, fields;

        /* Read byte by byte: the header sits at any alignment in the caller's buffer. */
        if (header[0] == 'l') {
                body = (uint32_t) header[4] | (uint32_t) header[5] << 8 |
                       (uint32_t) header[6] << 16 | (uint32_t) header[7] << 24;
                fields = (uint32_t) header[12] | (uint32_t) header[13] << 8 |
                         (uint32_t) header[14] << 16 | (uint32_t) header[15] << 24;
        } else if (header[0] == 'B') {
                body = (uint32_t) header[4] << 24 | (uint32_t) header[5] << 16 |
                       (uint32_t) header[6] << 8 | (uint32_t) header[7];
                fields = (uint32_t) header[12] << 24 | (uint32_t) header[13] << 16 |
                         (uint32_t) header[14] << 8 | (uint32_t) header[15];
        } else
                return -EBADMSG;
        /* 64-bit arithmetic: two announced lengths near 4 GiB must not wrap. */
        *ret_size = BUS_FRAME_FIXED_HEADER + (((uint64_t) fields + 7) & ~(uint64_t) 7) +
                    (uint64_t) body;
        return 0;
}

static int fail(BusFrameParser *p, int r) {
        p->phase = BUS_FRAME_FAILED;
        /* Remember which error, so that later calls repeat it. */
        p->remaining = (uint64_t) -r;
        return r;
}

/* Consumes SASL bytes up to and including the "\r\n" of "BEGIN", if present. */
static size_t feed_auth(BusFrameParser *p, const uint8_t *d, size_t n, int *ret) {
        size_t i;

        *ret = 0;
        for (i = 0; i < n; i++) {
                uint8_t c = d[i];

                if (++p->auth_bytes > p->max_auth) {
                        *ret = fail(p, -ENOBUFS);
                        return i;
                }
                if (c != '\n') {
                        if (p->line_len < sizeof(p->line))
                                p->line[p->line_len] = (char) c;
                        p->line_len++;
                        continue;
                }
                /* sd-bus's server takes the line before "\r\n" as the command, and only an exact
                 * "BEGIN" ends authentication (anything else gets "ERROR" and stays in SASL). */
                if (p->line_len == 6 && memcmp(p->line, "BEGIN\r", 6) == 0) {
                        p->phase = BUS_FRAME_HEADER;
                        p->header_len = 0;
                        return i + 1;
                }
                p->line_len = 0;
        }
        return i;
}

int bus_frame_feed(BusFrameParser *p, const void *data, size_t n) {
        const uint8_t *d = data;
        int r;

        while (n > 0) {
                size_t k;

                switch (p->phase) {
                case BUS_FRAME_NUL:
                        /* sd-bus refuses a stream that does not start with NUL; we need not. */
                        p->phase = BUS_FRAME_AUTH;
                        p->auth_bytes = 1;
                        d++;
                        n--;
                        break;
                case BUS_FRAME_AUTH:
                        k = feed_auth(p, d, n, &r);
                        if (r < 0)
                                return r;
                        d += k;
                        n -= k;
                        break;
                case BUS_FRAME_HEADER:
                        k = BUS_FRAME_FIXED_HEADER - p->header_len;
                        if (k > n)
                                k = n;
                        memcpy(p->header + p->header_len, d, k);
                        p->header_len += k;
                        d += k;
                        n -= k;
                        if (p->header_len < BUS_FRAME_FIXED_HEADER)
                                break;
                        r = bus_frame_message_size(p->header, &p->message_size);
                        if (r < 0)
                                return fail(p, r);
                        if (p->message_size > p->max_message)
                                return fail(p, -EMSGSIZE);
                        p->remaining = p->message_size - BUS_FRAME_FIXED_HEADER;
                        p->phase = BUS_FRAME_REST;
                        break;
                case BUS_FRAME_REST:
                        k = p->remaining < n ? (size_t) p->remaining : n;
                        p->remaining -= k;
                        d += k;
                        n -= k;
                        break;
                case BUS_FRAME_FAILED:
                        return -(int) p->remaining;
                default:
                        return -EINVAL;
                }
                /* A message is complete when its last byte has been read (also when it has no
                 * bytes beyond the fixed header, which sd-bus then rejects itself). */
                if (p->phase == BUS_FRAME_REST && p->remaining == 0) {
                        p->n_messages++;
                        p->message_size = 0;
                        p->header_len = 0;
                        p->phase = BUS_FRAME_HEADER;
                }
        }
        if (p->phase == BUS_FRAME_FAILED)
                return -(int) p->remaining;
        return 0;
}
