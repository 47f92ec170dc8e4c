/*
 * model_arg.h — turns the MODEL argument of the model commands (generate,
 * chat, bench, info, tokenize) into a file path: an existing file is used as
 * it is, otherwise a model reference (HOST/REPO:TAG) is looked up in the
 * local store ($KAIWU_HOME) that `kaiwu pull` fills.
 */
#ifndef KW_CLI_MODEL_ARG_H
#define KW_CLI_MODEL_ARG_H

#include <stddef.h>

/* Returns arg itself when it names an existing file (or anything stat(2)
 * answers for other than "no such file", so the loader reports the real
 * problem), the stored file's path written into buf when arg is a stored
 * model name, else NULL after printing a "kaiwu: " error. */
const char *model_arg(const char *arg, char *buf, size_t buf_size);

#endif /* KW_CLI_MODEL_ARG_H */
