/*
 * chat_template.c — the chat prompt formats llama.cpp knows without a Jinja
 * engine: recognising one from a tokenizer.chat_template text (marker rules)
 * and rendering messages with it, byte for byte as llama.cpp's
 * llama_chat_apply_template does. Entry points: kw__chat_detect,
 * kw__chat_render. Most formats are a row of prefix/suffix strings; the few
 * with state across turns (llama2, mistral, gemma, ...) have their own code.
 */
#include "text/chat_template.h"

#include <ctype.h>

enum { R_SYSTEM, R_USER, R_ASSISTANT, R_COUNT };
#define B_SYS (1u << R_SYSTEM)
#define B_USR (1u << R_USER)
#define B_AST (1u << R_ASSISTANT)
#define B_ALL (B_SYS | B_USR | B_AST)

/* How a format is rendered: TABLE formats are fully described by their row;
 * the others use the row for their name and variant only. */
enum fmt_kind {
    K_TABLE, K_LLAMA2, K_MISTRAL, K_MISTRAL_V7, K_GEMMA, K_MONARCH, K_ORION,
    K_RWKV, K_BAILING2, K_GIGACHAT, K_HUNYUAN_DENSE, K_HUNYUAN_VL, K_PANGU
};

struct fmt {
    const char *name;
    unsigned char kind;    /* enum fmt_kind */
    unsigned char variant; /* kind-specific flags */
    unsigned char trim;    /* B_* roles whose content is trimmed */
    unsigned char drop;    /* B_* roles whose messages are left out */
    const char *start;     /* once, before the first message */
    const char *pre[R_COUNT], *post[R_COUNT];
    const char *gen;       /* opening of the assistant turn (add_assistant) */
};

/* llama2 variants */
#define V_L2_SYS 1u   /* system text inside <<SYS>> */
#define V_L2_BOS 2u   /* "<s>" before each later [INST] */
#define V_L2_STRIP 4u /* contents trimmed */
/* mistral v1/v3 variants */
#define V_MI_LEAD 1u   /* space before [INST] and [/INST] (v1) */
#define V_MI_NOTRAIL 2u /* no space after [INST] / before answers (tekken) */
#define V_MI_TRIMAST 4u /* answers trimmed (v3) */

#define ROLES3(a, b, c) {a, b, c}
#define SAME3(a) {a, a, a}

/* UTF-8 spellings of the full-width markers some formats use. */
#define FW_USER "\xef\xbd\x9cUser\xef\xbd\x9c"                 /* <｜User｜> */
#define FW_ASSISTANT "\xef\xbd\x9c" "Assistant\xef\xbd\x9c"
#define FW_EOS "\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c"

