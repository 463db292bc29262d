/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <strings.h>

#include <libxml/globals.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/tree.h>

#include "common/macro.h"
#include "libvirt/domain-facts.h"

static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int domain_facts_parse_scaled(const char *value, const char *unit, uint64_t *ret) {
        uint64_t v = 0, scale = 1024, base;
        const char *p = value;
        unsigned power;

        if (!value)
                return -EINVAL;
        while (is_space(*p))
                p++;
        if (*p < '0' || *p > '9')
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
                unsigned d = (unsigned) (*p - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        while (is_space(*p))
                p++;
        if (*p)
                return -EINVAL;

        if (unit && *unit) {
                /* libvirt's virScaleInteger: b/byte/bytes; a letter alone or with "iB" is binary,
                 * with "B" decimal; case does not matter. */
                switch (*unit) {
                case 'b':
                case 'B':
                        if (strcasecmp(unit, "b") != 0 && strcasecmp(unit, "byte") != 0 &&
                            strcasecmp(unit, "bytes") != 0)
                                return -EINVAL;
                        power = 0;
                        break;
                case 'k':
                case 'K':
                        power = 1;
                        break;
                case 'm':
                case 'M':
                        power = 2;
                        break;
                case 'g':
                case 'G':
                        power = 3;
                        break;
                case 't':
                case 'T':
                        power = 4;
                        break;
                case 'p':
                case 'P':
                        power = 5;
                        break;
                case 'e':
                case 'E':
                        power = 6;
                        break;
                default:
                        return -EINVAL;
                }
                if (power == 0)
                        base = 1;
                else if (unit[1] == '\0' || strcasecmp(unit + 1, "iB") == 0)
                        base = 1024;
                else if (strcasecmp(unit + 1, "B") == 0)
                        base = 1000;
                else
                        return -EINVAL;
                scale = 1;
                for (unsigned i = 0; i < power; i++)
                        scale *= base; /* 1024^6 = 2^60 fits */
        }
        if (v > UINT64_MAX / scale)
                return -ERANGE;
        *ret = v * scale;
        return 0;
}

static bool name_is(const xmlNode *n, const char *name) {
        return n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, (const xmlChar *) name);
}

/* The first child element called name, or NULL. */
static xmlNode *child(const xmlNode *parent, const char *name) {
        for (xmlNode *c = parent ? parent->children : NULL; c; c = c->next)
                if (name_is(c, name))
                        return c;
        return NULL;
}

/* Whether attribute name of n equals value; an absent attribute equals dflt (may be NULL). */
static bool attr_is(const xmlNode *n, const char *name, const char *value, const char *dflt) {
        xmlChar *a = xmlGetNoNsProp(n, (const xmlChar *) name);
        bool r;

        if (!a)
                return dflt && streq(dflt, value);
        r = xmlStrEqual(a, (const xmlChar *) value);
        xmlFree(a);
        return r;
}

/* The size in element n (content and unit= attribute). */
static int element_size(const xmlNode *n, uint64_t *ret) {
        xmlChar *content, *unit;
        int r;

        content = xmlNodeGetContent(n);
        if (!content)
                return -EINVAL; /* no text at all, e.g. <memory/> */
        unit = xmlGetNoNsProp(n, (const xmlChar *) "unit");
        r = domain_facts_parse_scaled((const char *) content, (const char *) unit, ret);
        xmlFree(unit);
        xmlFree(content);
        return r;
}

static unsigned count_up(unsigned v) {
        return v < GUEST_DEVICES_MAX ? v + 1 : v;
}

/* A PCI hostdev (or hostdev interface) uses VFIO unless <driver name='kvm'|'xen'> says
 * otherwise: libvirt's default backend is VFIO. */
static bool driver_is_vfio(const xmlNode *n) {
        xmlNode *d = child(n, "driver");

        return !d || attr_is(d, "name", "vfio", "vfio") || attr_is(d, "name", "default", NULL);
}

static void devices_facts(const xmlNode *devices, GuestFacts *f) {
        for (xmlNode *c = devices ? devices->children : NULL; c; c = c->next) {
                if (name_is(c, "hostdev")) {
                        if (!attr_is(c, "mode", "subsystem", "subsystem"))
                                continue;
                        if ((attr_is(c, "type", "pci", NULL) && driver_is_vfio(c)) ||
                            attr_is(c, "type", "mdev", NULL))
                                f->n_vfio = count_up(f->n_vfio);
                } else if (name_is(c, "interface")) {
                        /* SR-IOV VFs given as NICs are hostdevs to libvirt as well. */
                        if (attr_is(c, "type", "hostdev", NULL) && driver_is_vfio(c))
                                f->n_vfio = count_up(f->n_vfio);
                        else if (attr_is(c, "type", "vdpa", NULL))
                                f->n_vdpa = count_up(f->n_vdpa);
                } else if (name_is(c, "disk")) {
                        if (attr_is(c, "type", "nvme", NULL))
                                f->n_nvme = count_up(f->n_nvme);
                } else if (name_is(c, "iommu"))
                        f->viommu = true;
        }
}

