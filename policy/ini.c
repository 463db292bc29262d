/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The INI tokenizer shared by policy files and mlockd.conf. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "common/parse-util.h"
#include "policy/ini.h"
#include "policy/suggest.h"

/* Values and lines quoted in messages are cut to this many bytes. */
#define INI_QUOTE_MAX 80U

char *ini_ellipsize(const char *s, size_t max) {
        size_t l = strlen(s);
        char *r;

        if (l <= max)
                return strdup(s);
        if (asprintf(&r, "%.*s...", (int) max, s) < 0)
                return NULL;
        return r;
}

static int ini_report(IniContext *ctx, const char *prefix, const char *format, va_list ap)
        _printf_(3, 0);
static int ini_report(IniContext *ctx, const char *prefix, const char *format, va_list ap) {
        _cleanup_free_ char *why = NULL;
        int r;

        if (vasprintf(&why, format, ap) < 0) {
                why = NULL;
                ctx->error = -ENOMEM;
                return -ENOMEM;
        }
        if (ctx->line > 0)
                r = policy_diagnostics_add(ctx->diags, "%s:%u: %s%s", ctx->path, ctx->line,
                                           strempty(prefix), why);
        else
                r = policy_diagnostics_add(ctx->diags, "%s: %s%s", ctx->path, strempty(prefix),
                                           why);
        if (r < 0) {
                ctx->error = r;
                return r;
        }
        if (ctx->error == 0)
                ctx->error = -EINVAL;
        return 0;
}

int ini_error(IniContext *ctx, const char *format, ...) {
        _cleanup_free_ char *prefix = NULL, *value = NULL;
        va_list ap;
        int r;

        if (ctx->key) {
                value = ini_ellipsize(strempty(ctx->value), INI_QUOTE_MAX);
                if (!value || asprintf(&prefix, "%s=%s: ", ctx->key, value) < 0) {
                        prefix = NULL;
                        ctx->error = -ENOMEM;
                        return -ENOMEM;
                }
        }
        va_start(ap, format);
        r = ini_report(ctx, prefix, format, ap);
        va_end(ap);
        return r;
}

int ini_parse_memory_size(IniContext *ctx, const char *value, uint64_t mem_total,
                          const char *example_size, const char *example_percent, uint64_t *ret) {
        const char *reason = NULL;
        uint64_t v;
        int r;

        if (!*value)
                return ini_error(ctx,
                                 "empty value; expected a size (%s), a percentage of memory (%s) "
                                 "or infinity",
                                 example_size, example_percent);
        if (value[strlen(value) - 1] == '%' && mem_total == 0)
                return ini_error(ctx, "cannot resolve a percentage: the size of memory "
                                      "(MemTotal) is unknown");
        r = parse_size(value, mem_total, &v, &reason);
        if (r < 0)
                return ini_error(ctx, "%s", reason ?: "invalid size");
        *ret = v;
        return 1;
}

/* A message about the line itself, not about a key. */
static int ini_line_error(IniContext *ctx, const char *format, ...) _printf_(2, 3);
static int ini_line_error(IniContext *ctx, const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = ini_report(ctx, NULL, format, ap);
        va_end(ap);
        return r;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t' || c == '\r';
}

static char *strip(char *s) {
        while (is_blank(*s))
                s++;
        char *e = s + strlen(s);
        while (e > s && is_blank(e[-1]))
                e--;
        *e = '\0';
        return s;
}

int ini_split(const char *value, char ***ret, size_t *ret_n) {
        char **l = calloc(1, sizeof(char *));
        size_t n = 0;

        if (!l)
                return -ENOMEM;
        for (const char *p = value;;) {
                p += strspn(p, " \t");
                if (!*p)
                        break;
                size_t len = strcspn(p, " \t");
                char **nl = reallocarray(l, n + 2, sizeof(char *));
                if (!nl) {
                        strv_free(l);
                        return -ENOMEM;
                }
                l = nl;
                l[n] = strndup(p, len);
                if (!l[n]) {
                        strv_free(l);
                        return -ENOMEM;
                }
                l[++n] = NULL;
                p += len;
        }
        *ret = l;
        if (ret_n)
                *ret_n = n;
        return 0;
}