static const struct fmt FORMATS[] = {
    {"chatml", K_TABLE, 0, 0, 0, "",
     ROLES3("<|im_start|>system\n", "<|im_start|>user\n",
            "<|im_start|>assistant\n"),
     SAME3("<|im_end|>\n"), "<|im_start|>assistant\n"},
    {"llama2", K_LLAMA2, 0, 0, 0, "", SAME3(""), SAME3(""), ""},
    {"llama2-sys", K_LLAMA2, V_L2_SYS, 0, 0, "", SAME3(""), SAME3(""), ""},
    {"llama2-sys-bos", K_LLAMA2, V_L2_SYS | V_L2_BOS, 0, 0, "", SAME3(""),
     SAME3(""), ""},
    {"llama2-sys-strip", K_LLAMA2, V_L2_SYS | V_L2_STRIP, 0, 0, "", SAME3(""),
     SAME3(""), ""},
    {"mistral-v1", K_MISTRAL, V_MI_LEAD, 0, 0, "", SAME3(""), SAME3(""), ""},
    {"mistral-v3", K_MISTRAL, V_MI_TRIMAST, 0, 0, "", SAME3(""), SAME3(""), ""},
    {"mistral-v3-tekken", K_MISTRAL, V_MI_NOTRAIL, 0, 0, "", SAME3(""),
     SAME3(""), ""},
    {"mistral-v7", K_MISTRAL_V7, 1, 0, 0, "", SAME3(""), SAME3(""), ""},
    {"mistral-v7-tekken", K_MISTRAL_V7, 0, 0, 0, "", SAME3(""), SAME3(""), ""},
    {"phi3", K_TABLE, 0, 0, 0, "",
     ROLES3("<|system|>\n", "<|user|>\n", "<|assistant|>\n"), SAME3("<|end|>\n"),
     "<|assistant|>\n"},
    {"phi4", K_TABLE, 0, 0, 0, "",
     ROLES3("<|im_start|>system<|im_sep|>", "<|im_start|>user<|im_sep|>",
            "<|im_start|>assistant<|im_sep|>"),
     SAME3("<|im_end|>"), "<|im_start|>assistant<|im_sep|>"},
    {"falcon3", K_TABLE, 0, 0, 0, "",
     ROLES3("<|system|>\n", "<|user|>\n", "<|assistant|>\n"), SAME3("\n"),
     "<|assistant|>\n"},
    {"zephyr", K_TABLE, 0, 0, 0, "",
     ROLES3("<|system|>\n", "<|user|>\n", "<|assistant|>\n"),
     SAME3("<|endoftext|>\n"), "<|assistant|>\n"},
    {"monarch", K_MONARCH, 0, 0, 0, "", SAME3(""), SAME3(""), ""},
    {"gemma", K_GEMMA, 0, 0, 0, "", SAME3(""), SAME3(""), ""},
    {"orion", K_ORION, 0, 0, 0, "", SAME3(""), SAME3(""), ""},
    {"openchat", K_TABLE, 0, 0, 0, "",
     ROLES3("", "GPT4 Correct User: ", "GPT4 Correct Assistant: "),
     SAME3("<|end_of_turn|>"), "GPT4 Correct Assistant:"},
    {"vicuna", K_TABLE, 0, 0, 0, "", ROLES3("", "USER: ", "ASSISTANT: "),
     ROLES3("\n\n", "\n", "</s>\n"), "ASSISTANT:"},
    {"vicuna-orca", K_TABLE, 0, 0, 0, "",
     ROLES3("SYSTEM: ", "USER: ", "ASSISTANT: "), ROLES3("\n", "\n", "</s>\n"),
     "ASSISTANT:"},
    {"deepseek", K_TABLE, 0, 0, 0, "",
     ROLES3("", "### Instruction:\n", "### Response:\n"),
     ROLES3("", "\n", "\n<|EOT|>\n"), "### Response:\n"},
    {"deepseek2", K_TABLE, 0, 0, 0, "", ROLES3("", "User: ", "Assistant: "),
     ROLES3("\n\n", "\n\n", "<" FW_EOS ">"), "Assistant:"},
    {"deepseek3", K_TABLE, 0, 0, 0, "",
     ROLES3("", "<" FW_USER ">", "<" FW_ASSISTANT ">"),
     ROLES3("\n\n", "", "<" FW_EOS ">"), "<" FW_ASSISTANT ">"},
    {"deepseek-ocr", K_TABLE, 0, 0, 0, "", SAME3(""), SAME3(""), ""},
    {"command-r", K_TABLE, 0, B_ALL, 0, "",
     ROLES3("<|START_OF_TURN_TOKEN|><|SYSTEM_TOKEN|>",
            "<|START_OF_TURN_TOKEN|><|USER_TOKEN|>",
            "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>"),
     SAME3("<|END_OF_TURN_TOKEN|>"), "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>"},
    {"llama3", K_TABLE, 0, B_ALL, 0, "",
     ROLES3("<|start_header_id|>system<|end_header_id|>\n\n",
            "<|start_header_id|>user<|end_header_id|>\n\n",
            "<|start_header_id|>assistant<|end_header_id|>\n\n"),
     SAME3("<|eot_id|>"), "<|start_header_id|>assistant<|end_header_id|>\n\n"},
    {"chatglm3", K_TABLE, 0, 0, 0, "[gMASK]sop",
     ROLES3("<|system|>\n ", "<|user|>\n ", "<|assistant|>\n "), SAME3(""),
     "<|assistant|>"},
    {"chatglm4", K_TABLE, 0, 0, 0, "[gMASK]<sop>",
     ROLES3("<|system|>\n", "<|user|>\n", "<|assistant|>\n"), SAME3(""),
     "<|assistant|>\n"},
    {"glmedge", K_TABLE, 0, 0, 0, "",
     ROLES3("<|system|>\n", "<|user|>\n", "<|assistant|>\n"), SAME3(""),
     "<|assistant|>"},
    {"minicpm", K_TABLE, 0, B_ALL, 0, "",
     ROLES3("", "<\xe7\x94\xa8\xe6\x88\xb7>", ""), /* <用户> */
     ROLES3("", "<AI>", ""), ""},
    {"exaone3", K_TABLE, 0, B_ALL, 0, "",
     ROLES3("[|system|]", "[|user|]", "[|assistant|]"),
     ROLES3("[|endofturn|]\n", "\n", "[|endofturn|]\n"), "[|assistant|]"},
    {"exaone4", K_TABLE, 0, B_ALL, 0, "",
     ROLES3("[|system|]", "[|user|]", "[|assistant|]"),
     ROLES3("[|endofturn|]\n", "\n", "[|endofturn|]\n"), "[|assistant|]"},
    {"exaone-moe", K_TABLE, 0, B_ALL, 0, "",
     ROLES3("<|system|>\n", "<|user|>\n", "<|assistant|>\n"),
     SAME3("<|endofturn|>\n"), "<|assistant|>\n"},
    {"rwkv-world", K_RWKV, 0, 0, 0, "", SAME3(""), SAME3(""), ""},
    {"granite", K_TABLE, 0, 0, 0, "",
     ROLES3("<|start_of_role|>system<|end_of_role|>",
            "<|start_of_role|>user<|end_of_role|>",
            "<|start_of_role|>assistant<|end_of_role|>"),
     SAME3("<|end_of_text|>\n"), "<|start_of_role|>assistant<|end_of_role|>"},
    {"granite-4.0", K_TABLE, 0, 0, 0, "",
     ROLES3("<|start_of_role|>system<|end_of_role|>",
            "<|start_of_role|>user<|end_of_role|>",
            "<|start_of_role|>assistant<|end_of_role|>"),
     SAME3("<|end_of_text|>\n"), "<|start_of_role|>assistant<|end_of_role|>"},
    {"granite-4.1", K_TABLE, 0, 0, 0, "",
     ROLES3("<|start_of_role|>system<|end_of_role|>",
            "<|start_of_role|>user<|end_of_role|>",
            "<|start_of_role|>assistant<|end_of_role|>"),
     SAME3("<|end_of_text|>\n"), "<|start_of_role|>assistant<|end_of_role|>"},
    {"gigachat", K_GIGACHAT, 0, 0, 0, "", SAME3(""), SAME3(""), ""},
    {"megrez", K_TABLE, 0, 0, 0, "",
     ROLES3("<|role_start|>system<|role_end|>", "<|role_start|>user<|role_end|>",
            "<|role_start|>assistant<|role_end|>"),
     SAME3("<|turn_end|>"), "<|role_start|>assistant<|role_end|>"},
    /* " Пользователь: " and " Ассистент: " */
    {"yandex", K_TABLE, 0, 0, B_SYS, "",
     ROLES3("", " \xd0\x9f\xd0\xbe\xd0\xbb\xd1\x8c\xd0\xb7\xd0\xbe\xd0\xb2\xd0"
                "\xb0\xd1\x82\xd0\xb5\xd0\xbb\xd1\x8c: ",
            " \xd0\x90\xd1\x81\xd1\x81\xd0\xb8\xd1\x81\xd1\x82\xd0\xb5\xd0\xbd"
            "\xd1\x82: "),
     SAME3("\n\n"),
     " \xd0\x90\xd1\x81\xd1\x81\xd0\xb8\xd1\x81\xd1\x82\xd0\xb5\xd0\xbd\xd1\x82"
     ":[SEP]"},
    {"bailing", K_TABLE, 0, 0, 0, "",
     ROLES3("<role>SYSTEM</role>", "<role>HUMAN</role>",
            "<role>ASSISTANT</role>"),
     SAME3(""), "<role>ASSISTANT</role>"},
    {"bailing-think", K_TABLE, 0, 0, 0, "",
     ROLES3("<role>SYSTEM</role>", "<role>HUMAN</role>",
            "<role>ASSISTANT</role>"),
     SAME3(""), "<role>ASSISTANT</role><think>"},
    {"bailing2", K_BAILING2, 0, 0, 0, "",
     ROLES3("<role>SYSTEM</role>", "<role>HUMAN</role>",
            "<role>ASSISTANT</role>"),
     SAME3("<|role_end|>"), "<role>ASSISTANT</role>"},
    {"llama4", K_TABLE, 0, B_ALL, 0, "",
     ROLES3("<|header_start|>system<|header_end|>\n\n",
            "<|header_start|>user<|header_end|>\n\n",
            "<|header_start|>assistant<|header_end|>\n\n"),
     SAME3("<|eot|>"), "<|header_start|>assistant<|header_end|>\n\n"},
    {"smolvlm", K_TABLE, 0, 0, 0, "<|im_start|>",
     ROLES3("", "User: ", "Assistant: "),
     ROLES3("\n\n", "<end_of_utterance>\n", "<end_of_utterance>\n"),
     "Assistant:"},
    /* named by us: llama.cpp recognises this format but has no name for it */
    {"dots1", K_TABLE, 0, 0, 0, "",
     ROLES3("<|system|>", "<|userprompt|>", "<|response|>"),
     ROLES3("<|endofsystem|>", "<|endofuserprompt|>", "<|endofresponse|>"),
     "<|response|>"},
    {"hunyuan-moe", K_TABLE, 0, 0, 0, "",
     ROLES3("<|startoftext|>", "<|startoftext|>", ""),
     ROLES3("<|extra_4|>", "<|extra_0|>", "<|eos|>"), ""},
    {"gpt-oss", K_TABLE, 0, 0, 0, "",
     ROLES3("<|start|>system<|message|>", "<|start|>user<|message|>",
            "<|start|>assistant<|message|>"),
     ROLES3("<|end|>", "<|end|>", "<|return|>"), "<|start|>assistant"},
    {"hunyuan-dense", K_HUNYUAN_DENSE, 0, 0, 0, "", SAME3(""), SAME3(""), ""},
    {"hunyuan-vl", K_HUNYUAN_VL, 0, 0, 0, "", SAME3(""), SAME3(""), ""},
    {"kimi-k2", K_TABLE, 0, 0, 0, "",
     ROLES3("<|im_system|>system<|im_middle|>", "<|im_user|>user<|im_middle|>",
            "<|im_assistant|>assistant<|im_middle|>"),
     SAME3("<|im_end|>"), "<|im_assistant|>assistant<|im_middle|>"},
    {"seed_oss", K_TABLE, 0, B_AST, 0, "",
     ROLES3("<seed:bos>system\n", "<seed:bos>user\n", "<seed:bos>assistant\n"),
     SAME3("<seed:eos>"), "<seed:bos>assistant\n"},
    {"grok-2", K_TABLE, 0, B_SYS | B_USR, 0, "",
     ROLES3("System: ", "Human: ", "Assistant: "), SAME3("<|separator|>\n\n"),
     "Assistant:"},
    {"pangu-embedded", K_PANGU, 0, 0, 0, "", SAME3(""), SAME3(""), ""},
    {"solar-open", K_TABLE, 0, 0, 0, "",
     ROLES3("<|begin|>system<|content|>", "<|begin|>user<|content|>",
            "<|begin|>assistant<|content|>"),
     SAME3("<|end|>"), "<|begin|>assistant"},
};
#define N_FORMATS (sizeof FORMATS / sizeof FORMATS[0])

