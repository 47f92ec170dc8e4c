/*
 * registry_auth.c — credentials and the answer to a registry's 401
 * challenge: Basic, or the token flow (GET realm?service=&scope= with the
 * credentials, then "Authorization: Bearer TOKEN"). Credentials come from
 * KAIWU_REGISTRY_USER/PASSWORD or a Docker-style auth file and are never
 * put into messages.
 */
#include <jansson.h>

#include "store/registry_client.h"

static const char B64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void kw__base64_encode(const unsigned char *in, size_t n, char *out,
                       size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 <= cap; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n) v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n) v |= in[i + 2];
        out[o++] = B64[(v >> 18) & 63];
        out[o++] = B64[(v >> 12) & 63];
        out[o++] = i + 1 < n ? B64[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? B64[v & 63] : '=';
    }
    if (cap) out[o < cap ? o : cap - 1] = '\0';
}

int kw__base64_decode(const char *in, unsigned char *out, size_t cap,
                      size_t *n) {
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (const char *p = in; *p && *p != '='; p++) {
        const char *k = strchr(B64, *p);
        if (!k || !*p) return 0;
        acc = (acc << 6) | (uint32_t)(k - B64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap) return 0;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    *n = o;
    return 1;
}

/* {"auths":{"HOST":{"auth":"base64(user:pass)"}}}; keys may carry a scheme
 * ("https://HOST") as Docker writes them. */
static int auth_file_lookup(const char *path, const char *host, char *user,
                            size_t un, char *pass, size_t pn) {
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) return 0;
    json_t *auths = json_object_get(root, "auths");
    const char *key;
    json_t *val;
    int found = 0;
    json_object_foreach(auths, key, val) {
        const char *k = key;
        if (!strncmp(k, "https://", 8)) k += 8;
        else if (!strncmp(k, "http://", 7)) k += 7;
        size_t hl = strlen(host);
        if (strncmp(k, host, hl) || (k[hl] && k[hl] != '/')) continue;
        const char *b64 = json_string_value(json_object_get(val, "auth"));
        unsigned char dec[1024];
        size_t dn;
        if (!b64 || !kw__base64_decode(b64, dec, sizeof dec - 1, &dn)) continue;
        dec[dn] = '\0';
        char *colon = strchr((char *)dec, ':');
        if (!colon) continue;
        *colon = '\0';
        snprintf(user, un, "%s", (char *)dec);
        snprintf(pass, pn, "%s", colon + 1);
        memset(dec, 0, sizeof dec);
        found = 1;
        break;
    }
    json_decref(root);
    return found;
}

int kw__auth_lookup(const char *host, const char *auth_file, char *user,
                    size_t un, char *pass, size_t pn) {
    const char *eu = getenv("KAIWU_REGISTRY_USER");
    const char *ep = getenv("KAIWU_REGISTRY_PASSWORD");
    if (eu && *eu && ep) {
        snprintf(user, un, "%s", eu);
        snprintf(pass, pn, "%s", ep);
        return 1;
    }
    char def[PATH_MAX];
    if (!auth_file || !*auth_file) auth_file = getenv("REGISTRY_AUTH_FILE");
    if (!auth_file || !*auth_file) {
        const char *home = getenv("KAIWU_HOME");
        const char *h = getenv("HOME");
        if (home && *home)
            snprintf(def, sizeof def, "%s/auth.json", home);
        else if (h && *h)
            snprintf(def, sizeof def, "%s/.cache/kaiwu/auth.json", h);
        else
            return 0;
        auth_file = def;
    }
    return auth_file_lookup(auth_file, host, user, un, pass, pn);
}

/* Value of param in 'Bearer realm="...",service="..."' into out. */
static int challenge_param(const char *ch, const char *param, char *out,
                           size_t n) {
    size_t pl = strlen(param);
    for (const char *p = ch; (p = strstr(p, param)); p += pl) {
        if (p != ch && p[-1] != ' ' && p[-1] != ',') continue;
        if (p[pl] != '=' || p[pl + 1] != '"') continue;
        const char *v = p + pl + 2, *end = strchr(v, '"');
        if (!end || (size_t)(end - v) >= n) return 0;
        memcpy(out, v, (size_t)(end - v));
        out[end - v] = '\0';
        return 1;
    }
    return 0;
}