static bool valid_name(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
                      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
                        return false;
        return true;
}

static ssize_t find_section(const char *name, const char *const *sections, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (streq(sections[i], name))
                        return (ssize_t) i;
        return -1;
}

static ssize_t find_key(const IniKey *keys, size_t n, const char *section, const char *key) {
        for (size_t i = 0; i < n; i++)
                if (streq(keys[i].key, key) && (!section || streq(keys[i].section, section)))
                        return (ssize_t) i;
        return -1;
}

static int report_unknown_key(IniContext *ctx, const IniKey *keys, size_t n_keys,
                              const char *section) {
        _cleanup_free_ const char **names = NULL;
        ssize_t other = find_key(keys, n_keys, NULL, ctx->key);

        if (other >= 0)
                return ini_error(ctx, "unknown key in [%s]; '%s' belongs in [%s]", section,
                                 ctx->key, keys[other].section);

        names = calloc(n_keys, sizeof(char *));
        if (!names) {
                ctx->error = -ENOMEM;
                return -ENOMEM;
        }
        /* Prefer a key of this section; then one of another section. */
        for (size_t i = 0; i < n_keys; i++)
                names[i] = streq(keys[i].section, section) ? keys[i].key : NULL;
        const char *s = suggest_nearest(ctx->key, names, n_keys);
        if (s)
                return ini_error(ctx, "unknown key in [%s]; did you mean '%s'?", section, s);
        for (size_t i = 0; i < n_keys; i++)
                names[i] = keys[i].key;
        s = suggest_nearest(ctx->key, names, n_keys);
        if (s) {
                ssize_t k = find_key(keys, n_keys, NULL, s);
                return ini_error(ctx, "unknown key in [%s]; did you mean '%s' (in [%s])?", section,
                                 s, keys[k].section);
        }
        return ini_error(ctx, "unknown key in [%s]", section);
}

static int handle_section(IniContext *ctx, char *l, const char *const *sections, size_t n_sections,
                          ssize_t *section) {
        size_t len = strlen(l);
        _cleanup_free_ char *q = ini_ellipsize(l, INI_QUOTE_MAX);

        if (!q)
                return -ENOMEM;
        *section = -1;
        if (l[len - 1] != ']')
                return ini_line_error(ctx, "'%s': a section header must end with ']'", q);
        l[len - 1] = '\0';
        char *name = strip(l + 1);
        if (!valid_name(name))
                return ini_line_error(ctx, "'%s': invalid section name", q);

        *section = find_section(name, sections, n_sections);
        if (*section >= 0)
                return 0;

        const char *s = suggest_nearest(name, sections, n_sections);
        if (s)
                return ini_line_error(ctx, "[%s]: unknown section; did you mean [%s]?", name, s);

        _cleanup_free_ char *known = NULL;
        size_t kl = 1;
        for (size_t i = 0; i < n_sections; i++)
                kl += strlen(sections[i]) + 3;
        known = malloc(kl);
        if (!known)
                return -ENOMEM;
        char *p = known;
        *p = '\0';
        for (size_t i = 0; i < n_sections; i++)
                p += sprintf(p, "%s[%s]", i > 0 ? " " : "", sections[i]);
        return ini_line_error(ctx, "[%s]: unknown section; known sections are %s", name, known);
}

/* A '#' after a blank in a value is most likely a comment copied from an example. */
static bool has_inline_comment(const char *v) {
        for (const char *p = v; *p; p++)
                if ((*p == '#' || *p == ';') && p > v && (p[-1] == ' ' || p[-1] == '\t'))
                        return true;
        return false;
}

