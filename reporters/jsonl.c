/* jsonl.c -- one JSON line per result and per alert event, in a file.
 *
 *   - jsonl:
 *       path: /var/log/prodwatch/results.jsonl   # required, absolute
 *       results: true
 *       alerts: true
 *
 * The path must be absolute: the host hands settings over as written and
 * a plugin does not learn where the configuration file is, while the
 * daemon's working directory (/ under systemd) would make a relative path
 * mean something else than it seems to.
 *
 * The file is opened at create() and kept open, in append mode, so each
 * line lands at the end in one write(2), whole, even beside another
 * writer.  Rotation: a SIGHUP reload destroys and recreates every
 * reporter, so after logrotate renames the file, `systemctl reload`
 * (logrotate's postrotate) makes the next line start the new file; no
 * copytruncate needed.
 *
 * create() also runs under `prodwatch check`, perhaps as another user, so
 * it creates nothing: a missing file is made at the first line, and
 * create() only checks its directory is writable.
 *
 * A write error is never fatal: it is logged (the 1st, 2nd, 4th, 8th...
 * in a row, so a full disk is a few lines, not one per run), the file is
 * reopened at the next line, and an alert line that failed is retried by
 * the host's queue.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "prodwatch/reporter.h"

#define JSONL_MODE 0640

struct jsonl {
    struct pw_host *h;
    const struct pw_host_api *api;
    const char *path;
    int fd; /* -1: opened at the next line */
    int results;
    int alerts;
    unsigned long errors; /* failed writes in a row */
    struct jw line;       /* kept between lines to save allocations */
};

static void *jsonl_create(struct pw_host *h, const struct pw_host_api *api)
{
    static const char *const known[] = { "path", "results", "alerts", NULL };
    const struct pw_conf *root = api->conf_root(h);
    const char *path = NULL;
    int results = 1, alerts = 1, bad = 0, fd = -1;
    struct jsonl *j;

    api->conf_known(h, root, known);
    if (api->conf_string(h, root, "path", 1, &path) != 1)
        bad = 1;
    else if (path[0] != '/') {
        api->conf_error(h, api->conf_get(h, root, "path"),
                        "path must be absolute, not \"%s\"", path);
        bad = 1;
    }
    if (api->conf_bool(h, root, "results", 0, &results) < 0 ||
        api->conf_bool(h, root, "alerts", 0, &alerts) < 0)
        bad = 1;
    if (!bad) {
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
            char *dir = strdup(path);
            char *slash = dir ? strrchr(dir, '/') : NULL;

            /* The directory of "/x" is "/", of "/a/x" "/a". */
            if (slash == dir)
                slash[1] = '\0';
            else if (slash)
                *slash = '\0';
            if (dir == NULL || access(dir, W_OK) != 0) {
                api->conf_error(h, api->conf_get(h, root, "path"),
                                "cannot create \"%s\": %s", path,
                                strerror(dir ? errno : ENOMEM));
                bad = 1;
            }
            free(dir);
        } else if (fd < 0) {
            api->conf_error(h, api->conf_get(h, root, "path"),
                            "cannot append to \"%s\": %s", path,
                            strerror(errno));
            bad = 1;
        }
    }
    if (bad)
        return NULL;
    j = calloc(1, sizeof(*j));
    if (j == NULL) {
        if (fd >= 0)
            close(fd);
        api->log(h, PW_LOG_ERROR, "out of memory");
        return NULL;
    }
    j->h = h;
    j->api = api;
    j->path = path;
    j->fd = fd;
    j->results = results;
    j->alerts = alerts;
    jw_init(&j->line);
    return j;
}

static void jsonl_destroy(void *self)
{
    struct jsonl *j = self;

    if (j->fd >= 0)
        close(j->fd);
    jw_release(&j->line);
    free(j);
}

static int write_all(int fd, const char *p, size_t n)
{
    ssize_t w;

    while (n > 0) {
        w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Append j->line and a newline; 0, or -1 after logging why. */
static int emit(struct jsonl *j)
{
    int err;

    jw_raw(&j->line, "\n", 1);
    if (jw_failed(&j->line)) {
        err = ENOMEM;
    } else {
        if (j->fd < 0)
            j->fd = open(j->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
                         JSONL_MODE);
        if (j->fd >= 0 && write_all(j->fd, j->line.buf, j->line.len) == 0) {
            if (j->errors)
                j->api->log(j->h, PW_LOG_NOTICE,
                            "writing works again after %lu failures",
                            j->errors);
            j->errors = 0;
            return 0;
        }
        err = errno;
        /* Reopened at the next line: the file may be gone, or the disk
         * full for now. */
        if (j->fd >= 0)
            close(j->fd);
        j->fd = -1;
    }
    j->errors++;
    if ((j->errors & (j->errors - 1)) == 0)
        j->api->log(j->h, PW_LOG_ERROR, "cannot write %s (%lu in a row): %s",
                    j->path, j->errors, strerror(err));
    return -1;
}

static void jsonl_on_result(void *self, const struct pw_result *r)
{
    struct jsonl *j = self;

    if (!j->results)
        return;
    jw_reset(&j->line);
    jw_result(&j->line, r);
    emit(j);
}

static void jsonl_on_alert(void *self, const struct pw_alert *a, void *token)
{
    struct jsonl *j = self;

    if (!j->alerts) {
        j->api->delivered(j->h, token, PW_DELIVERED, 0, NULL);
        return;
    }
    jw_reset(&j->line);
    jw_alert(&j->line, a);
    if (emit(j) < 0) {
        j->api->delivered(j->h, token, PW_RETRY, 0, "write failed");
        return;
    }
    j->api->delivered(j->h, token, PW_DELIVERED, 0, NULL);
}

const struct pw_reporter pw_reporter = { PW_REPORTER_ABI, "jsonl",
                                         jsonl_create,    jsonl_on_result,
                                         jsonl_on_alert,  NULL,
                                         jsonl_destroy };
