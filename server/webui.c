/*
 * webui.c — GET /: the chat page (server/webui/index.html), embedded in the
 * binary by CMake as kws_webui_html. The page only talks to this server,
 * which the Content-Security-Policy makes explicit. Entry point: kws_webui.
 */
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "http.h"

enum MHD_Result kws_webui(struct kws_req *r) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        kws_webui_html_len, (void *)kws_webui_html, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(
        resp, "Content-Security-Policy",
        "default-src 'none'; script-src 'unsafe-inline'; "
        "style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    return kws_queue(r, 200, resp, "text/html; charset=utf-8");
}