/* Names that are not llama.cpp's. "mistral" follows what llama.cpp does with
 * that text: it is the original Mistral-Instruct prompt, i.e. "llama2". */
static const struct {
    const char *alias, *name;
} ALIASES[] = {{"mistral", "llama2"}};

static const struct fmt *find_format(const char *name) {
    for (size_t i = 0; i < sizeof ALIASES / sizeof ALIASES[0]; i++)
        if (strcmp(name, ALIASES[i].alias) == 0) name = ALIASES[i].name;
    for (size_t i = 0; i < N_FORMATS; i++)
        if (strcmp(name, FORMATS[i].name) == 0) return &FORMATS[i];
    return NULL;
}

/* ---- recognition ------------------------------------------------------ */

/* A rule matches when every needle occurs in the text (and, with IN_INST,
 * the text starts with "mistral" or holds "[INST]"). Rules are tried in
 * order, so a later rule only sees texts that no earlier rule took; the
 * order is llama.cpp's, which makes the result identical to its. */
#define IN_INST 1
struct rule {
    const char *name;
    int group;
    const char *needle[4];
};

static const struct rule RULES[] = {
    {"phi4", 0, {"<|im_start|>", "<|im_sep|>"}},
    {"smolvlm", 0, {"<|im_start|>", "<end_of_utterance>"}},
    {"chatml", 0, {"<|im_start|>"}},
    {"mistral-v7", IN_INST, {"[SYSTEM_PROMPT]"}},
    {"mistral-v1", IN_INST, {"' [INST] ' + system_message"}},
    {"mistral-v1", IN_INST, {"[AVAILABLE_TOOLS]", " [INST]"}},
    {"mistral-v3-tekken", IN_INST, {"[AVAILABLE_TOOLS]", "\"[INST]\""}},
    {"mistral-v3", IN_INST, {"[AVAILABLE_TOOLS]"}},
    {"llama2-sys-strip", IN_INST, {"content.strip()"}},
    {"llama2-sys-bos", IN_INST, {"bos_token + '[INST]"}},
    {"llama2-sys", IN_INST, {"<<SYS>>"}},
    {"llama2", IN_INST, {NULL}},
    {"phi3", 0, {"<|assistant|>", "<|end|>"}},
    {"chatglm4", 0, {"[gMASK]<sop>"}},
    {"exaone-moe", 0, {"<|assistant|>", "<|user|>", "<|tool_declare|>"}},
    {"falcon3", 0, {"<|assistant|>", "<|user|>", "</s>"}},
    {"glmedge", 0, {"<|assistant|>", "<|user|>"}},
    {"glmedge", 0, {"<|{{ item['role'] }}|>", "<|begin_of_image|>"}},
    {"zephyr", 0, {"<|user|>", "<|endoftext|>"}},
    {"monarch", 0, {"bos_token + message['role']"}},
    {"gemma", 0, {"<start_of_turn>"}},
    {"orion", 0, {"'\\n\\nAssistant: ' + eos_token"}},
    {"openchat", 0, {"GPT4 Correct "}},
    {"vicuna-orca", 0, {"USER: ", "ASSISTANT: ", "SYSTEM: "}},
    {"vicuna", 0, {"USER: ", "ASSISTANT: "}},
    {"deepseek", 0, {"### Instruction:", "<|EOT|>"}},
    {"command-r", 0, {"<|START_OF_TURN_TOKEN|>", "<|USER_TOKEN|>"}},
    {"llama3", 0, {"<|start_header_id|>", "<|end_header_id|>"}},
    {"chatglm3", 0, {"[gMASK]sop"}},
    {"minicpm", 0, {"<\xe7\x94\xa8\xe6\x88\xb7>"}},
    {"deepseek2", 0, {"'Assistant: ' + message['content'] + eos_token"}},
    {"deepseek3", 0, {"<" FW_ASSISTANT ">", "<" FW_USER ">", "<" FW_EOS ">"}},
    {"exaone4", 0, {"[|system|]", "[|assistant|]", "[|endofturn|]", "[|tool|]"}},
    {"exaone3", 0, {"[|system|]", "[|assistant|]", "[|endofturn|]"}},
    {"rwkv-world", 0, {"rwkv-world"}},
    {"rwkv-world", 0, {"{{- 'User: ' + message['content']|trim + '\\n\\n' -}}"}},
    {"granite-4.0", 0, {"<|start_of_role|>", "<tool_call>",
                        "g4_default_system_message"}},
    {"granite-4.0", 0, {"<|start_of_role|>", "<tools>",
                        "g4_default_system_message"}},
    {"granite-4.1", 0, {"<|start_of_role|>", "<tool_call>"}},
    {"granite-4.1", 0, {"<|start_of_role|>", "<tools>"}},
    {"granite", 0, {"<|start_of_role|>"}},
    {"gigachat", 0, {"message['role'] + additional_special_tokens[0] + "
                     "message['content'] + additional_special_tokens[1]"}},
    {"megrez", 0, {"<|role_start|>"}},
    {"yandex", 0, {" \xd0\x90\xd1\x81\xd1\x81\xd0\xb8\xd1\x81\xd1\x82\xd0\xb5"
                   "\xd0\xbd\xd1\x82:"}},
    {"bailing", 0, {"<role>ASSISTANT</role>", "'HUMAN'"}},
    {"bailing-think", 0, {"<role>ASSISTANT</role>", "\"HUMAN\"", "<think>"}},
    {"bailing2", 0, {"<role>ASSISTANT</role>", "<role>HUMAN</role>",
                     "<|role_end|>"}},
    {"llama4", 0, {"<|header_start|>", "<|header_end|>"}},
    {"dots1", 0, {"<|endofuserprompt|>"}},
    {"hunyuan-moe", 0, {"<|extra_0|>", "<|extra_4|>"}},
    {"gpt-oss", 0, {"<|start|>", "<|channel|>"}},
    {"hunyuan-vl", 0, {"<\xef\xbd\x9chy_Assistant\xef\xbd\x9c>",
                       "<\xef\xbd\x9chy_begin\xe2\x96\x81of\xe2\x96\x81"
                       "sentence\xef\xbd\x9c>"}},
    {"hunyuan-dense", 0, {"<\xef\xbd\x9chy_Assistant\xef\xbd\x9c>",
                          "<\xef\xbd\x9chy_place\xe2\x96\x81holder\xe2\x96\x81"
                          "no\xe2\x96\x81" "3\xef\xbd\x9c>"}},
    {"kimi-k2", 0, {"<|im_assistant|>assistant<|im_middle|>"}},
    {"seed_oss", 0, {"<seed:bos>"}},
    {"grok-2", 0, {"'Assistant: '  + message['content'] + '<|separator|>"}},
    /* [unused9]系统：[unused10] */
    {"pangu-embedded", 0, {"[unused9]\xe7\xb3\xbb\xe7\xbb\x9f\xef\xbc\x9a"
                           "[unused10]"}},
    {"solar-open", 0, {"<|begin|>", "<|end|>", "<|content|>"}},
};

