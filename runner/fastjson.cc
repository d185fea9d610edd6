/* fastjson.cc -- jq paths over simdjson, behind the C interface of
 * fastjson.h.
 *
 * A body is read in two passes, neither of which builds a value.
 * simdjson's first stage (SIMD, several GB/s) finds where every token
 * starts and checks the UTF-8 and the strings' control characters.  Then
 * index_body() walks those positions once: it checks the grammar and every
 * token, and notes for each opening bracket where its closing one is, so
 * that a path steps over a value in one jump.  Only the value a path
 * selects is then parsed whole, by simdjson's DOM parser, and converted to
 * a jv.  Building simdjson's full DOM tape cost twice the first stage on
 * large bodies, for values no check reads.
 *
 * The first stage is reached through simdjson's implementation interface
 * (dom_parser_implementation), which its own parsers use; it is public in
 * simdjson.h though not part of the documented API.
 *
 * No C++ exception crosses into C: simdjson is used through its error
 * codes, and allocation failure ends the process as xmalloc() does. */
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <simdjson.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "fastjson.h"

using simdjson::dom::element;
using simdjson::dom::element_type;

namespace {

/* One step of a path: a name (.name, ."name", .["name"]) or an index
 * (.[N]). */
struct step {
    bool is_index;
    long index;
    std::string name;
};

/* Room a body copy keeps after its end: simdjson reads up to this many
 * bytes past the last one. */
const size_t PAD = simdjson::SIMDJSON_PADDING;
static_assert(PAD <= FASTJSON_PADDING, "FASTJSON_PADDING below simdjson's");
static_assert(PAD >= 16, "the 16-byte reads need 15 bytes past the end");

bool ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool ident_char(char c)
{
    return ident_start(c) || (c >= '0' && c <= '9');
}

const char *skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* The character the one-letter escape \<c> stands for, in JSON as in a jq
 * string literal, or -1 when <c> is not one (\u included). */
int simple_escape(char c)
{
    switch (c) {
    case '"':
    case '\\':
    case '/':
        return c;
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    default:
        return -1;
    }
}

/* A jq string literal at <p> (on its opening quote) into <out>; the end
 * past the closing quote, or NULL for what the fast path leaves alone:
 * interpolation and \u escapes, whose decoding is libjq's business. */
const char *read_string(const char *p, std::string &out)
{
    for (p++; *p != '"'; p++) {
        if (*p == '\0')
            return nullptr;
        if (*p != '\\') {
            out += *p;
            continue;
        }
        int e = simple_escape(*++p);

        if (e < 0)
            return nullptr;
        out += static_cast<char>(e);
    }
    return p + 1;
}

/* Whether <s> is well-formed UTF-8: no stray continuation byte, no
 * overlong form, no surrogate, nothing past U+10FFFF.  jq reads a name
 * that is not as holding U+FFFD where the bad bytes are; such a name is
 * left to it. */
bool utf8_ok(const std::string &s)
{
    size_t i = 0, n = s.size();

    while (i < n) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        size_t len;
        unsigned cp, min;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2, cp = c & 0x1f, min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3, cp = c & 0x0f, min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            unsigned char d = static_cast<unsigned char>(s[i + k]);

            if ((d & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (d & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

/* The inside of a bracket at <p> (past the '['): a string or an integer
 * of up to 9 digits, so that jq's int conversion of it is exact. */
const char *read_bracket(const char *p, step &s)
{
    p = skip_space(p);
    if (*p == '"') {
        s.is_index = false;
        p = read_string(p, s.name);
        if (p == nullptr)
            return nullptr;
    } else {
        bool neg = *p == '-';
        int digits = 0;

        if (neg)
            p++;
        s.is_index = true;
        s.index = 0;
        while (*p >= '0' && *p <= '9' && digits < 10) {
            s.index = s.index * 10 + (*p++ - '0');
            digits++;
        }
        if (digits == 0 || digits > 9)
            return nullptr;
        if (neg)
            s.index = -s.index;
    }
    p = skip_space(p);
    return *p == ']' ? p + 1 : nullptr;
}

/* Whether the body holds a number token -0 (an integer minus zero), which
 * simdjson reads as the integer 0 but jq as the double -0.  Dates and the
 * like ("2024-01-02") never match: a digit follows their "-0". */
bool has_minus_zero(const char *s, size_t n)
{
    const char *end = s + n;
    const char *p = s;

    while (p + 1 < end) {
        const char *q = static_cast<const char *>(memchr(p, '-', end - p - 1));

        if (q == nullptr)
            return false;
        if (q[1] == '0' &&
            (q + 2 == end || (q[2] != '.' && q[2] != 'e' && q[2] != 'E' &&
                              !(q[2] >= '0' && q[2] <= '9'))))
            return true;
        p = q + 1;
    }
    return false;
}

} // namespace

struct fastjson_expr {
    std::vector<step> steps;
    bool length; /* followed by | length */
};

struct fastjson {
    /* simdjson's first stage: the start of every token of the body. */
    std::unique_ptr<simdjson::internal::dom_parser_implementation> stage1;
    simdjson::dom::parser parser; /* the value a path selects */
    std::unique_ptr<char[]> buf;  /* a padded copy of a body */
    size_t cap = 0;               /* bytes of buf before the padding */
    const char *body = nullptr;   /* the body parsed: buf, or the caller's */
    size_t len = 0;
    /* For the token that opens an array or object, the token that closes
     * it; other entries are not set. */
    std::unique_ptr<uint32_t[]> close;
    size_t close_cap = 0;
    std::string key; /* a key with escapes, decoded */
    unsigned long ticket = 0;     /* the body parsed now; 0: none usable */
    unsigned long last = 0;       /* tickets handed out */
    /* The text of the value selected last, for minus_zero(). */
    const char *sel = nullptr;
    size_t sel_len = 0;
    int minus_zero = -1;          /* has_minus_zero() of sel, once known */
    bool alloc_failed = false;
};

namespace {

/* Whether the selected value of <fj> holds a -0 token, found once. */
bool minus_zero(fastjson *fj)
{
    if (fj->minus_zero < 0)
        fj->minus_zero = has_minus_zero(fj->sel, fj->sel_len) ? 1 : 0;
    return fj->minus_zero == 1;
}

bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Whether nothing but JSON whitespace lies from <p> to <end>. */
bool blank(const char *p, const char *end)
{
    if (p > end)
        return false;
    for (; p < end; p++)
        if (!is_space(*p))
            return false;
    return true;
}

/* Four hex digits at <p>, before <end>, into *<u>. */
bool hex4(const char *p, const char *end, unsigned *u)
{
    if (end - p < 4)
        return false;
    *u = 0;
    for (int k = 0; k < 4; k++) {
        char c = p[k];

        *u <<= 4;
        if (c >= '0' && c <= '9')
            *u |= static_cast<unsigned>(c - '0');
        else if (c >= 'a' && c <= 'f')
            *u |= static_cast<unsigned>(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            *u |= static_cast<unsigned>(c - 'A' + 10);
        else
            return false;
    }
    return true;
}

/* The first '"' or '\\' from <p> on, or <end> (or a little past it)
 * when there is none before.  Reads 16 bytes at a time: the padding after
 * the body (FASTJSON_PADDING) covers what it reads past <end>. */
inline const char *quote_or_backslash(const char *p, const char *end)
{
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');

    for (; p < end; p += 16) {
        __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
        unsigned m = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(
            _mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash))));

        if (m != 0)
            return p + __builtin_ctz(m);
    }
    return end;
#else
    while (p < end && *p != '"' && *p != '\\')
        p++;
    return p;
#endif
}

/* Past the closing quote of the string token at <p> (on its opening
 * quote), or NULL for a bad escape (as jq 1.6 judges them) or no end
 * before <end>.  The first stage has already refused control characters
 * and bad UTF-8. */
const char *string_end(const char *p, const char *end)
{
    const char *q = quote_or_backslash(p + 1, end);

    while (q < end) {
        unsigned u, lo;

        if (*q == '"')
            return q + 1;
        if (*q != '\\') {
            q++;
            continue;
        }
        if (end - q < 2)
            return nullptr;
        if (simple_escape(q[1]) >= 0) {
            q += 2;
            continue;
        }
        if (q[1] != 'u' || !hex4(q + 2, end, &u))
            return nullptr;
        q += 6;
        /* jq refuses a high surrogate not followed by a low one (and
         * takes a lone low one). */
        if (u >= 0xd800 && u <= 0xdbff) {
            if (end - q < 2 || q[0] != '\\' || q[1] != 'u' ||
                !hex4(q + 2, end, &lo) || lo < 0xdc00 || lo > 0xdfff)
                return nullptr;
            q += 6;
        }
    }
    return nullptr;
}

/* Append the UTF-8 of codepoint <u> to <out>. */
void put_utf8(std::string &out, unsigned u)
{
    if (u < 0x80) {
        out += static_cast<char>(u);
    } else if (u < 0x800) {
        out += static_cast<char>(0xc0 | (u >> 6));
        out += static_cast<char>(0x80 | (u & 0x3f));
    } else if (u < 0x10000) {
        out += static_cast<char>(0xe0 | (u >> 12));
        out += static_cast<char>(0x80 | ((u >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (u & 0x3f));
    } else {
        out += static_cast<char>(0xf0 | (u >> 18));
        out += static_cast<char>(0x80 | ((u >> 12) & 0x3f));
        out += static_cast<char>(0x80 | ((u >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (u & 0x3f));
    }
}

/* The text of the string token at <p>, a key that holds escapes, into
 * <out>; false for a lone low surrogate, whose reading is left to jq.
 * index_body() has checked the token. */
bool decode_key(const char *p, std::string &out)
{
    out.clear();
    for (p++; *p != '"'; p++) {
        unsigned u, lo;

        if (*p != '\\') {
            out += *p;
            continue;
        }
        if (*++p != 'u') {
            out += static_cast<char>(simple_escape(*p));
            continue;
        }
        hex4(p + 1, p + 5, &u);
        p += 4;
        if (u >= 0xdc00 && u <= 0xdfff)
            return false;
        if (u >= 0xd800 && u <= 0xdbff) {
            if (p[1] != '\\' || p[2] != 'u' || !hex4(p + 3, p + 7, &lo) ||
                lo < 0xdc00 || lo > 0xdfff)
                return false;
            u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
            p += 6;
        }
        put_utf8(out, u);
    }
    return true;
}

/* Past the number token at <p>, by RFC 8259's grammar, or NULL. */
const char *number_end(const char *p, const char *end)
{
    if (p < end && *p == '-')
        p++;
    if (p < end && *p == '0') {
        p++;
    } else if (p < end && *p >= '1' && *p <= '9') {
        while (p < end && is_digit(*p))
            p++;
    } else {
        return nullptr;
    }
    if (p < end && *p == '.') {
        p++;
        if (p == end || !is_digit(*p))
            return nullptr;
        while (p < end && is_digit(*p))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p == end || !is_digit(*p))
            return nullptr;
        while (p < end && is_digit(*p))
            p++;
    }
    return p;
}

/* Past the literal <word> of <n> bytes at <p>, or NULL. */
const char *atom_end(const char *p, const char *end, const char *word,
                     size_t n)
{
    if (static_cast<size_t>(end - p) < n || memcmp(p, word, n) != 0)
        return nullptr;
    return p + n;
}

/* Whether the number token at <p> is plain -- an integer or a decimal
 * fraction of at most 16 bytes that runs right up to <next> -- judged 16
 * bytes at a time.  False sends it to number_end(). */
inline bool plain_number(const char *p, const char *next)
{
#ifdef __SSE2__
    unsigned len = static_cast<unsigned>(next - p);
    unsigned lead = *p == '-';

    if (len <= lead || len > 16)
        return false;
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
    unsigned digits = static_cast<unsigned>(_mm_movemask_epi8(
        _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                      _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)))));
    unsigned dots =
        static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('.'))));
    unsigned range = len == 16 ? 0xffffu : (1u << len) - 1;

