/* fastjson.cc -- simdjson's DOM parser behind the C interface of
 * fastjson.h.  No C++ exception crosses into C: simdjson is used through
 * its error codes, and allocation failure ends the process as xmalloc()
 * does. */
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <simdjson.h>

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
        p++;
        switch (*p) {
        case '"':
        case '\\':
        case '/':
            out += *p;
            break;
        case 'b':
            out += '\b';
            break;
        case 'f':
            out += '\f';
            break;
        case 'n':
            out += '\n';
            break;
        case 'r':
            out += '\r';
            break;
        case 't':
            out += '\t';
            break;
        default:
            return nullptr;
        }
    }
    return p + 1;
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
    simdjson::dom::parser parser;
    std::unique_ptr<char[]> buf; /* the body, padded */
    size_t cap = 0;              /* bytes of buf before the padding */
    size_t len = 0;
    unsigned long ticket = 0;     /* the body parsed now; 0: none usable */
    unsigned long last = 0;       /* tickets handed out */
    int minus_zero = -1;          /* has_minus_zero() of the body, once known */
    element root;
    bool alloc_failed = false;
};

namespace {

/* Whether the body of <fj> holds a -0 token, found once per body. */
bool minus_zero(fastjson *fj)
{
    if (fj->minus_zero < 0)
        fj->minus_zero = has_minus_zero(fj->buf.get(), fj->len) ? 1 : 0;
    return fj->minus_zero == 1;
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
    case element_type::ARRAY: {
        simdjson::dom::array a = e.get_array().value_unsafe();
        size_t n = a.size();

        /* The tape saturates counts at 2^24-1: count them then. */
        if (n >= 0xffffff) {
            n = 0;
            for (element item : a) {
                (void)item;
                n++;
            }
        }
        *out = jv_number(static_cast<double>(n));
        return true;
    }
    case element_type::OBJECT:
        return object_length(fj, e, out);
    }
    return false;
}

/* One step from <cur>: true with the next value in *<next>, or with
 * *<is_null> set when jq gives null; false where jq gives an error. */
bool walk(element cur, const step &s, element *next, bool *is_null)
{
    if (s.is_index) {
        if (cur.type() != element_type::ARRAY)
            return false;
        simdjson::dom::array a = cur.get_array().value_unsafe();
        long idx = s.index;
        long n = 0;

        /* jq: a negative index counts from the end; past either end is
         * null.  Counting costs what the walk to the element costs. */
        if (idx < 0) {
            for (element item : a) {
                (void)item;
                n++;
            }
            idx += n;
            if (idx < 0) {
                *is_null = true;
                return true;
            }
        }
        for (element item : a) {
            if (idx-- == 0) {
                *next = item;
                return true;
            }
        }
        *is_null = true;
        return true;
    }
    if (cur.type() != element_type::OBJECT)
        return false;
    bool found = false;
    simdjson::dom::object obj = cur.get_object().value_unsafe();

    /* jq keeps the last of duplicate keys: read to the end. */
    for (auto field : obj) {
        if (field.key == s.name) {
            *next = field.value;
            found = true;
        }
    }
    if (!found)
        *is_null = true;
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

    if (fj->parser.allocate(4096, FASTJSON_MAX_DEPTH) !=
        simdjson::SUCCESS)
        fj->alloc_failed = true;
    return fj;
}

extern "C" void fastjson_free(struct fastjson *fj)
{
    delete fj;
}

extern "C" unsigned long fastjson_parse(struct fastjson *fj, const char *body,
                                        size_t len)
{
    fj->ticket = 0;
    fj->minus_zero = -1;
    if (fj->alloc_failed)
        return 0;
    if (len > fj->cap || !fj->buf) {
        fj->buf.reset(new char[len + PAD]);
        fj->cap = len;
    }
    memcpy(fj->buf.get(), body, len);
    memset(fj->buf.get() + len, 0, PAD);
    fj->len = len;
    auto r = fj->parser.parse(fj->buf.get(), len, false);
    if (r.error() != simdjson::SUCCESS)
        return 0;
    fj->root = r.value_unsafe();
    fj->ticket = ++fj->last;
    if (fj->ticket == 0)
        fj->ticket = ++fj->last;
    return fj->ticket;
}

extern "C" int fastjson_holds(const struct fastjson *fj, unsigned long ticket)
{
    return ticket != 0 && ticket == fj->ticket;
}

extern "C" int fastjson_eval(struct fastjson *fj, unsigned long ticket,
                             const struct fastjson_expr *e, jv *out)
{
    element cur = fj->root;
    bool is_null = false;

    if (!fastjson_holds(fj, ticket))
        return 0;
    for (const step &s : e->steps) {
        /* null.name and null[N] are null in jq. */
        if (is_null)
            continue;
        if (cur.type() == element_type::NULL_VALUE) {
            is_null = true;
            continue;
        }
        if (!walk(cur, s, &cur, &is_null))
            return 0;
    }
    if (is_null) {
        *out = e->length ? jv_number(0) : jv_null();
        return 1;
    }
    if (e->length)
        return length_of(fj, cur, out) ? 1 : 0;
    return to_jv(fj, cur, out) ? 1 : 0;
}