static int contains(const char *hay, size_t n, const char *needle) {
    size_t m = strlen(needle);
    if (m == 0) return 1;
    if (m > n) return 0;
    const char *end = hay + (n - m) + 1;
    for (const char *p = hay; p < end;) {
        p = memchr(p, needle[0], (size_t)(end - p));
        if (!p) return 0;
        if (memcmp(p, needle, m) == 0) return 1;
        p++;
    }
    return 0;
}

const char *kw__chat_detect(const char *tmpl, size_t len) {
    if (!tmpl) return NULL;
    /* A bare name is accepted as itself, as llama.cpp does. */
    for (size_t i = 0; i < N_FORMATS; i++)
        if (strlen(FORMATS[i].name) == len &&
            memcmp(FORMATS[i].name, tmpl, len) == 0)
            return FORMATS[i].name;
    for (size_t i = 0; i < sizeof ALIASES / sizeof ALIASES[0]; i++)
        if (strlen(ALIASES[i].alias) == len &&
            memcmp(ALIASES[i].alias, tmpl, len) == 0)
            return find_format(ALIASES[i].name)->name;

    int in_inst = (len >= 7 && memcmp(tmpl, "mistral", 7) == 0) ||
                  contains(tmpl, len, "[INST]");
    for (size_t i = 0; i < sizeof RULES / sizeof RULES[0]; i++) {
        const struct rule *r = &RULES[i];
        if (r->group == IN_INST && !in_inst) continue;
        int ok = 1;
        for (int j = 0; j < 4 && r->needle[j] && ok; j++)
            ok = contains(tmpl, len, r->needle[j]);
        if (ok) return find_format(r->name)->name;
    }
    return NULL;
}

