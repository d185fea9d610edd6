/* spool.h -- a bounded append-only file of records, for when Redis is away.
 *
 * A spool is one file in the state directory.  Each record is framed by
 * its length and a CRC-32 of its bytes, so a crash in the middle of an
 * append leaves at most one torn record at the end; spool_open() cuts it
 * off (and counts it), and every record before it is read back intact and
 * in the order it was appended.  A spool left by an earlier process is
 * simply opened again.
 *
 * The file never grows past its cap: an append that would pass it first
 * drops the oldest records (down to three quarters of the cap, so drops
 * come in batches, not one per append), counts them, and logs once per
 * episode -- an episode ends when the spool is emptied.
 *
 * Appends are written at once but reach the disk only at spool_sync();
 * callers choose when (the journal after every intent, the store in
 * batches).  A struct spool owns its file descriptor; one process uses a
 * spool file at a time.
 */
#ifndef PW_SPOOL_H
#define PW_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "sbuf.h"

/* Default cap of a spool file, in bytes. */
#define SPOOL_DEFAULT_CAP ((size_t)64 << 20)

/* Largest record accepted, in bytes. */
#define SPOOL_MAX_RECORD ((size_t)16 << 20)

struct spool;

/* Open (creating if needed) spool <name> in directory <dir> (created if
 * missing, mode 0700), holding at most <cap> bytes (0: the default).  A
 * torn last record is removed.  The spool is locked (<name>.lock, flock)
 * until spool_close(): a second opener in any process gets NULL with
 * PW_ERR_BUSY in <err>.  Returns NULL and fills <err> (may be NULL) on
 * failure.  The caller owns the result: spool_close(). */
struct spool *spool_open(const char *dir, const char *name, size_t cap,
                         struct pw_err *err);

/* Close <sp> (without syncing).  NULL is a no-op. */
void spool_close(struct spool *sp);

/* Append one record of <len> bytes.  May drop the oldest records to stay
 * under the cap (see above).  Returns PW_OK, PW_ERR_TOOBIG when the
 * record alone would not fit, or PW_ERR_IO (the file is unchanged). */
pw_status spool_append(struct spool *sp, const void *data, size_t len,
                       struct pw_err *err);

/* Put <n> records <recs> before every record in the spool (a rare path:
 * records that were in flight to Redis when it went away, older than
 * those spooled since).  Rewrites the file and syncs it.  The cap still
 * holds: the oldest records go first. */
pw_status spool_prepend(struct spool *sp, const struct sbuf *recs, size_t n,
                        struct pw_err *err);

/* Make every append so far durable (fdatasync).  Cheap when nothing was
 * appended since the last call. */
pw_status spool_sync(struct spool *sp, struct pw_err *err);

/* Whether appends are waiting for spool_sync(). */
int spool_dirty(const struct spool *sp);

/* Read the record at offset *<pos> (start at 0) into <out> (reset first)
 * and move *<pos> past it.  Returns 1 for a record, 0 at the end.  A
 * position is valid only while spool_generation() stays the same: a drop
 * or prepend rewrites the file, and a reader then starts again at 0. */
int spool_read(struct spool *sp, uint64_t *pos, struct sbuf *out);

/* Changes whenever the file is rewritten or emptied. */
unsigned long spool_generation(const struct spool *sp);

/* Empty the spool (and sync): everything in it has been delivered.  Ends
 * a drop episode. */
pw_status spool_truncate(struct spool *sp, struct pw_err *err);

/* Figures: bytes in the file, records in it, records dropped at the cap
 * since spool_open(), torn records cut off by spool_open(). */
uint64_t spool_bytes(const struct spool *sp);
uint64_t spool_records(const struct spool *sp);
uint64_t spool_dropped(const struct spool *sp);
unsigned spool_torn(const struct spool *sp);

#endif /* PW_SPOOL_H */
