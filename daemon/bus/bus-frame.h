/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* D-Bus stream framing as a server reads it from one client: the NUL byte, SASL lines until
 * BEGIN, then messages whose fixed headers announce their total size. Pure and incremental:
 * fed any split of the stream, it reports the same sizes, so it can watch every byte sd-bus
 * reads (daemon/bus-input-limit.c) and refuse a message before sd-bus allocates it. */

#include <stddef.h>
#include <stdint.h>

typedef enum BusFramePhase {
        BUS_FRAME_NUL, /* the single NUL byte a client sends first */
        BUS_FRAME_AUTH, /* SASL lines ("AUTH EXTERNAL ...\r\n") until "BEGIN\r\n" */
        BUS_FRAME_HEADER, /* collecting a message's 16-byte fixed header */
        BUS_FRAME_REST, /* skipping the rest of a message: header fields, padding, body */
        BUS_FRAME_FAILED, /* the stream broke a limit or the protocol; stays here */
        _BUS_FRAME_PHASE_MAX,
        _BUS_FRAME_PHASE_INVALID = -1,
} BusFramePhase;
const char *bus_frame_phase_to_string(BusFramePhase p);

/* Size of the fixed header: endianness, type, flags, version, body length, serial, and the
 * length of the header-fields array. */
#define BUS_FRAME_FIXED_HEADER 16u

typedef struct BusFrameParser {
        BusFramePhase phase;
        uint64_t max_message; /* largest total message size allowed, in bytes */
        uint64_t max_auth; /* most bytes the SASL phase may take */
        uint64_t auth_bytes; /* bytes seen in the SASL phase so far */
        char line[6]; /* the first bytes of the current SASL line ("BEGIN" fits) */
        size_t line_len; /* bytes of the current line so far (may exceed sizeof(line)) */
        uint8_t header[BUS_FRAME_FIXED_HEADER];
        size_t header_len;
        uint64_t message_size; /* announced total of the message in progress; 0 between */
        uint64_t remaining; /* bytes of that message still to come */
        uint64_t n_messages; /* messages completed */
} BusFrameParser;

void bus_frame_parser_init(BusFrameParser *p, uint64_t max_message, uint64_t max_auth);

/* The total size announced by a fixed header, as sd-bus computes it: 16 + the fields array
 * rounded up to 8 + the body. -EBADMSG if the endianness byte is neither 'l' nor 'B'. */
int bus_frame_message_size(const uint8_t header[static BUS_FRAME_FIXED_HEADER], uint64_t *ret_size);

/* Feeds the next n bytes of the stream. Returns 0, or -EMSGSIZE when a header announces more
 * than max_message, -ENOBUFS when the SASL phase exceeds max_auth, -EBADMSG for a header that
 * is not D-Bus. After an error every later call returns the same error. p->message_size then
 * tells what the message in progress announced (what sd-bus is about to allocate). */
int bus_frame_feed(BusFrameParser *p, const void *data, size_t n);