/* ---- rendering -------------------------------------------------------- */

/* Output that counts every byte but stores only what fits (cap - 1 bytes
 * plus the NUL), so one pass yields both the text and its full length. */
struct out {
    char *buf;
    size_t cap, len;
};

static void put_n(struct out *o, const char *s, size_t n) {
    if (o->len < o->cap) {
        size_t room = o->cap - 1 - o->len; /* cap >= 1 here */
        memcpy(o->buf + o->len, s, n < room ? n : room);
    }
    o->len += n; /* cannot overflow: bounded by the inputs' total size */
}

static void put(struct out *o, const char *s) { put_n(o, s, strlen(s)); }

/* llama.cpp trims with isspace() in the C locale. */
static int is_ws(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
           c == '\r';
}

static void put_trim(struct out *o, const char *s) {
    size_t n = strlen(s), a = 0;
    while (a < n && is_ws((unsigned char)s[a])) a++;
    while (n > a && is_ws((unsigned char)s[n - 1])) n--;
    put_n(o, s + a, n - a);
}

static int trimmed_empty(const char *s) {
    for (; *s; s++)
        if (!is_ws((unsigned char)*s)) return 0;
    return 1;
}

static int role_of(const char *role) {
    if (strcmp(role, "system") == 0) return R_SYSTEM;
    if (strcmp(role, "user") == 0) return R_USER;
    if (strcmp(role, "assistant") == 0) return R_ASSISTANT;
    return -1;
}

