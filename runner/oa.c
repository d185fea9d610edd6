/* oa.c -- orthogonal arrays over finite fields; see oa.h. */
#include <stdlib.h>

#include "oa.h"
#include "xalloc.h"

/* GF(q), q = p^m: an element is the number whose base-p digits are its
 * coefficients over GF(p); sums and products come from tables built once
 * per array. */
struct field {
    unsigned q, p, m;
    unsigned char *add, *mul; /* q * q sums, products */
};

/* p and m with q = p^m, or 0 when q is not a prime power. */
static unsigned prime_power(unsigned q, unsigned *m)
{
    unsigned p, n;

    if (q < 2)
        return 0;
    for (p = 2; p * p <= q && q % p != 0; p++)
        ;
    if (q % p != 0)
        p = q; /* q is prime */
    for (n = q, *m = 0; n % p == 0; n /= p)
        (*m)++;
    return n == 1 ? p : 0;
}

unsigned oa_field_order(size_t v)
{
    unsigned q, m;

    for (q = v < 2 ? 2 : (unsigned)(v > OA_MAX_Q ? OA_MAX_Q + 1 : v);
         q <= OA_MAX_Q; q++)
        if (prime_power(q, &m))
            return q;
    return 0;
}

/* The product of polynomials <a> and <b> (digit arrays of <m> digits)
 * reduced by the monic <mod> (m + 1 digits), into <out>. */
static void poly_mulmod(unsigned p, unsigned m, const unsigned *a,
                        const unsigned *b, const unsigned *mod,
                        unsigned *out)
{
    unsigned prod[16] = { 0 }, i, j;

    for (i = 0; i < m; i++)
        for (j = 0; j < m; j++)
            prod[i + j] = (prod[i + j] + a[i] * b[j]) % p;
    for (i = 2 * m - 1; i-- > m;) {
        /* Take prod[i] * x^(i-m) * mod away. */
        unsigned c = prod[i];

        for (j = 0; j <= m; j++)
            prod[i - m + j] = (prod[i - m + j] + (p - c) * mod[j]) % p;
    }
    for (i = 0; i < m; i++)
        out[i] = prod[i];
}

static void digits(unsigned p, unsigned m, unsigned v, unsigned *d)
{
    unsigned i;

    for (i = 0; i < m; i++, v /= p)
        d[i] = v % p;
}

/* Whether the monic polynomial <mod> of degree <m> over GF(p) has no
 * monic factor of degree 1 to m/2 (trial division by each): fields up to
 * 2^8 need no better. */
static int irreducible(unsigned p, unsigned m, const unsigned *mod)
{
    unsigned d, i, j;

    for (d = 1; d <= m / 2; d++) {
        unsigned count = 1;

        for (i = 0; i < d; i++)
            count *= p;
        for (j = 0; j < count; j++) {
            unsigned rem[16], div[9], k, x;

            digits(p, d, j, div);
            div[d] = 1;
            for (k = 0; k <= m; k++)
                rem[k] = mod[k];
            for (k = m + 1; k-- > d;) {
                unsigned c = rem[k];

                for (x = 0; x <= d; x++)
                    rem[k - d + x] = (rem[k - d + x] + (p - c) * div[x]) % p;
            }
            for (k = 0; k < d && rem[k] == 0; k++)
                ;
            if (k == d)
                return 0;
        }
    }
    return 1;
}

static int field_init(struct field *f, unsigned q)
{
    unsigned mod[9], a[8], b[8], r[8], i, j, c, count;

    f->q = q;
    f->p = prime_power(q, &f->m);
    f->add = f->mul = NULL;
    if (f->p == 0 || f->m > 8)
        return 0;
    /* The first monic irreducible polynomial of degree m. */
    count = q;
    for (c = 0; c < count; c++) {
        digits(f->p, f->m, c, mod);
        mod[f->m] = 1;
        if (f->m == 1 || irreducible(f->p, f->m, mod))
            break;
    }
    if (c == count)
        return 0;
    f->add = xmalloc((size_t)q * q);
    f->mul = xmalloc((size_t)q * q);
    for (i = 0; i < q; i++) {
        digits(f->p, f->m, i, a);
        for (j = 0; j < q; j++) {
            unsigned sum = 0, prod = 0, k, scale = 1;

            digits(f->p, f->m, j, b);
            poly_mulmod(f->p, f->m, a, b, mod, r);
            for (k = 0; k < f->m; k++, scale *= f->p) {
                sum += (a[k] + b[k]) % f->p * scale;
                prod += r[k] * scale;
            }
            f->add[i * q + j] = (unsigned char)sum;
            f->mul[i * q + j] = (unsigned char)prod;
        }
    }
    return 1;
}

