/*
 * ref.c — model references, HOST[:PORT]/REPO[:TAG][@sha256:HEX], checked
 * against the OCI distribution grammar before any part becomes a URL or a
 * store path: path components are lowercase alphanumerics joined by single
 * separators, so "..", "/" runs and absolute paths cannot get through.
 */
#include <ctype.h>

#include "store/store_internal.h"

static int is_lower_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)* */
static int path_component_ok(const char *s, size_t n) {
    size_t i = 0;
    if (n == 0 || !is_lower_alnum(s[0])) return 0;
    while (i < n) {
        while (i < n && is_lower_alnum(s[i])) i++;
        if (i == n) return 1;
        size_t sep = i;
        if (s[i] == '.') {
            i++;
        } else if (s[i] == '_') {
            i++;
            if (i < n && s[i] == '_') i++;
        } else if (s[i] == '-') {
            while (i < n && s[i] == '-') i++;
        } else {
            return 0;
        }
        if (i == n || !is_lower_alnum(s[i]) || i == sep) return 0;
    }
    return 1;
}

/* domain-component ('.' domain-component)* [':' port] */
static int host_ok(const char *s, size_t n) {
    size_t i = 0;
    if (n == 0) return 0;
    for (;;) {
        size_t start = i;
        while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '-')) i++;
        if (i == start || s[start] == '-' || s[i - 1] == '-') return 0;
        if (i == n) return 1;
        if (s[i] == '.') {
            i++;
            continue;
        }
        if (s[i] != ':') return 0;
        i++;
        size_t digits = 0;
        for (; i < n; i++, digits++)
            if (!isdigit((unsigned char)s[i])) return 0;
        return digits >= 1 && digits <= 5;
    }
}

static int tag_ok(const char *s, size_t n) {
    if (n == 0 || n > 128) return 0;
    if (!(isalnum((unsigned char)s[0]) || s[0] == '_')) return 0;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.' ||
              s[i] == '-'))
            return 0;
    return 1;
}

int kw__digest_valid(const char *d) {
    if (strncmp(d, "sha256:", 7)) return 0;
    for (int i = 0; i < 64; i++) {
        char c = d[7 + i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return 0;
    }
    return d[71] == '\0';
}

/* The first component names a registry when it looks like a host name. */
static int looks_like_host(const char *s, size_t n) {
    if (n == 9 && !memcmp(s, "localhost", 9)) return 1;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '.' || s[i] == ':' || isupper((unsigned char)s[i]))
            return 1;
    return 0;
}

enum kw_status kw__ref_parse(const char *text, struct kw__ref *r, char *err,
                             size_t err_size) {
    memset(r, 0, sizeof *r);
    if (!text || !*text)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "empty model reference");
    size_t len = strlen(text);
    if (len > 600)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "model reference longer than 600 bytes");
    const char *at = strchr(text, '@');
    size_t name_end = at ? (size_t)(at - text) : len;
    if (at) {
        if (!kw__digest_valid(at + 1))
            return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                           "'%s': the digest must be sha256: followed by 64 "
                           "lowercase hex digits",
                           text);
        memcpy(r->digest, at + 1, 72);
    }
    /* a tag is a ':' after the last '/' */
    const char *slash = NULL;
    for (size_t i = 0; i < name_end; i++)
        if (text[i] == '/') slash = text + i;
    size_t repo_end = name_end;
    if (slash) {
        const char *colon = memchr(slash, ':', (size_t)(text + name_end - slash));
        if (colon) {
            size_t tl = (size_t)(text + name_end - colon - 1);
            if (!tag_ok(colon + 1, tl))
                return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                               "'%s': invalid tag (letters, digits, '_', '.', "
                               "'-', at most 128, not starting with '.' or "
                               "'-')",
                               text);
            memcpy(r->tag, colon + 1, tl);
            repo_end = (size_t)(colon - text);
        }
    }
    /* host */
    const char *first_slash = memchr(text, '/', repo_end);
    size_t repo_start = 0;
    if (first_slash && looks_like_host(text, (size_t)(first_slash - text))) {
        size_t hl = (size_t)(first_slash - text);
        if (!host_ok(text, hl) || hl >= sizeof r->host)
            return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                           "'%s': invalid registry host", text);
        memcpy(r->host, text, hl);
        repo_start = hl + 1;
    } else {
        const char *def = getenv("KAIWU_REGISTRY");
        if (!def || !*def)
            return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                           "'%s': no registry host (write HOST[:PORT]/REPO or "
                           "set KAIWU_REGISTRY)",
                           text);
        size_t hl = strlen(def);
        /* it must read as a host again when the name is printed */
        if (!host_ok(def, hl) || !looks_like_host(def, hl) ||
            hl >= sizeof r->host)
            return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                           "KAIWU_REGISTRY='%s' is not a valid host", def);
        memcpy(r->host, def, hl + 1);
    }
    size_t rl = repo_end - repo_start;
    if (rl == 0 || rl >= sizeof r->repo)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "'%s': repository name missing or longer than 255",
                       text);
    const char *repo = text + repo_start;
    for (size_t i = 0; i < rl;) {
        size_t j = i;
        while (j < rl && repo[j] != '/') j++;
        if (!path_component_ok(repo + i, j - i))
            return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                           "'%s': invalid repository name (lowercase letters "
                           "and digits separated by '/', '.', '_' or '-')",
                           text);
        i = j + 1;
        if (j + 1 == rl)
            return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                           "'%s': repository name ends with '/'", text);
    }
    memcpy(r->repo, repo, rl);
    if (!r->tag[0] && !r->digest[0]) strcpy(r->tag, "latest");
    return KW_STATUS_OK;
}

void kw__ref_name(const struct kw__ref *r, char *buf, size_t n) {
    if (r->tag[0])
        snprintf(buf, n, "%s/%s:%s", r->host, r->repo, r->tag);
    else
        snprintf(buf, n, "%s/%s@%s", r->host, r->repo, r->digest);
}

const char *kw__ref_reference(const struct kw__ref *r) {
    return r->digest[0] ? r->digest : r->tag;
}

int kw_ref_valid(const char *text) {
    struct kw__ref r;
    return text && kw__ref_parse(text, &r, NULL, 0) == KW_STATUS_OK;
}