/* Fixed-row formats. */
static void render_table(const struct fmt *f, const struct kw_chat_message *m,
                         const int *roles, size_t n, int add, struct out *o) {
    put(o, f->start);
    for (size_t i = 0; i < n; i++) {
        int r = roles[i];
        if (f->drop & (1u << r)) continue;
        put(o, f->pre[r]);
        if (f->trim & (1u << r))
            put_trim(o, m[i].content);
        else
            put(o, m[i].content);
        put(o, f->post[r]);
    }
    if (add) put(o, f->gen);
}

/* [INST] turns; the system text joins the first turn. */
static void render_llama2(const struct fmt *f, const struct kw_chat_message *m,
                          const int *roles, size_t n, struct out *o) {
    int in_turn = 1;
    put(o, "[INST] ");
    for (size_t i = 0; i < n; i++) {
        if (!in_turn) {
            put(o, (f->variant & V_L2_BOS) ? "<s>[INST] " : "[INST] ");
            in_turn = 1;
        }
        const char *c = m[i].content;
        void (*text)(struct out *, const char *) =
            (f->variant & V_L2_STRIP) ? put_trim : put;
        switch (roles[i]) {
        case R_SYSTEM:
            if (f->variant & V_L2_SYS) {
                put(o, "<<SYS>>\n");
                text(o, c);
                put(o, "\n<</SYS>>\n\n");
            } else {
                text(o, c);
                put(o, "\n");
            }
            break;
        case R_USER:
            text(o, c);
            put(o, " [/INST]");
            break;
        default:
            text(o, c);
            put(o, "</s>");
            in_turn = 0;
        }
    }
}

/* Mistral v1 / v3 / v3-tekken: spacing differs between the versions. */
static void render_mistral(const struct fmt *f, const struct kw_chat_message *m,
                           const int *roles, size_t n, struct out *o) {
    const char *lead = (f->variant & V_MI_LEAD) ? " " : "";
    const char *trail = (f->variant & V_MI_NOTRAIL) ? "" : " ";
    int in_turn = 0;
    for (size_t i = 0; i < n; i++) {
        if (!in_turn) {
            put(o, lead);
            put(o, "[INST]");
            put(o, trail);
            in_turn = 1;
        }
        switch (roles[i]) {
        case R_SYSTEM:
            put(o, m[i].content);
            put(o, "\n\n");
            break;
        case R_USER:
            put(o, m[i].content);
            put(o, lead);
            put(o, "[/INST]");
            break;
        default:
            put(o, trail);
            if (f->variant & V_MI_TRIMAST)
                put_trim(o, m[i].content);
            else
                put(o, m[i].content);
            put(o, "</s>");
            in_turn = 0;
        }
    }
}

static void render_mistral_v7(const struct fmt *f,
                              const struct kw_chat_message *m,
                              const int *roles, size_t n, struct out *o) {
    const char *sp = f->variant ? " " : "";
    for (size_t i = 0; i < n; i++) {
        if (roles[i] == R_SYSTEM) {
            put(o, "[SYSTEM_PROMPT]");
            put(o, sp);
            put(o, m[i].content);
            put(o, "[/SYSTEM_PROMPT]");
        } else if (roles[i] == R_USER) {
            put(o, "[INST]");
            put(o, sp);
            put(o, m[i].content);
            put(o, "[/INST]");
        } else {
            put(o, sp);
            put(o, m[i].content);
            put(o, "</s>");
        }
    }
}

/* Gemma has no system turn: system texts wait (trimmed, concatenated) and
 * open the next user turn. Pending ones are those in [from, i). */
static void render_gemma(const struct kw_chat_message *m, const int *roles,
                         size_t n, int add, struct out *o) {
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        if (roles[i] == R_SYSTEM) continue;
        int model = roles[i] == R_ASSISTANT;
        put(o, "<start_of_turn>");
        put(o, model ? "model\n" : "user\n");
        if (!model) {
            int any = 0;
            for (size_t j = from; j < i; j++)
                if (roles[j] == R_SYSTEM && !trimmed_empty(m[j].content))
                    any = 1;
            if (any) {
                for (size_t j = from; j < i; j++)
                    if (roles[j] == R_SYSTEM) put_trim(o, m[j].content);
                put(o, "\n\n");
            }
            from = i + 1;
        }
        put_trim(o, m[i].content);
        put(o, "<end_of_turn>\n");
    }
    if (add) put(o, "<start_of_turn>model\n");
}