/* Fetches a bearer token from the realm named in the challenge. */
static enum kw_status fetch_token(struct kw__client *c, const char *ch,
                                  char *err, size_t err_size) {
    char realm[1024], service[256] = "", scope[600] = "";
    if (!challenge_param(ch, "realm", realm, sizeof realm))
        return kw__err(err, err_size, KW_STATUS_ERR_AUTH,
                       "%s: the registry's Bearer challenge has no realm",
                       c->ref.host);
    challenge_param(ch, "service", service, sizeof service);
    if (!challenge_param(ch, "scope", scope, sizeof scope))
        snprintf(scope, sizeof scope, "repository:%s:%s", c->ref.repo,
                 c->actions);
    int https = !strncmp(realm, "https://", 8);
    if (!https && !(c->o.plain_http && !strncmp(realm, "http://", 7)))
        return kw__err(err, err_size, KW_STATUS_ERR_AUTH,
                       "%s: refusing token realm '%s' (https only unless "
                       "--plain-http)",
                       c->ref.host, realm);
    char realm_host[256];
    const char *rh = realm + (https ? 8 : 7);
    size_t rl = strcspn(rh, "/?#");
    snprintf(realm_host, sizeof realm_host, "%.*s", (int)KW_MIN(rl, 255), rh);
    if (!https && c->have_creds && !kw__host_is_loopback(realm_host))
        return kw__err(err, err_size, KW_STATUS_ERR_AUTH,
                       "%s: refusing to send a password over plain http to "
                       "the token service on %s, which is not loopback",
                       c->ref.host, realm_host);
    CURL *h = curl_easy_init();
    if (!h) return kw__err(err, err_size, KW_STATUS_ERR_NOMEM, "curl init");
    char *es = curl_easy_escape(h, service, 0), *esc = curl_easy_escape(h, scope, 0);
    char url[2048];
    snprintf(url, sizeof url, "%s%sservice=%s&scope=%s", realm,
             strchr(realm, '?') ? "&" : "?", es ? es : "", esc ? esc : "");
    curl_free(es);
    curl_free(esc);
    curl_easy_cleanup(h);
    struct kw__sink sink = {.fd = -1, .mem_max = 1 << 20};
    long status = 0;
    enum kw_status st =
        kw__client_get_token_doc(c, url, &sink, &status, err, err_size);
    if (st) {
        free(sink.mem);
        return st;
    }
    if (status != 200) {
        st = kw__err(err, err_size, KW_STATUS_ERR_AUTH,
                     "%s: authentication failed: the token service answered "
                     "%ld%s",
                     c->ref.host, status,
                     c->have_creds ? " (check the credentials)"
                                   : " (no credentials given)");
    } else {
        json_t *root = json_loadb(sink.mem ? sink.mem : "", sink.mem_len, 0,
                                  NULL);
        const char *tok = json_string_value(json_object_get(root, "token"));
        if (!tok)
            tok = json_string_value(json_object_get(root, "access_token"));
        if (!tok || !*tok || strlen(tok) > 16384 || strpbrk(tok, "\r\n"))
            st = kw__err(err, err_size, KW_STATUS_ERR_AUTH,
                         "%s: the token service answered without a token",
                         c->ref.host);
        else {
            free(c->token);
            c->token = strdup(tok);
            c->basic = 0;
        }
        json_decref(root);
    }
    free(sink.mem);
    return st;
}

enum kw_status kw__client_answer_challenge(struct kw__client *c,
                                           const char *challenge,
                                           int already_tried, char *err,
                                           size_t err_size) {
    /* a Bearer challenge may ask for a wider scope than the token we hold
     * (push after pull): always fetch a fresh token */
    if (!strncasecmp(challenge, "Bearer ", 7))
        return fetch_token(c, challenge, err, err_size);
    if (strncasecmp(challenge, "Basic", 5))
        return kw__err(err, err_size, KW_STATUS_ERR_AUTH,
                       "%s: authentication failed: unsupported challenge "
                       "'%.40s'",
                       c->ref.host, challenge);
    if (!c->have_creds)
        return kw__err(err, err_size, KW_STATUS_ERR_AUTH,
                       "%s: authentication failed: registry answered 401 and "
                       "no credentials were given (KAIWU_REGISTRY_USER and "
                       "KAIWU_REGISTRY_PASSWORD, or --auth-file)",
                       c->ref.host);
    if (already_tried)
        return kw__err(err, err_size, KW_STATUS_ERR_AUTH,
                       "%s: authentication failed: registry answered 401 to "
                       "the credentials of user '%s'",
                       c->ref.host, c->user);
    if (!strncmp(c->base, "http://", 7) && !kw__host_is_loopback(c->ref.host))
        return kw__err(err, err_size, KW_STATUS_ERR_AUTH,
                       "%s: refusing to send a password over plain http to a "
                       "host that is not loopback",
                       c->ref.host);
    c->basic = 1;
    return KW_STATUS_OK;
}
