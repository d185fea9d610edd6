/* oa.h -- orthogonal arrays over finite fields (Bush's construction).
 *
 * For a prime power q and a strength t <= q, the polynomials of degree
 * below t over GF(q), evaluated at the q elements of the field and read
 * by their leading coefficient (the point at infinity), give q^t rows of
 * q + 1 columns in which every t columns hold every t-tuple of symbols
 * exactly once: a covering array of strength t of the least possible
 * size for up to q + 1 parameters of q values each.  Parameters with
 * fewer values take the array of the next prime power, their extra
 * symbols folded onto their own values; every tuple stays covered.
 */
#ifndef PW_OA_H
#define PW_OA_H

#include <stddef.h>

/* Largest field built: q^2 rows already pass what greedy search makes
 * for matrices this wide. */
#define OA_MAX_Q 256

/* The least prime power q >= <v> (and >= 2), or 0 past OA_MAX_Q. */
unsigned oa_field_order(size_t v);

/* The q^t rows of Bush's array, <k> columns each (the first k of the
 * q + 1), symbols 0..q-1, row-major; the caller frees them.  NULL when q
 * is not a prime power up to OA_MAX_Q, t < 1, t > q or k > q + 1. */
size_t *oa_bush(unsigned q, unsigned t, size_t k, size_t *nrows);

/* A covering array of strength 2 for q < <k> <= q^2 columns of q symbols
 * in 2q^2 - q rows: the product of two of Bush's arrays on their q
 * evaluation columns.  Column p takes column p mod q of the first array
 * in its q^2 rows, then column p div q of the second in the second's
 * non-constant rows: two columns apart in the first are covered there,
 * two that share it by the second, and the constant rows both would give
 * are given once.  Row-major; the caller frees them.  NULL when q is not
 * a prime power up to OA_MAX_Q or <k> is out of range. */
size_t *oa_bush_squared(unsigned q, size_t k, size_t *nrows);

/* A covering array of strength 3 for q + 1 < <k> <= 2(q + 1) columns of
 * q symbols in q^3 + (q - 1)q^2 rows (Chateauneuf and Kreher, 2002): the
 * k/2 columns of Bush's strength-3 array side by side with themselves,
 * then, for each shift s of 1..q-1, Bush's strength-2 array beside itself
 * with s added to every symbol.  Three columns in one half are covered by
 * the first part, as are two of one half and a third that is not a copy
 * of either; a column, its copy and a third take (x, y, x + s) from the
 * shifted pairs.  Row-major; the caller frees them.  NULL when q is not a
 * prime power from 3 to OA_MAX_Q or <k> is out of range. */
size_t *oa_bush_doubled(unsigned q, size_t k, size_t *nrows);

/* A covering array of strength 2 for <k> two-valued columns in the
 * fewest rows there can be (Kleitman and Spencer, 1973; Katona, 1973):
 * the least N with C(N-1, ceil(N/2)) >= k, so 10 rows for up to 126
 * columns.  Row 0 is all zeros; column j is the j-th ceil(N/2)-subset of
 * rows 1..N-1 in lexicographic order, 1 in the rows it holds.  Any two
 * such subsets differ both ways and meet, so every pair of columns holds
 * 00, 01, 10 and 11.  Row-major, symbols 0 and 1, <*nrows> rows; the
 * caller frees them.  NULL when k < 2. */
size_t *oa_binary(size_t k, size_t *nrows);

#endif /* PW_OA_H */