/* Orion: like gemma, system texts (untrimmed) open the next user turn. */
static void render_orion(const struct kw_chat_message *m, const int *roles,
                         size_t n, struct out *o) {
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        if (roles[i] == R_SYSTEM) continue;
        if (roles[i] == R_USER) {
            put(o, "Human: ");
            int any = 0;
            for (size_t j = from; j < i; j++)
                if (roles[j] == R_SYSTEM && m[j].content[0]) any = 1;
            if (any) {
                for (size_t j = from; j < i; j++)
                    if (roles[j] == R_SYSTEM) put(o, m[j].content);
                put(o, "\n\n");
            }
            from = i + 1;
            put(o, m[i].content);
            put(o, "\n\nAssistant: </s>");
        } else {
            put(o, m[i].content);
            put(o, "</s>");
        }
    }
}

static void render_monarch(const struct kw_chat_message *m, size_t n, int add,
                           struct out *o) {
    for (size_t i = 0; i < n; i++) {
        if (i > 0) put(o, "<s>");
        put(o, m[i].role);
        put(o, "\n");
        put(o, m[i].content);
        put(o, "</s>\n");
    }
    if (add) put(o, "<s>assistant\n");
}

/* RWKV World: the assistant cue follows a final user turn whatever
 * add_assistant says. */
static void render_rwkv(const struct kw_chat_message *m, const int *roles,
                        size_t n, struct out *o) {
    static const char *const pre[R_COUNT] = {"System: ", "User: ",
                                             "Assistant: "};
    for (size_t i = 0; i < n; i++) {
        put(o, pre[roles[i]]);
        put_trim(o, m[i].content);
        put(o, "\n\n");
        if (roles[i] == R_USER && i + 1 == n) put(o, "Assistant:");
    }
}

/* GigaChat: a leading system text goes right after <s>; later ones are
 * dropped. */
static void render_gigachat(const struct kw_chat_message *m, const int *roles,
                            size_t n, int add, struct out *o) {
    size_t i = 0;
    put(o, "<s>");
    if (n > 0 && roles[0] == R_SYSTEM) {
        put(o, m[0].content);
        put(o, "<|message_sep|>");
        i = 1;
    }
    for (; i < n; i++) {
        if (roles[i] == R_USER) {
            put(o, "user<|role_sep|>");
            put(o, m[i].content);
            put(o, "<|message_sep|>available functions<|role_sep|>[]"
                   "<|message_sep|>");
        } else if (roles[i] == R_ASSISTANT) {
            put(o, "assistant<|role_sep|>");
            put(o, m[i].content);
            put(o, "<|message_sep|>");
        }
    }
    if (add) put(o, "assistant<|role_sep|>");
}

#define HY_ASSISTANT "<\xef\xbd\x9chy_Assistant\xef\xbd\x9c>"
#define HY_USER "<\xef\xbd\x9chy_User\xef\xbd\x9c>"
#define HY_HOLDER(d)                                                          \
    "<\xef\xbd\x9chy_place\xe2\x96\x81holder\xe2\x96\x81no\xe2\x96\x81" d      \
    "\xef\xbd\x9c>"

/* Hunyuan dense / VL: only a leading system text is kept. */
static void render_hunyuan(int vl, const struct kw_chat_message *m,
                           const int *roles, size_t n, struct out *o) {
    if (vl)
        put(o, "<\xef\xbd\x9chy_begin\xe2\x96\x81of\xe2\x96\x81sentence"
               "\xef\xbd\x9c>");
    for (size_t i = 0; i < n; i++) {
        if (i == 0 && roles[i] == R_SYSTEM) {
            put(o, m[i].content);
            put(o, HY_HOLDER("3"));
            if (vl) continue;
        }
        if (roles[i] == R_ASSISTANT) {
            if (!vl) put(o, HY_ASSISTANT);
            put(o, m[i].content);
            put(o, vl ? HY_ASSISTANT : HY_HOLDER("2"));
        } else if (roles[i] == R_USER) {
            if (!vl) put(o, HY_USER);
            put(o, m[i].content);
            put(o, vl ? HY_USER : HY_ASSISTANT);
        }
    }
}

#define PG_OPEN "[unused9]"
#define PG_CLOSE "[unused10]"
#define PG_SYSTEM "\xe7\xb3\xbb\xe7\xbb\x9f\xef\xbc\x9a"    /* 系统： */
#define PG_USER "\xe7\x94\xa8\xe6\x88\xb7\xef\xbc\x9a"      /* 用户： */
#define PG_ASSISTANT "\xe5\x8a\xa9\xe6\x89\x8b\xef\xbc\x9a" /* 助手： */

