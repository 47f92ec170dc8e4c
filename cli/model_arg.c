/*
 * model_arg.c — MODEL as a file path or a stored model name (see
 * model_arg.h). Files win: a name is only looked up when no file of that
 * name exists, so a local file called like a reference still loads as
 * before.
 */
#include "model_arg.h"

#include <errno.h>
#include <sys/stat.h>

#include "args.h"
#include "kaiwu/kaiwu.h"

const char *model_arg(const char *arg, char *buf, size_t buf_size) {
    struct stat st;
    if (stat(arg, &st) == 0 || (errno != ENOENT && errno != ENOTDIR))
        return arg;
    if (!kw_ref_valid(arg)) {
        cli_err("%s: no such file or stored model", arg);
        return NULL;
    }
    struct kw_store *s = NULL;
    char err[1024] = "";
    enum kw_status rc = kw_store_open(NULL, &s, err, sizeof err);
    if (rc == KW_STATUS_OK) {
        err[0] = 0;
        rc = kw_store_resolve(s, arg, buf, buf_size, err, sizeof err);
        kw_store_free(s);
    }
    if (rc == KW_STATUS_ERR_NOT_FOUND) {
        cli_err("%s: no such file or stored model (see 'kaiwu models'; "
                "'kaiwu pull %s' fetches it)", arg, arg);
        return NULL;
    }
    if (rc != KW_STATUS_OK) {
        cli_lib_err(arg, err, rc);
        return NULL;
    }
    return buf;
}
