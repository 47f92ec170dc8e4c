/*
 * chat_template.h — chat prompt formats recognised from a model's
 * tokenizer.chat_template (Jinja text is matched by its markers, never
 * executed) or chosen by name.
 */
#ifndef KW_TEXT_CHAT_TEMPLATE_H
#define KW_TEXT_CHAT_TEMPLATE_H

#include "core/internal.h"

/* Recognises a template text; returns a static name ("chatml", "llama3",
 * "llama2", "mistral", "gemma", "phi3", ...) or NULL when unknown. */
KW_HIDDEN const char *kw__chat_detect(const char *tmpl, size_t len);

/* Renders msgs with the named template. bos/eos: the model's BOS/EOS token
 * texts (may be ""); llama.cpp's formats spell <s>/</s> literally, so no
 * current template uses them. Contract for buf,
 * cap, len, err as kw_chat_apply in kaiwu/llm.h; an unknown name is
 * KW_STATUS_ERR_TEMPLATE. */
KW_HIDDEN enum kw_status kw__chat_render(const char *name, const char *bos,
                                         const char *eos,
                                         const struct kw_chat_message *msgs,
                                         size_t n, int add_assistant,
                                         char *buf, size_t cap, size_t *len,
                                         char *err, size_t err_size);

#endif /* KW_TEXT_CHAT_TEMPLATE_H */
