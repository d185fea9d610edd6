/* spool.c -- framed records in an append-only file, capped. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "spool.h"
#include "xalloc.h"

#define HDR 8 /* u32 length, u32 CRC-32, little endian */

struct spool {
    int fd;
    int lock_fd; /* <path>.lock, flock()ed while open */
    char *path;
    char *dir;
    size_t cap;
    uint64_t bytes;
    uint64_t records;
    uint64_t dropped;
    uint64_t episode_dropped;
    unsigned torn;
    unsigned long generation;
    int dirty;
};

/* CRC-32 (IEEE), four bits at a time: a 16-entry table is small enough to
 * write down and fast enough for spool traffic. */
static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    static const uint32_t tab[16] = {
        0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac,
        0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
        0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
        0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
    };
    uint32_t c = 0xffffffffu;
    size_t i;

    for (i = 0; i < n; i++) {
        c ^= p[i];
        c = (c >> 4) ^ tab[c & 15];
        c = (c >> 4) ^ tab[c & 15];
    }
    return c ^ 0xffffffffu;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static pw_status io_err(struct pw_err *err, const char *what,
                        const char *path)
{
    return pw_err_set(err, PW_ERR_IO, "%s %s: %s", what, path,
                      strerror(errno));
}

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;

    while (n) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_at(int fd, void *buf, size_t n, uint64_t off)
{
    char *p = buf;

    while (n) {
        ssize_t r = pread(fd, p, n, (off_t)off);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

/* Length of the valid record at <off> of a file of <size> bytes, header
 * included; 0 when there is none (end, torn or corrupt).  With <out>, the
 * record's bytes are left there. */
static uint64_t frame_at(int fd, uint64_t off, uint64_t size,
                         struct sbuf *out)
{
    unsigned char hdr[HDR];
    uint32_t len;
    char *buf;
    int ok;

    if (size - off < HDR || read_at(fd, hdr, HDR, off) < 0)
        return 0;
    len = get32(hdr);
    if (len > SPOOL_MAX_RECORD || len > size - off - HDR)
        return 0;
    buf = xmalloc(len ? len : 1);
    ok = read_at(fd, buf, len, off + HDR) == 0 &&
         crc32_of((unsigned char *)buf, len) == get32(hdr + 4);
    if (ok && out) {
        sbuf_reset(out);
        sbuf_add(out, buf, len);
    }
    free(buf);
    return ok ? HDR + (uint64_t)len : 0;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc;

    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

/* Count the valid records and cut off what follows them. */
static pw_status scan(struct spool *sp, struct pw_err *err)
{
    struct stat st;
    uint64_t off = 0, n;

    if (fstat(sp->fd, &st) < 0)
        return io_err(err, "cannot stat", sp->path);
    sp->records = 0;
    while ((n = frame_at(sp->fd, off, (uint64_t)st.st_size, NULL)) != 0) {
        off += n;
        sp->records++;
    }
    if (off < (uint64_t)st.st_size) {
        sp->torn++;
        pwlog(PWLOG_WARN, "spool.torn",
              "%s: cut %llu bytes of a torn record at its end", sp->path,
              (unsigned long long)((uint64_t)st.st_size - off));
        if (ftruncate(sp->fd, (off_t)off) < 0 || fdatasync(sp->fd) < 0)
            return io_err(err, "cannot truncate", sp->path);
    }
    sp->bytes = off;
    return PW_OK;
}

static int open_file(const char *path)
{
    return open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

/* One process a spool: two appending to one file and replaying it would
 * hand each other's records to Redis.  The lock is on a file of its own,
 * since rewriting the spool replaces its file. */
static pw_status take_lock(struct spool *sp, struct pw_err *err)
{
    size_t n = strlen(sp->path) + 6;
    char *lock = xmalloc(n);

    snprintf(lock, n, "%s.lock", sp->path);
    sp->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (sp->lock_fd < 0) {
        io_err(err, "cannot open", lock);
        free(lock);
        return PW_ERR_IO;
    }
    if (flock(sp->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        int busy = errno == EWOULDBLOCK;

        if (busy)
            pw_err_set(err, PW_ERR_BUSY,
                       "%s is in use by another process (a daemon with the "
                       "same state_dir?)",
                       sp->path);
        else
            io_err(err, "cannot lock", lock);
        free(lock);
        return busy ? PW_ERR_BUSY : PW_ERR_IO;
    }
    free(lock);
    return PW_OK;
}

struct spool *spool_open(const char *dir, const char *name, size_t cap,
                         struct pw_err *err)
{
    struct spool *sp;
    size_t n = strlen(dir) + strlen(name) + 2;

    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        io_err(err, "cannot make directory", dir);
        return NULL;
    }
    sp = xcalloc(1, sizeof(*sp));
    sp->path = xmalloc(n);
    snprintf(sp->path, n, "%s/%s", dir, name);
    sp->dir = xstrdup(dir);
    sp->cap = cap ? cap : SPOOL_DEFAULT_CAP;
    sp->fd = -1;
    sp->lock_fd = -1;
    if (take_lock(sp, err) != PW_OK) {
        spool_close(sp);
        return NULL;
    }
    sp->fd = open_file(sp->path);
    if (sp->fd < 0) {
        io_err(err, "cannot open", sp->path);
        spool_close(sp);
        return NULL;
    }
    if (scan(sp, err) != PW_OK || fsync_dir(dir) < 0) {
        if (err && err->code == PW_OK)
            io_err(err, "cannot sync", dir);
        spool_close(sp);
        return NULL;
    }
    return sp;
}

void spool_close(struct spool *sp)
{
    if (!sp)
        return;
    if (sp->fd >= 0)
        close(sp->fd);
    if (sp->lock_fd >= 0)
        close(sp->lock_fd); /* and so the lock goes */
    free(sp->path);
    free(sp->dir);
    free(sp);
}

static void frame(struct sbuf *out, const void *data, size_t len)
{
    unsigned char hdr[HDR];

    put32(hdr, (uint32_t)len);
    put32(hdr + 4, crc32_of(data, len));
    sbuf_add(out, hdr, HDR);
    sbuf_add(out, data, len);
}

/* Write <front> (framed records), then the old file from offset <from>,
 * into a new file that replaces the old one. */
static pw_status rewrite(struct spool *sp, const struct sbuf *front,
                         uint64_t from, struct pw_err *err)
{
    size_t n = strlen(sp->path) + 5;
    char *tmp = xmalloc(n);
    char buf[65536];
    uint64_t off = from;
    int fd;

    snprintf(tmp, n, "%s.tmp", sp->path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        goto fail;
    if (front->len && write_all(fd, front->buf, front->len) < 0)
        goto fail;
    while (off < sp->bytes) {
        size_t chunk = sp->bytes - off < sizeof(buf)
                           ? (size_t)(sp->bytes - off) : sizeof(buf);

        if (read_at(sp->fd, buf, chunk, off) < 0 ||
            write_all(fd, buf, chunk) < 0)
            goto fail;
        off += chunk;
    }
    if (fdatasync(fd) < 0 || close(fd) < 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, sp->path) < 0 || fsync_dir(sp->dir) < 0)
        goto fail;
    close(sp->fd);
    sp->fd = open_file(sp->path);
    free(tmp);
    if (sp->fd < 0)
        return io_err(err, "cannot reopen", sp->path);
    sp->bytes = front->len + (sp->bytes - from);
    sp->generation++;
    sp->dirty = 0;
    return PW_OK;
fail:
    io_err(err, "cannot rewrite", tmp);
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    free(tmp);
    return err ? err->code : PW_ERR_IO;
}

/* Drop the oldest records until <need> more bytes leave the file at or
 * under three quarters of the cap. */
static pw_status make_room(struct spool *sp, uint64_t need,
                           struct pw_err *err)
{
    struct sbuf none = SBUF_INIT;
    uint64_t target = sp->cap - sp->cap / 4;
    uint64_t off = 0, n, gone = 0;
    pw_status st;

    while (sp->bytes - off + need > target &&
           (n = frame_at(sp->fd, off, sp->bytes, NULL)) != 0) {
        off += n;
        gone++;
    }
    st = rewrite(sp, &none, off, err);
    if (st != PW_OK)
        return st;
    sp->records -= gone;
    sp->dropped += gone;
    if (sp->episode_dropped == 0)
        pwlog(PWLOG_WARN, "spool.full",
              "%s reached its cap of %zu bytes: dropping the oldest "
              "records (%llu so far)", sp->path, sp->cap,
              (unsigned long long)gone);
    sp->episode_dropped += gone;
    return PW_OK;
}

pw_status spool_append(struct spool *sp, const void *data, size_t len,
                       struct pw_err *err)
{
    struct sbuf b = SBUF_INIT;
    pw_status st;

    if (len > SPOOL_MAX_RECORD || HDR + (uint64_t)len > sp->cap - sp->cap / 4)
        return pw_err_set(err, PW_ERR_TOOBIG, "a record of %zu bytes "
                          "does not fit in spool %s", len, sp->path);
    if (sp->bytes + HDR + len > sp->cap) {
        st = make_room(sp, HDR + len, err);
        if (st != PW_OK)
            return st;
    }
    frame(&b, data, len);
    if (sbuf_failed(&b) || write_all(sp->fd, b.buf, b.len) < 0) {
        st = io_err(err, "cannot append to", sp->path);
        /* A partial frame would be cut off at the next open anyway, but
         * cutting it now keeps later appends readable. */
        if (ftruncate(sp->fd, (off_t)sp->bytes) < 0)
            pwlog(PWLOG_ERROR, "spool.io", "cannot truncate %s: %s",
                  sp->path, strerror(errno));
        sbuf_release(&b);
        return st;
    }
    sp->bytes += b.len;
    sp->records++;
    sp->dirty = 1;
    sbuf_release(&b);
    return PW_OK;
}

pw_status spool_prepend(struct spool *sp, const struct sbuf *recs, size_t n,
                        struct pw_err *err)
{
    struct sbuf front = SBUF_INIT;
    uint64_t from = 0, fl, need = 0;
    size_t i;
    pw_status st;

    for (i = 0; i < n; i++)
        need += HDR + recs[i].len;
    /* Room is made among the records already spooled, which are newer
     * than <recs>; the oldest of <recs> still go first if that is not
     * enough. */
    while (sp->bytes - from + need > sp->cap &&
           (fl = frame_at(sp->fd, from, sp->bytes, NULL)) != 0) {
        from += fl;
        sp->records--;
        sp->dropped++;
        sp->episode_dropped++;
    }
    for (i = 0; i < n; i++) {
        if (sp->bytes - from + need <= sp->cap) {
            frame(&front, recs[i].buf, recs[i].len);
            sp->records++;
        } else {
            sp->dropped++;
            sp->episode_dropped++;
        }
        need -= HDR + recs[i].len;
    }
    st = sbuf_failed(&front) ? PW_ERR_IO : rewrite(sp, &front, from, err);
    sbuf_release(&front);
    return st;
}

pw_status spool_sync(struct spool *sp, struct pw_err *err)
{
    if (!sp->dirty)
        return PW_OK;
    if (fdatasync(sp->fd) < 0)
        return io_err(err, "cannot sync", sp->path);
    sp->dirty = 0;
    return PW_OK;
}

int spool_dirty(const struct spool *sp)
{
    return sp->dirty;
}

int spool_read(struct spool *sp, uint64_t *pos, struct sbuf *out)
{
    uint64_t n;

    if (*pos >= sp->bytes)
        return 0;
    n = frame_at(sp->fd, *pos, sp->bytes, out);
    if (n == 0)
        return 0;
    *pos += n;
    return 1;
}

unsigned long spool_generation(const struct spool *sp)
{
    return sp->generation;
}

pw_status spool_truncate(struct spool *sp, struct pw_err *err)
{
    if (ftruncate(sp->fd, 0) < 0 || fdatasync(sp->fd) < 0)
        return io_err(err, "cannot truncate", sp->path);
    if (sp->episode_dropped)
        pwlog(PWLOG_NOTICE, "spool.drained",
              "%s delivered; %llu records were dropped at its cap",
              sp->path, (unsigned long long)sp->episode_dropped);
    sp->episode_dropped = 0;
    sp->bytes = 0;
    sp->records = 0;
    sp->dirty = 0;
    sp->generation++;
    return PW_OK;
}

uint64_t spool_bytes(const struct spool *sp)
{
    return sp->bytes;
}

uint64_t spool_records(const struct spool *sp)
{
    return sp->records;
}

uint64_t spool_dropped(const struct spool *sp)
{
    return sp->dropped;
}

unsigned spool_torn(const struct spool *sp)
{
    return sp->torn;
}