int ini_parse(const char *path, const char *buf, size_t n, const char *const *sections,
              size_t n_sections, const IniKey *keys, size_t n_keys, IniHandler handler,
              void *userdata, PolicyDiagnostics *diags, unsigned **ret_lines) {
        _cleanup_free_ unsigned *lines = NULL;
        _cleanup_free_ char *line = NULL;
        IniContext ctx = { .path = path, .diags = diags };
        ssize_t section = -1;
        bool in_unknown_section = false;
        int r;

        lines = calloc(n_keys ?: 1, sizeof(unsigned));
        line = malloc(POLICY_LINE_MAX + 1);
        if (!lines || !line)
                return -ENOMEM;

        for (size_t pos = 0; pos < n;) {
                const char *nl = memchr(buf + pos, '\n', n - pos);
                size_t len = (nl ? (size_t) (nl - buf) : n) - pos;
                const char *start = buf + pos;

                pos += len + (nl ? 1 : 0);
                ctx.line++;
                ctx.key = ctx.value = NULL;

                if (len > POLICY_LINE_MAX) {
                        r = ini_line_error(&ctx, "line too long (%zu bytes, at most %u)", len,
                                           POLICY_LINE_MAX);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (memchr(start, '\0', len)) {
                        r = ini_line_error(&ctx, "line contains a NUL byte");
                        if (r < 0)
                                return r;
                        continue;
                }
                memcpy(line, start, len);
                line[len] = '\0';

                char *l = strip(line);
                if (!*l || *l == '#' || *l == ';')
                        continue;

                if (*l == '[') {
                        r = handle_section(&ctx, l, sections, n_sections, &section);
                        if (r < 0)
                                return r;
                        in_unknown_section = section < 0;
                        continue;
                }

                char *eq = strchr(l, '=');
                if (!eq) {
                        _cleanup_free_ char *q = ini_ellipsize(l, INI_QUOTE_MAX);
                        if (!q)
                                return -ENOMEM;
                        r = ini_line_error(&ctx, "'%s': expected [Section] or Key=value", q);
                        if (r < 0)
                                return r;
                        continue;
                }
                *eq = '\0';
                char *key = strip(l), *value = strip(eq + 1);
                ctx.key = key;
                ctx.value = value;

                if (!valid_name(key)) {
                        ctx.key = NULL;
                        _cleanup_free_ char *q = ini_ellipsize(*key ? key : value, INI_QUOTE_MAX);
                        if (!q)
                                return -ENOMEM;
                        if (*key)
                                r = ini_line_error(&ctx, "'%s': invalid key name", q);
                        else
                                r = ini_line_error(&ctx, "'=%s': missing key name", q);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (in_unknown_section)
                        continue; /* the section header was reported; its keys would be noise */
                if (section < 0) {
                        ssize_t k = find_key(keys, n_keys, NULL, key);
                        r = ini_error(&ctx, "assignment outside of a section; put it under [%s]",
                                      k >= 0 ? keys[k].section : sections[0]);
                        if (r < 0)
                                return r;
                        continue;
                }

                ssize_t k = find_key(keys, n_keys, sections[section], key);
                if (k < 0) {
                        r = report_unknown_key(&ctx, keys, n_keys, sections[section]);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (!keys[k].list && lines[k] > 0) {
                        r = ini_error(&ctx, "duplicate key, already set on line %u", lines[k]);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (!keys[k].text && has_inline_comment(value)) {
                        r = ini_error(&ctx, "comments must be on a line of their own");
                        if (r < 0)
                                return r;
                        continue;
                }
                lines[k] = ctx.line;
                r = handler(&ctx, (size_t) k, value, userdata);
                if (r < 0)
                        return r;
                if (ctx.error == -ENOMEM)
                        return -ENOMEM;
        }

        if (ret_lines)
                *ret_lines = TAKE_PTR(lines);
        return ctx.error;
}
