/* jsonscan.c -- a token-level walk over a JSON text.
 *
 * States say what may come next.  A container's kind is one bit per level,
 * so the walk needs no memory but a fixed bitmap.
 */
#include <stdint.h>
#include <string.h>

#include "jsonscan.h"

enum want {
    W_VALUE,        /* a value (top level, after '[', ':' or ',' in array) */
    W_VALUE_OR_END, /* after '[': a value or ']' */
    W_KEY,          /* after ',' in an object */
    W_KEY_OR_END,   /* after '{': a key or '}' */
    W_COLON,        /* after a key */
    W_NEXT,         /* after a value inside a container: ',' or the close */
    W_DONE          /* after the top-level value: only white space */
};

static int fail(const char **why, size_t *at, const char *reason, size_t off)
{
    if (why)
        *why = reason;
    if (at)
        *at = off;
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_literal(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z') || c == '-' || c == '+' || c == '.';
}

int jsonscan_structure(const char *s, size_t n, const char **why, size_t *at)
{
    uint8_t object[JSONSCAN_MAX_DEPTH / 8]; /* bit set: that level is {} */
    size_t i = 0, depth = 0;
    enum want w = W_VALUE;

    if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < n) {
        char c = s[i];
        size_t start = i;
        int value = 0;

        if (is_space(c)) {
            i++;
            continue;
        }
        if (w == W_DONE)
            return fail(why, at, "more than one value", i);
        if (c == '"') {
            for (i++; i < n && s[i] != '"'; i++)
                if (s[i] == '\\')
                    i++;
            if (i >= n)
                return fail(why, at, "a string does not end", start);
            i++;
            if (w == W_KEY || w == W_KEY_OR_END) {
                w = W_COLON;
                continue;
            }
            value = 1;
        } else if (is_literal(c)) {
            while (i < n && is_literal(s[i]))
                i++;
            if (w == W_KEY || w == W_KEY_OR_END)
                return fail(why, at, "an object key is not a string", start);
            value = 1;
        } else if (c == '[' || c == '{') {
            if (w != W_VALUE && w != W_VALUE_OR_END)
                return fail(why, at,
                            w == W_COLON  ? "expected ':'"
                            : w == W_NEXT ? "expected ',' or a closing bracket"
                                          : "an object key is not a string",
                            i);
            if (depth >= JSONSCAN_MAX_DEPTH)
                return 1; /* libjq refuses it sooner, by its own limit */
            if (c == '{')
                object[depth / 8] |= (uint8_t)(1u << (depth % 8));
            else
                object[depth / 8] &= (uint8_t) ~(1u << (depth % 8));
            depth++;
            w = c == '{' ? W_KEY_OR_END : W_VALUE_OR_END;
            i++;
            continue;
        } else if (c == ']' || c == '}') {
            int is_obj;

            if (depth == 0)
                return fail(why, at, "a closing bracket with nothing open", i);
            is_obj = (object[(depth - 1) / 8] >> ((depth - 1) % 8)) & 1;
            if (is_obj != (c == '}'))
                return fail(why, at, "brackets do not match", i);
            if (w != W_NEXT && w != (is_obj ? W_KEY_OR_END : W_VALUE_OR_END))
                return fail(why, at,
                            w == W_COLON ? "expected ':'" : "expected a value",
                            i);
            depth--;
            i++;
            value = 1;   /* a closed container is a value of its parent */
            w = W_VALUE; /* so that the step below moves on */
        } else if (c == ':') {
            if (w != W_COLON)
                return fail(why, at, "unexpected ':'", i);
            w = W_VALUE;
            i++;
            continue;
        } else if (c == ',') {
            int is_obj;

            if (w != W_NEXT)
                return fail(why, at, "unexpected ','", i);
            is_obj = (object[(depth - 1) / 8] >> ((depth - 1) % 8)) & 1;
            w = is_obj ? W_KEY : W_VALUE;
            i++;
            continue;
        } else {
            return fail(why, at, "unexpected character", i);
        }
        if (value) {
            if (w != W_VALUE && w != W_VALUE_OR_END)
                return fail(why, at,
                            w == W_COLON ? "expected ':'"
                                         : "two values without ',' between",
                            start);
            w = depth ? W_NEXT : W_DONE;
        }
    }
    if (w != W_DONE)
        return fail(why, at,
                    depth ? "the text ends inside a value" : "no value", n);
    return 1;
}