    dots &= range;
    return ((digits | dots | lead) & range) == range &&
           (dots & (dots - 1)) == 0 &&              /* one '.' at most */
           (dots & (1u << lead | 1u << (len - 1))) == 0 && /* inside */
           (p[lead] != '0' || len == lead + 1 || p[lead + 1] == '.');
#else
    (void)p;
    (void)next;
    return false;
#endif
}

/* Whether the string token at <p> has no escape and ends right before
 * <next>: the common case. */
inline bool plain_string(const char *p, const char *next)
{
    const char *q = quote_or_backslash(p + 1, next);

    return *q == '"' && q + 1 == next;
}

/* Past the string, number or literal at <p>, before <end>; NULL if it is
 * not one. */
inline const char *scalar_end(const char *p, const char *end)
{
    switch (*p) {
    case '"':
        return string_end(p, end);
    case 't':
        return atom_end(p, end, "true", 4);
    case 'f':
        return atom_end(p, end, "false", 5);
    case 'n':
        return atom_end(p, end, "null", 4);
    default:
        return number_end(p, end);
    }
}

/* Whether the scalar at <p> is valid, with only whitespace after it up
 * to <next>: the long way, for what the plain_ checks leave. */
__attribute__((noinline)) bool scalar_ok(const char *p, const char *next,
                                          const char *end)
{
    const char *e = scalar_end(p, end);

    return e != nullptr && blank(e, next);
}

