/*
 * cmd_tokenize.c — `kaiwu tokenize -m MODEL -p TEXT`: token ids of a text,
 * one "id -> 'piece'" line each (pieces escaped, control tokens spelled
 * out) or {"tokens":[...]} with --json.
 */
#include "gen.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_tokenize(int argc, char **argv) {
    const char *model = NULL, *prompt = NULL;
    int json = 0, no_special = 0, no_parse_special = 0;
    const struct cli_opt opts[] = {
        {"model", 'm', CLI_STR, &model, 0, 0, "MODEL",
         "GGUF file, or a stored name HOST/REPO:TAG (kaiwu pull)"},
        {"prompt", 'p', CLI_STR, &prompt, 0, 0, "TEXT", "text to tokenize"},
        {"no-special", 0, CLI_FLAG, &no_special, 0, 0, NULL,
         "do not add BOS/EOS even when the model's metadata asks"},
        {"no-parse-special", 0, CLI_FLAG, &no_parse_special, 0, 0, NULL,
         "treat text that spells a control token as plain text"},
        {"json", 0, CLI_FLAG, &json, 0, 0, NULL,
         "print {\"tokens\":[...]}"},
    };
    const struct cli_cmd cmd = {
        "tokenize", "-m MODEL -p TEXT [options]",
        "Print the token ids (and pieces) of a text.", opts,
        sizeof opts / sizeof opts[0], 0};
    const char *pos[1];
    size_t n_pos;
    int r = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (r)
        return r < 0 ? 0 : r;
    if (!model)
        return cli_usage_err(&cmd, "missing -m MODEL");
    if (!prompt)
        return cli_usage_err(&cmd, "missing -p TEXT");

    struct kw_model *m = NULL;
    int32_t *toks = NULL;
    size_t n = 0;
    int rc = 1;
    if (gen_load(model, &m, NULL))
        goto done;
    if (gen_tokenize(m, prompt, strlen(prompt), !no_special,
                     !no_parse_special, &toks, &n))
        goto done;
    if (json) {
        struct jw w;
        jw_init(&w, stdout);
        jw_obj_begin(&w);
        jw_key(&w, "tokens");
        jw_arr_begin(&w);
        for (size_t i = 0; i < n; i++)
            jw_int(&w, toks[i]);
        jw_arr_end(&w);
        jw_obj_end(&w);
        jw_end(&w);
    } else {
        char piece[512];
        for (size_t i = 0; i < n; i++) {
            size_t len = kw_token_to_piece(m, toks[i], piece, sizeof piece, 1);
            printf("%6" PRId32 " -> '", toks[i]);
            text_escaped(stdout, piece, len < sizeof piece ? len : sizeof piece,
                         0);
            fputs(len > sizeof piece ? "...'\n" : "'\n", stdout);
        }
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_err("error writing output");
        goto done;
    }
    rc = 0;
done:
    free(toks);
    kw_model_free(m);
    return rc;
}