static void silent(void *ctx, const char *msg, ...) {
}

static void silent_structured(void *ctx, xmlErrorPtr error) {
}

static void freedocp(xmlDoc **d) {
        if (*d)
                xmlFreeDoc(*d);
}

int domain_facts_parse(const char *xml, size_t n, GuestFacts *ret, const char **ret_reason) {
        _cleanup_(freedocp) xmlDoc *doc = NULL;
        const char *reason = NULL;
        GuestFacts f = {};
        xmlNode *root, *e;
        int r = 0;

        *ret = f;
        if (n > DOMAIN_XML_SIZE_MAX) {
                reason = "the domain XML is too large";
                r = -E2BIG;
                goto finish;
        }

        /* No network, no DTD loading or validation, no entity substitution (XML_PARSE_NOENT
         * is what would expand them), no XML_PARSE_HUGE: libxml2's limits on depth, name and
         * text sizes and entity amplification stay on. Errors are not printed: the caller
         * reports the reason. */
        xmlInitParser();
        /* Some errors (encoding conversion) bypass XML_PARSE_NOERROR and go to libxml2's
         * global handlers, which print to stderr with bits of the input: silence them for
         * this parse and restore them (libvirt, in the same process in event mode, has its
         * own). */
        xmlGenericErrorFunc old_generic = xmlGenericError;
        void *old_generic_ctx = xmlGenericErrorContext;
        xmlStructuredErrorFunc old_structured = xmlStructuredError;
        void *old_structured_ctx = xmlStructuredErrorContext;
        xmlSetGenericErrorFunc(NULL, silent);
        xmlSetStructuredErrorFunc(NULL, silent_structured);
        doc = xmlReadMemory(xml, (int) n, "domain.xml", NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        xmlSetGenericErrorFunc(old_generic_ctx, old_generic);
        xmlSetStructuredErrorFunc(old_structured_ctx, old_structured);
        if (!doc) {
                reason = "the domain XML is not well-formed";
                r = -EBADMSG;
                goto finish;
        }
        if (doc->intSubset || doc->extSubset) {
                /* libvirt never writes a DOCTYPE; one here is someone's entity game. */
                reason = "the domain XML has a DTD";
                r = -EBADMSG;
                goto finish;
        }
        root = xmlDocGetRootElement(doc);
        if (!root || !name_is(root, "domain")) {
                reason = "the root element is not <domain>";
                r = -EBADMSG;
                goto finish;
        }

        e = child(root, "memory");
        if (e) {
                r = element_size(e, &f.memory);
                if (r < 0) {
                        reason = "bad <memory>";
                        goto finish;
                }
        }
        e = child(root, "maxMemory");
        if (e) {
                xmlChar *slots = xmlGetNoNsProp(e, (const xmlChar *) "slots");
                uint64_t s = 0;

                r = element_size(e, &f.max_memory);
                if (r >= 0 && slots) {
                        /* A count, not a size: reuse the digit parser with unit "b". */
                        r = domain_facts_parse_scaled((const char *) slots, "b", &s);
                        f.max_memory_slots = (unsigned) MIN(s, (uint64_t) UINT32_MAX);
                }
                xmlFree(slots);
                if (r < 0) {
                        reason = "bad <maxMemory>";
                        goto finish;
                }
        }
        e = child(child(root, "memtune"), "hard_limit");
        if (e) {
                r = element_size(e, &f.hard_limit);
                if (r < 0) {
                        reason = "bad <memtune><hard_limit>";
                        goto finish;
                }
                /* libvirt writes "unlimited" as VIR_DOMAIN_MEMORY_PARAM_UNLIMITED KiB. */
                if (f.hard_limit / 1024 >= DOMAIN_HARD_LIMIT_UNLIMITED_KIB)
                        f.hard_limit = 0;
        }
        f.locked = child(child(root, "memoryBacking"), "locked") != NULL;
        devices_facts(child(root, "devices"), &f);

finish:
        *ret = f;
        if (ret_reason)
                *ret_reason = reason;
        return r;
}