/* Check the body of <fj> token by token on the first stage's positions,
 * and fill fj->close.  False for anything that is not strict JSON, or not
 * surely read alike by jq and here (see string_end()), or nested past
 * FASTJSON_MAX_DEPTH: the caller leaves such a body to libjq.
 *
 * One flat loop with the open brackets on a stack of its own: this pass
 * costs as much as simdjson's first stage, so it avoids calls per token. */
bool index_body(fastjson *fj)
{
    const char *b = fj->body;
    const char *bend = b + fj->len;
    const uint32_t *at = fj->stage1->structural_indexes.get();
    uint32_t n = fj->stage1->n_structural_indexes;
    uint32_t *close = fj->close.get();
    uint32_t open[FASTJSON_MAX_DEPTH + 1];
    /* Whether each open value is an object.  It could be read back at
     * b[at[open[depth]]], but that dependent load costs 12% of the pass. */
    bool in_object[FASTJSON_MAX_DEPTH + 1];
    int depth = 0;
    uint32_t i = 0;

    in_object[0] = false;
    /* At the top of each turn, token i must start a value. */
    while (i < n) {
        const char *p = b + at[i];
        char c = *p;

        if (c == '{' || c == '[') {
            if (depth == FASTJSON_MAX_DEPTH)
                return false;
            open[++depth] = i;
            in_object[depth] = c == '{';
            i++;
            if (i < n && b[at[i]] == (c == '{' ? '}' : ']')) {
                depth--;
                close[i - 1] = i;
                i++;
                goto after_value;
            }
            if (c == '[')
                continue;
            goto key;
        }
        {
            const char *next = b + at[i + 1];
            bool ok;

            switch (c) {
            case '"':
                ok = plain_string(p, next);
                break;
            case 't':
                ok = next - p == 4 && memcmp(p, "true", 4) == 0;
                break;
            case 'f':
                ok = next - p == 5 && memcmp(p, "false", 5) == 0;
                break;
            case 'n':
                ok = next - p == 4 && memcmp(p, "null", 4) == 0;
                break;
            default:
                ok = plain_number(p, next);
                break;
            }
            if (!ok && !scalar_ok(p, next, bend))
                return false;
            i++;
        }
    after_value:
        /* Close what ends here, then a comma before the next value. */
        for (;;) {
            if (depth == 0)
                return i == n;
            if (i >= n)
                return false;
            c = b[at[i]];
            if (c == ',')
                break;
            if (c != (in_object[depth] ? '}' : ']'))
                return false;
            close[open[depth--]] = i++;
        }
        i++;
        if (!in_object[depth])
            continue;
    key:
        if (i + 1 >= n)
            return false;
        {
            const char *p2 = b + at[i];
            const char *next = b + at[i + 1];

            if (*p2 != '"' || *next != ':' ||
                (!plain_string(p2, next) && !scalar_ok(p2, next, bend)))
                return false;
        }
        i += 2;
    }
    return false;
}

