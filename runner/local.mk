# The core library: every module, linked by the binary and the tests alike.
noinst_LIBRARIES += runner/libprodwatch.a
LIBPRODWATCH_SOURCES = \
	runner/err.c runner/err.h \
	runner/xalloc.c runner/xalloc.h \
	runner/sbuf.c runner/sbuf.h \
	runner/strutil.c runner/strutil.h \
	runner/diag.c runner/diag.h \
	runner/ydoc.c runner/ydoc.h \
	runner/units.c runner/units.h \
	runner/clock.c runner/clock.h \
	runner/log.c runner/log.h \
	runner/notify.c runner/notify.h \
	runner/keys.c runner/keys.h \
	runner/redisaddr.c runner/redisaddr.h \
	runner/template.c runner/template.h \
	runner/jqset.c runner/jqset.h \
	runner/load.c runner/load.h \
	runner/config.c runner/config.h \
	runner/matrix.c runner/matrix.h runner/oa.c runner/oa.h \
	runner/scenario.c runner/scenario.h \
	runner/suite.c runner/suite.h \
	runner/expand.c runner/expand.h \
	runner/schedule.c runner/schedule.h \
	runner/loop.c runner/loop.h \
	runner/http.c runner/http.h \
	runner/jsonscan.c runner/jsonscan.h \
	runner/fastjson.cc runner/fastjson.h \
	runner/expect.c runner/expect.h \
	runner/journal.c runner/journal.h \
	runner/throttle.c runner/throttle.h \
	runner/window.c runner/window.h \
	runner/secret.c runner/secret.h \
	runner/alert.c runner/alert.h \
	runner/alerting.c runner/alerting.h \
	runner/reporters.c runner/reporters.h \
	runner/result.h \
	runner/redis.c runner/redis.h \
	runner/outbox.c runner/outbox.h \
	runner/spool.c runner/spool.h \
	runner/store.c runner/store.h \
	runner/metrics.c runner/metrics.h \
	runner/docs.c runner/docs.h \
	runner/docs_cmd.c runner/docs_cmd.h \
	runner/httpd.c runner/httpd.h \
	runner/statuspage.c runner/statuspage.h \
	runner/journal_redis.c runner/journal_redis.h \
	runner/fleet.c runner/fleet.h \
	runner/run.c runner/run.h \
	runner/engine.c runner/engine.h \
	runner/once.c runner/once.h \
	runner/control.c runner/control.h \
	runner/service.c runner/service.h \
	runner/cli.c runner/cli.h
runner_libprodwatch_a_SOURCES = $(LIBPRODWATCH_SOURCES)
nodist_runner_libprodwatch_a_SOURCES = $(LIBPRODWATCH_BUILT)

# The status page's files, built into the binary as byte arrays: the C
# source is made in the build tree and is no part of the tarball.
LIBPRODWATCH_BUILT = runner/statuspage_files.c
STATUSPAGE_FILES = $(srcdir)/runner/statuspage.html \
	$(srcdir)/runner/statuspage.css $(srcdir)/runner/statuspage.js
runner/statuspage_files.c: $(STATUSPAGE_FILES) $(srcdir)/runner/embed.sh
	$(AM_V_GEN)$(MKDIR_P) runner && \
	$(SHELL) $(srcdir)/runner/embed.sh $@ $(STATUSPAGE_FILES)
CLEANFILES += $(LIBPRODWATCH_BUILT)
EXTRA_DIST += runner/embed.sh runner/statuspage.html \
	runner/statuspage.css runner/statuspage.js

bin_PROGRAMS += runner/prodwatch
runner_prodwatch_SOURCES = runner/main.c
runner_prodwatch_LDADD = runner/libprodwatch.a $(DEPS_LIBS)