size_t *oa_bush(unsigned q, unsigned t, size_t k, size_t *nrows)
{
    struct field f;
    size_t n = 1, r, *rows;
    unsigned i;

    if (q > OA_MAX_Q || t < 1 || t > q || k > (size_t)q + 1 ||
        !field_init(&f, q))
        return NULL;
    for (i = 0; i < t; i++)
        n *= q;
    rows = xmalloc(n * (k ? k : 1) * sizeof(size_t));
    for (r = 0; r < n; r++) {
        unsigned coef[8], x;
        size_t rest = r, col;

        /* Row r: the polynomial whose coefficients are r's base-q
         * digits, constant term first. */
        for (i = 0; i < t; i++, rest /= q)
            coef[i] = (unsigned)(rest % q);
        for (col = 0; col < k; col++) {
            unsigned v;

            if (col == q) {
                rows[r * k + col] = coef[t - 1];
                continue;
            }
            x = (unsigned)col;
            v = coef[t - 1];
            for (i = t - 1; i-- > 0;)
                v = f.add[f.mul[v * q + x] * q + coef[i]];
            rows[r * k + col] = v;
        }
    }
    free(f.add);
    free(f.mul);
    *nrows = n;
    return rows;
}

static unsigned long long binomial(unsigned n, unsigned k)
{
    unsigned long long b = 1;
    unsigned i;

    for (i = 1; i <= k; i++)
        b = b * (n - k + i) / i; /* exact: b is C(n-k+i, i) */
    return b;
}

size_t *oa_binary(size_t k, size_t *nrows)
{
    unsigned n, w, i, idx[64];
    size_t *rows, j;

    if (k < 2)
        return NULL;
    for (n = 4; binomial(n - 1, (n + 1) / 2) < k; n++)
        ;
    w = (n + 1) / 2;
    rows = xcalloc((size_t)n * k, sizeof(size_t));
    for (i = 0; i < w; i++)
        idx[i] = i + 1;
    for (j = 0; j < k; j++) {
        for (i = 0; i < w; i++)
            rows[(size_t)idx[i] * k + j] = 1;
        /* next w-subset of 1..n-1 in lexicographic order */
        for (i = w; i > 0 && idx[i - 1] == n - 1 - (w - i); i--)
            ;
        if (i == 0)
            break; /* k <= C(n-1, w): never before the last column */
        idx[i - 1]++;
        for (; i < w; i++)
            idx[i] = idx[i - 1] + 1;
    }
    *nrows = n;
    return rows;
}

size_t *oa_bush_squared(unsigned q, size_t k, size_t *nrows)
{
    size_t k2 = (k + q - 1) / (q ? q : 1), na, nb, r, p, n = 0;
    size_t *a, *b, *rows;

    if (q < 2 || k <= q || k2 > q)
        return NULL;
    a = oa_bush(q, 2, q, &na);
    b = oa_bush(q, 2, k2, &nb);
    if (a == NULL || b == NULL) {
        free(a);
        free(b);
        return NULL;
    }
    rows = xmalloc((na + nb) * k * sizeof(size_t));
    for (r = 0; r < na; r++, n++)
        for (p = 0; p < k; p++)
            rows[n * k + p] = a[r * q + p % q];
    /* Rows 0..q-1 of Bush's array are the constant polynomials: constant
     * rows, which the first array already gave. */
    for (r = q; r < nb; r++, n++)
        for (p = 0; p < k; p++)
            rows[n * k + p] = b[r * k2 + p / q];
    free(a);
    free(b);
    *nrows = n;
    return rows;
}

size_t *oa_bush_doubled(unsigned q, size_t k, size_t *nrows)
{
    size_t half = (k + 1) / 2, na, nb, r, p, n = 0;
    size_t *a, *b, *rows;
    unsigned shift;

    if (q < 3 || k <= (size_t)q + 1 || half > (size_t)q + 1)
        return NULL;
    a = oa_bush(q, 3, half, &na);
    b = oa_bush(q, 2, half, &nb);
    if (a == NULL || b == NULL) {
        free(a);
        free(b);
        return NULL;
    }
    rows = xmalloc((na + (q - 1) * nb) * k * sizeof(size_t));
    for (r = 0; r < na; r++, n++)
        for (p = 0; p < k; p++)
            rows[n * k + p] = a[r * half + p % half];
    for (shift = 1; shift < q; shift++)
        for (r = 0; r < nb; r++, n++)
            for (p = 0; p < k; p++)
                rows[n * k + p] = p < half ? b[r * half + p]
                                           : (b[r * half + p - half] + shift) % q;
    free(a);
    free(b);
    *nrows = n;
    return rows;
}