/* The first character of token <i>. */
char token(const fastjson *fj, uint32_t i)
{
    return fj->body[fj->stage1->structural_indexes[i]];
}

/* The token after the value at token <i>. */
uint32_t skip(const fastjson *fj, uint32_t i)
{
    char c = token(fj, i);

    return c == '{' || c == '[' ? fj->close[i] + 1 : i + 1;
}

/* The jv libjq's parser would build for <e>, into *<out>; false when not
 * sure (a 0 that may be -0).  Objects are filled in document order with
 * jv_object_set(), as jq's parser does, so a duplicate key keeps its first
 * place and its last value, and keys iterate in the same order. */
bool to_jv(fastjson *fj, element e, jv *out)
{
    switch (e.type()) {
    case element_type::NULL_VALUE:
        *out = jv_null();
        return true;
    case element_type::BOOL:
        *out = jv_bool(e.get_bool().value_unsafe());
        return true;
    case element_type::INT64: {
        int64_t i = e.get_int64().value_unsafe();

        if (i == 0 && minus_zero(fj))
            return false;
        *out = jv_number(static_cast<double>(i));
        return true;
    }
    case element_type::UINT64:
        *out = jv_number(static_cast<double>(e.get_uint64().value_unsafe()));
        return true;
    case element_type::DOUBLE:
        *out = jv_number(e.get_double().value_unsafe());
        return true;
    case element_type::STRING: {
        std::string_view s = e.get_string().value_unsafe();

        *out = jv_string_sized(s.data(), static_cast<int>(s.size()));
        return true;
    }
    case element_type::ARRAY: {
        jv a = jv_array();
        simdjson::dom::array arr = e.get_array().value_unsafe();

        for (element item : arr) {
            jv x;

            if (!to_jv(fj, item, &x)) {
                jv_free(a);
                return false;
            }
            a = jv_array_append(a, x);
        }
        *out = a;
        return true;
    }
    case element_type::OBJECT: {
        jv o = jv_object();
        simdjson::dom::object obj = e.get_object().value_unsafe();

        for (auto field : obj) {
            jv x;

            if (!to_jv(fj, field.value, &x)) {
                jv_free(o);
                return false;
            }
            o = jv_object_set(
                o,
                jv_string_sized(field.key.data(),
                                static_cast<int>(field.key.size())),
                x);
        }
        *out = o;
        return true;
    }
    }
    return false;
}

