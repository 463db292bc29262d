/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* libvirt domain XML to GuestFacts, with libxml2: bytes in, facts out, no I/O. Shared by the
 * libvirt hook and event mode. The XML is untrusted input (tests/fuzz/fuzz-domain-xml.c). */

#include <stddef.h>
#include <stdint.h>

#include "policy/guest-limit.h"

/* Domain XML larger than this is refused unparsed. libvirt's own RPC caps a string at 4 MiB
 * (VIR_NET_MESSAGE_STRING_MAX); real domains are a few KiB. */
#define DOMAIN_XML_SIZE_MAX (UINT64_C(8) << 20)
/* libvirt's "unlimited" <hard_limit> (VIR_DOMAIN_MEMORY_PARAM_UNLIMITED, 2^53 - 1 KiB): no
 * hard limit at all. */
#define DOMAIN_HARD_LIMIT_UNLIMITED_KIB ((UINT64_C(1) << 53) - 1)

/* Parses n bytes of domain XML (no NUL needed) into *ret (zeroed first; absent elements stay 0).
 * Returns 0; -E2BIG (over DOMAIN_XML_SIZE_MAX); -EBADMSG (not well-formed XML, a DTD, or a root
 * that is not <domain>); -EINVAL or -ERANGE (a size element with a bad number, unit or an
 * overflow); -ENOMEM. On a failure other than -ENOMEM, *ret_reason (if not NULL) points to a
 * static text naming what was wrong, and *ret holds what was read before it. */
int domain_facts_parse(const char *xml, size_t n, GuestFacts *ret, const char **ret_reason);

/* A libvirt scaled integer ("1024" with unit "MiB") in bytes: unit NULL or "" is KiB; b, byte(s);
 * k, KiB (1024) and KB (1000), and likewise M, G, T, P, E; letters in any case. Leading and
 * trailing whitespace around the digits is allowed. -EINVAL (not a number, unknown unit) or
 * -ERANGE (over UINT64_MAX). */
int domain_facts_parse_scaled(const char *value, const char *unit, uint64_t *ret);