/* openPangu: an empty system turn is added when the first turn is not one. */
static void render_pangu(const struct kw_chat_message *m, const int *roles,
                         size_t n, int add, struct out *o) {
    static const char *const who[R_COUNT] = {PG_SYSTEM, PG_USER, PG_ASSISTANT};
    for (size_t i = 0; i < n; i++) {
        if (i == 0 && roles[i] != R_SYSTEM)
            put(o, PG_OPEN PG_SYSTEM PG_CLOSE);
        put(o, PG_OPEN);
        put(o, who[roles[i]]);
        put(o, m[i].content);
        put(o, PG_CLOSE);
    }
    if (add) put(o, PG_OPEN PG_ASSISTANT);
}

/* Ling 2.0: a fixed system turn is added when there is none first. */
static void render_bailing2(const struct fmt *f,
                            const struct kw_chat_message *m, const int *roles,
                            size_t n, int add, struct out *o) {
    if (n == 0 || roles[0] != R_SYSTEM)
        put(o, "<role>SYSTEM</role>detailed thinking off<|role_end|>");
    render_table(f, m, roles, n, add, o);
}

static void list_names(char *err, size_t err_size, const char *what,
                       const char *name) {
    if (!err || !err_size) return;
    struct out o = {err, err_size, 0};
    put(&o, what);
    put(&o, " '");
    put(&o, name);
    put(&o, "'; known templates:");
    for (size_t i = 0; i < N_FORMATS; i++) {
        put(&o, " ");
        put(&o, FORMATS[i].name);
    }
    for (size_t i = 0; i < sizeof ALIASES / sizeof ALIASES[0]; i++) {
        put(&o, " ");
        put(&o, ALIASES[i].alias);
    }
    err[o.len < err_size ? o.len : err_size - 1] = '\0';
}

enum kw_status kw__chat_render(const char *name, const char *bos,
                               const char *eos,
                               const struct kw_chat_message *msgs, size_t n,
                               int add_assistant, char *buf, size_t cap,
                               size_t *len, char *err, size_t err_size) {
    (void)bos; /* llama.cpp's built-in formats spell "<s>"/"</s>" literally */
    (void)eos;
    if (len) *len = 0;
    if (cap > 0 && buf) buf[0] = '\0';
    if (!name)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "chat template: no template name");
    if ((n > 0 && !msgs) || (cap > 0 && !buf))
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "chat template: NULL %s", buf || cap == 0 ? "messages"
                                                                 : "buffer");
    const struct fmt *f = find_format(name);
    if (!f) {
        list_names(err, err_size, "chat template: unknown template", name);
        return KW_STATUS_ERR_TEMPLATE;
    }
    for (size_t i = 0; i < n; i++) {
        if (!msgs[i].role || !msgs[i].content)
            return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                           "chat message %zu: NULL %s", i,
                           msgs[i].role ? "content" : "role");
        if (role_of(msgs[i].role) < 0)
            return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                           "chat message %zu: unknown role '%.40s' (expected "
                           "system, user or assistant)",
                           i, msgs[i].role);
    }

    /* Role indices; heap only for long conversations. */
    int small[64];
    int *roles = small;
    if (n > sizeof small / sizeof small[0]) {
        size_t bytes;
        if (!kw__mul_size(n, sizeof *roles, &bytes) ||
            !(roles = malloc(bytes)))
            return kw__err(err, err_size, KW_STATUS_ERR_NOMEM,
                           "chat template: out of memory for %zu messages", n);
    }
    for (size_t i = 0; i < n; i++) roles[i] = role_of(msgs[i].role);

    struct out o = {buf, cap, 0};
    int add = add_assistant != 0;
    switch ((enum fmt_kind)f->kind) {
    case K_TABLE: render_table(f, msgs, roles, n, add, &o); break;
    case K_LLAMA2: render_llama2(f, msgs, roles, n, &o); break;
    case K_MISTRAL: render_mistral(f, msgs, roles, n, &o); break;
    case K_MISTRAL_V7: render_mistral_v7(f, msgs, roles, n, &o); break;
    case K_GEMMA: render_gemma(msgs, roles, n, add, &o); break;
    case K_MONARCH: render_monarch(msgs, n, add, &o); break;
    case K_ORION: render_orion(msgs, roles, n, &o); break;
    case K_RWKV: render_rwkv(msgs, roles, n, &o); break;
    case K_BAILING2: render_bailing2(f, msgs, roles, n, add, &o); break;
    case K_GIGACHAT: render_gigachat(msgs, roles, n, add, &o); break;
    case K_HUNYUAN_DENSE: render_hunyuan(0, msgs, roles, n, &o); break;
    case K_HUNYUAN_VL: render_hunyuan(1, msgs, roles, n, &o); break;
    case K_PANGU: render_pangu(msgs, roles, n, add, &o); break;
    }
    if (roles != small) free(roles);

    if (cap > 0) buf[o.len < cap ? o.len : cap - 1] = '\0';
    if (len) *len = o.len;
    if (cap <= o.len)
        return kw__err(err, err_size, KW_STATUS_ERR_BUFFER_TOO_SMALL,
                       "chat template: prompt needs %zu bytes plus NUL, "
                       "buffer has %zu",
                       o.len, cap);
    return KW_STATUS_OK;
}