/* Codepoints of valid UTF-8 text: every byte but continuation bytes. */
size_t codepoints(std::string_view s)
{
    size_t n = 0;

    for (unsigned char c : s)
        n += (c & 0xc0) != 0x80;
    return n;
}

/* Distinct keys of <o>: jq's object keeps one entry per key. */
bool object_length(fastjson *fj, element e, jv *out)
{
    std::vector<std::string_view> keys;
    simdjson::dom::object obj = e.get_object().value_unsafe();

    for (auto field : obj) {
        bool seen = false;

        for (const auto &k : keys)
            if (k == field.key) {
                seen = true;
                break;
            }
        if (!seen)
            keys.push_back(field.key);
        if (keys.size() > 64) {
            /* Many keys: let jq's own object count them. */
            jv whole;

            if (!to_jv(fj, e, &whole))
                return false;
            *out = jv_number(jv_object_length(whole));
            return true;
        }
    }
    *out = jv_number(static_cast<double>(keys.size()));
    return true;
}

/* jq's length of <e>; false where jq gives an error (booleans). */
bool length_of(fastjson *fj, element e, jv *out)
{
    switch (e.type()) {
    case element_type::NULL_VALUE:
        *out = jv_number(0);
        return true;
    case element_type::BOOL:
        return false;
    case element_type::INT64:
        *out = jv_number(
            std::fabs(static_cast<double>(e.get_int64().value_unsafe())));
        return true;
    case element_type::UINT64:
        *out = jv_number(static_cast<double>(e.get_uint64().value_unsafe()));
        return true;
    case element_type::DOUBLE:
        *out = jv_number(std::fabs(e.get_double().value_unsafe()));
        return true;
    case element_type::STRING:
        *out = jv_number(static_cast<double>(
            codepoints(e.get_string().value_unsafe())));
        return true;
    case element_type::ARRAY:
        return false; /* counted on the index by fastjson_eval() */
    case element_type::OBJECT:
        return object_length(fj, e, out);
    }
    return false;
}

/* Items of the array at token <i>. */
long count(const fastjson *fj, uint32_t i)
{
    long n = 0;

    if (token(fj, i + 1) == ']')
        return 0;
    for (i++;; i++) {
        n++;
        i = skip(fj, i);
        if (token(fj, i) == ']')
            return n;
    }
}

/* One step from the value at token <cur>: true with the next value's
 * token in *<next>, or with *<is_null> set when jq gives null; false where
 * jq gives an error, or where a key holds a lone surrogate. */
bool walk(fastjson *fj, uint32_t cur, const step &s, uint32_t *next,
          bool *is_null)
{
    char c = token(fj, cur);

    if (s.is_index) {
        if (c != '[')
            return false;
        long idx = s.index;

        /* jq: a negative index counts from the end; past either end is
         * null. */
        if (idx < 0)
            idx += count(fj, cur);
        if (idx >= 0 && token(fj, cur + 1) != ']') {
            for (uint32_t i = cur + 1;; i++) {
                if (idx-- == 0) {
                    *next = i;
                    return true;
                }
                i = skip(fj, i);
                if (token(fj, i) == ']')
                    break;
            }
        }
        *is_null = true;
        return true;
    }
    if (c != '{')
        return false;
    bool found = false;

    /* jq keeps the last of duplicate keys: read to the end. */
    if (token(fj, cur + 1) != '}') {
        for (uint32_t i = cur + 1;; i++) {
            const char *k =
                fj->body + fj->stage1->structural_indexes[i] + 1;
            /* index_body() saw the closing quote. */
            const char *q = quote_or_backslash(k, fj->body + fj->len);
            size_t klen;

            if (*q == '\\') {
                if (!decode_key(k - 1, fj->key))
                    return false;
                k = fj->key.data();
                klen = fj->key.size();
            } else {
                klen = static_cast<size_t>(q - k);
            }
            if (klen == s.name.size() &&
                memcmp(k, s.name.data(), klen) == 0) {
                *next = i + 2;
                found = true;
            }
            i = skip(fj, i + 2);
            if (token(fj, i) == '}')
                break;
        }
    }
    if (!found)
        *is_null = true;
    return true;
}

/* The value at token <i>, parsed whole, into *<e>. */
bool select_value(fastjson *fj, uint32_t i, element *e)
{
    const uint32_t *at = fj->stage1->structural_indexes.get();
    char c = token(fj, i);
    size_t start = at[i];
    /* at[n] is the body's end (see parse_padded()). */
    size_t end = c == '{' || c == '[' ? at[fj->close[i]] + 1 : at[i + 1];

    fj->sel = fj->body + start;
    fj->sel_len = end - start;
    fj->minus_zero = -1;
    /* The padding after the body lets simdjson read past <end>. */
    auto r = fj->parser.parse(fj->sel, fj->sel_len, false);
    if (r.error() != simdjson::SUCCESS)
        return false;
    *e = r.value_unsafe();
    return true;
}

} // namespace

extern "C" struct fastjson_expr *fastjson_compile(const char *expr)
{
    std::unique_ptr<fastjson_expr> e(new fastjson_expr());
    const char *p = skip_space(expr);

    e->length = false;
    if (*p != '.')
        return nullptr;
    p++;
    /* The first step hangs on the leading dot: .name, ."name", .[...]. */
    for (bool first = true;; first = false) {
        step s;

        if (*p == '[') {
            p = read_bracket(p + 1, s);
        } else if (first || *p == '.') {
            if (!first)
                p++;
            if (*p == '"') {
                s.is_index = false;
                p = read_string(p, s.name);
            } else if (ident_start(*p)) {
                s.is_index = false;
                while (ident_char(*p))
                    s.name += *p++;
            } else if (first) {
                break; /* the identity */
            } else {
                return nullptr;
            }
        } else {
            break;
        }
        if (p == nullptr)
            return nullptr;
        if (!s.is_index && !utf8_ok(s.name))
            return nullptr;
        e->steps.push_back(s);
    }
    p = skip_space(p);
    if (*p == '|') {
        p = skip_space(p + 1);
        if (strncmp(p, "length", 6) != 0 || ident_char(p[6]))
            return nullptr;
        e->length = true;
        p = skip_space(p + 6);
    }
    if (*p != '\0')
        return nullptr;
    return e.release();
}

extern "C" void fastjson_expr_free(struct fastjson_expr *e)
{
    delete e;
}

extern "C" struct fastjson *fastjson_new(void)
{
    fastjson *fj = new fastjson();

    if (fj->parser.allocate(4096, FASTJSON_MAX_DEPTH) != simdjson::SUCCESS ||
        simdjson::get_active_implementation()
                ->create_dom_parser_implementation(4096, FASTJSON_MAX_DEPTH,
                                                   fj->stage1) !=
            simdjson::SUCCESS)
        fj->alloc_failed = true;
    return fj;
}

extern "C" void fastjson_free(struct fastjson *fj)
{
    delete fj;
}

namespace {

/* Index <len> bytes at <body>, followed by FASTJSON_PADDING readable
 * bytes; see fastjson_parse(). */
unsigned long parse_padded(fastjson *fj, const char *body, size_t len)
{
    fj->body = body;
    fj->len = len;
    if (len > fj->stage1->capacity() &&
        fj->stage1->set_capacity(len) != simdjson::SUCCESS)
        return 0;
    if (fj->stage1->stage1(reinterpret_cast<const uint8_t *>(body), len,
                           simdjson::stage1_mode::regular) !=
        simdjson::SUCCESS)
        return 0;
    uint32_t n = fj->stage1->n_structural_indexes;
    /* The array has room past the last token: index_body() finds there
     * where the body ends. */
    fj->stage1->structural_indexes[n] = static_cast<uint32_t>(len);
    if (n > fj->close_cap) {
        fj->close.reset(new uint32_t[n]);
        fj->close_cap = n;
    }
    if (!index_body(fj))
        return 0;
    fj->ticket = ++fj->last;
    if (fj->ticket == 0)
        fj->ticket = ++fj->last;
    return fj->ticket;
}

} // namespace

extern "C" unsigned long fastjson_parse(struct fastjson *fj, const char *body,
                                        size_t len)
{
    fj->ticket = 0;
    if (fj->alloc_failed || len > 0xffffffffu - PAD)
        return 0;
    if (len > fj->cap || !fj->buf) {
        fj->buf.reset(new char[len + PAD]);
        fj->cap = len;
    }
    memcpy(fj->buf.get(), body, len);
    memset(fj->buf.get() + len, 0, PAD);
    return parse_padded(fj, fj->buf.get(), len);
}

extern "C" unsigned long fastjson_parse_in_place(struct fastjson *fj,
                                                 const char *body, size_t len)
{
    fj->ticket = 0;
    if (fj->alloc_failed || len > 0xffffffffu - PAD)
        return 0;
    return parse_padded(fj, body, len);
}

extern "C" int fastjson_holds(const struct fastjson *fj, unsigned long ticket)
{
    return ticket != 0 && ticket == fj->ticket;
}

extern "C" int fastjson_eval(struct fastjson *fj, unsigned long ticket,
                             const struct fastjson_expr *e, jv *out)
{
    uint32_t cur = 0;
    bool is_null = false;
    element v;

    if (!fastjson_holds(fj, ticket))
        return 0;
    for (const step &s : e->steps) {
        /* null.name and null[N] are null in jq. */
        if (is_null)
            continue;
        if (token(fj, cur) == 'n') {
            is_null = true;
            continue;
        }
        if (!walk(fj, cur, s, &cur, &is_null))
            return 0;
    }
    if (is_null) {
        *out = e->length ? jv_number(0) : jv_null();
        return 1;
    }
    if (e->length && token(fj, cur) == '[') {
        *out = jv_number(static_cast<double>(count(fj, cur)));
        return 1;
    }
    if (!select_value(fj, cur, &v))
        return 0;
    if (e->length)
        return length_of(fj, v, out) ? 1 : 0;
    return to_jv(fj, v, out) ? 1 : 0;
}
