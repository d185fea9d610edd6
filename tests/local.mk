# Unit tests (Check, one program per module) and command-line tests.
if HAVE_CHECK
UNIT_TESTS = tests/check_sbuf tests/check_units tests/check_template \
	tests/check_ydoc tests/check_config tests/check_scenario \
	tests/check_matrix tests/check_jqset tests/check_expect \
	tests/check_jsonscan tests/check_throttle tests/check_secret \
	tests/check_engine tests/check_spool tests/check_store \
	tests/check_journal_redis tests/check_schedule tests/check_notify \
	tests/check_alert tests/check_outbox tests/check_reporters \
	tests/check_reporters_host tests/check_metrics tests/check_docs \
	tests/check_fastjson
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)
TESTUTIL = tests/testutil.c tests/testutil.h
TEST_LDADD = runner/libprodwatch.a $(DEPS_LIBS) $(CHECK_LIBS)
TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_check_sbuf_SOURCES = tests/check_sbuf.c $(TESTUTIL)
tests_check_sbuf_CFLAGS = $(TEST_CFLAGS)
tests_check_sbuf_LDADD = $(TEST_LDADD)
tests_check_units_SOURCES = tests/check_units.c $(TESTUTIL)
tests_check_units_CFLAGS = $(TEST_CFLAGS)
tests_check_units_LDADD = $(TEST_LDADD)
tests_check_template_SOURCES = tests/check_template.c $(TESTUTIL)
tests_check_template_CFLAGS = $(TEST_CFLAGS)
tests_check_template_LDADD = $(TEST_LDADD)
tests_check_ydoc_SOURCES = tests/check_ydoc.c $(TESTUTIL)
tests_check_ydoc_CFLAGS = $(TEST_CFLAGS)
tests_check_ydoc_LDADD = $(TEST_LDADD)
tests_check_config_SOURCES = tests/check_config.c $(TESTUTIL)
tests_check_config_CFLAGS = $(TEST_CFLAGS)
tests_check_config_LDADD = $(TEST_LDADD)
tests_check_scenario_SOURCES = tests/check_scenario.c $(TESTUTIL)
tests_check_scenario_CFLAGS = $(TEST_CFLAGS)
tests_check_scenario_LDADD = $(TEST_LDADD)
tests_check_matrix_SOURCES = tests/check_matrix.c $(TESTUTIL)
tests_check_matrix_CFLAGS = $(TEST_CFLAGS)
tests_check_matrix_LDADD = $(TEST_LDADD)
tests_check_jqset_SOURCES = tests/check_jqset.c $(TESTUTIL)
tests_check_jqset_CFLAGS = $(TEST_CFLAGS)
tests_check_jqset_LDADD = $(TEST_LDADD)
tests_check_expect_SOURCES = tests/check_expect.c $(TESTUTIL)
tests_check_expect_CFLAGS = $(TEST_CFLAGS)
tests_check_expect_LDADD = $(TEST_LDADD)
tests_check_fastjson_SOURCES = tests/check_fastjson.c tests/fastjson_diff.h \
	$(TESTUTIL)
tests_check_fastjson_CFLAGS = $(TEST_CFLAGS)
tests_check_fastjson_LDADD = $(TEST_LDADD)
tests_check_jsonscan_SOURCES = tests/check_jsonscan.c $(TESTUTIL)
tests_check_jsonscan_CFLAGS = $(TEST_CFLAGS)
tests_check_jsonscan_LDADD = $(TEST_LDADD)
tests_check_throttle_SOURCES = tests/check_throttle.c $(TESTUTIL)
tests_check_throttle_CFLAGS = $(TEST_CFLAGS)
tests_check_throttle_LDADD = $(TEST_LDADD)
tests_check_secret_SOURCES = tests/check_secret.c $(TESTUTIL)
tests_check_secret_CFLAGS = $(TEST_CFLAGS)
tests_check_secret_LDADD = $(TEST_LDADD)
tests_check_engine_SOURCES = tests/check_engine.c $(TESTUTIL)
tests_check_engine_CFLAGS = $(TEST_CFLAGS)
tests_check_engine_LDADD = $(TEST_LDADD)
tests_check_spool_SOURCES = tests/check_spool.c $(TESTUTIL)
tests_check_spool_CFLAGS = $(TEST_CFLAGS)
tests_check_spool_LDADD = $(TEST_LDADD)
tests_check_docs_SOURCES = tests/check_docs.c $(TESTUTIL)
tests_check_docs_CFLAGS = $(TEST_CFLAGS)
tests_check_docs_LDADD = $(TEST_LDADD)
tests_check_store_SOURCES = tests/check_store.c $(TESTUTIL)
tests_check_store_CFLAGS = $(TEST_CFLAGS)
tests_check_store_LDADD = $(TEST_LDADD)
tests_check_journal_redis_SOURCES = tests/check_journal_redis.c $(TESTUTIL)
tests_check_journal_redis_CFLAGS = $(TEST_CFLAGS)
tests_check_journal_redis_LDADD = $(TEST_LDADD)
tests_check_schedule_SOURCES = tests/check_schedule.c $(TESTUTIL)
tests_check_schedule_CFLAGS = $(TEST_CFLAGS)
tests_check_schedule_LDADD = $(TEST_LDADD)
tests_check_notify_SOURCES = tests/check_notify.c $(TESTUTIL)
tests_check_notify_CFLAGS = $(TEST_CFLAGS)
tests_check_notify_LDADD = $(TEST_LDADD)
tests_check_alert_SOURCES = tests/check_alert.c $(TESTUTIL)
tests_check_alert_CFLAGS = $(TEST_CFLAGS)
tests_check_alert_LDADD = $(TEST_LDADD)
tests_check_metrics_SOURCES = tests/check_metrics.c $(TESTUTIL)
tests_check_metrics_CFLAGS = $(TEST_CFLAGS)
tests_check_metrics_LDADD = $(TEST_LDADD)
tests_check_outbox_SOURCES = tests/check_outbox.c $(TESTUTIL)
tests_check_outbox_CFLAGS = $(TEST_CFLAGS)
tests_check_outbox_LDADD = $(TEST_LDADD)
# The plugins as built (PRODWATCH_REPORTER_DIR), and the JSON writer they
# carry, which the test also calls directly.
tests_check_reporters_SOURCES = tests/check_reporters.c reporters/json.c \
	reporters/json.h $(TESTUTIL)
tests_check_reporters_CFLAGS = $(TEST_CFLAGS)
tests_check_reporters_LDADD = $(TEST_LDADD) -ldl
tests_check_reporters_host_SOURCES = tests/check_reporters_host.c \
	tests/plugins/probe.h $(TESTUTIL)
tests_check_reporters_host_CFLAGS = $(TEST_CFLAGS)
tests_check_reporters_host_LDADD = $(TEST_LDADD)
# Plugins of the host's tests: one good, the others wrong in one way each.
# Modules for `make check` only: -rpath makes libtool build them shared.
check_LTLIBRARIES += tests/plugins/good.la tests/plugins/badabi.la \
	tests/plugins/nosym.la tests/plugins/confail.la
TEST_PLUGIN_FLAGS = -module -avoid-version -shared -rpath /nowhere
tests_plugins_good_la_SOURCES = tests/plugins/good.c tests/plugins/probe.h
tests_plugins_good_la_LDFLAGS = $(TEST_PLUGIN_FLAGS)
tests_plugins_badabi_la_SOURCES = tests/plugins/badabi.c
tests_plugins_badabi_la_LDFLAGS = $(TEST_PLUGIN_FLAGS)
tests_plugins_nosym_la_SOURCES = tests/plugins/nosym.c
tests_plugins_nosym_la_LDFLAGS = $(TEST_PLUGIN_FLAGS)
tests_plugins_confail_la_SOURCES = tests/plugins/confail.c
tests_plugins_confail_la_LDFLAGS = $(TEST_PLUGIN_FLAGS)
endif

# The loopback stand-in for PagerDuty and webhooks (PDSTUB in the tests).
check_PROGRAMS += tests/stub/pdstub
tests_stub_pdstub_SOURCES = tests/stub/pdstub.c reporters/json.c \
	reporters/json.h
tests_stub_pdstub_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/reporters
tests_stub_pdstub_CFLAGS = $(AM_CFLAGS)
tests_stub_pdstub_LDADD = $(EVENT_LIBS) $(JQ_LIBS) -lm

# End-to-end: the real binary on the shipped examples and on bad files,
# `once` against the demo target on loopback, and the service with a
# private redis-server.
TESTS += tests/cli.test tests/once.test tests/caps.test tests/promises.test \
	tests/service.test tests/alert.test tests/no_secrets.test \
	tests/systemd.test tests/install.test tests/metrics.test tests/docs.test \
	tests/grafana.test tests/statuspage.test tests/fleet.test
# tests/sentinel.test (a Sentinel failover under two runners) is run by
# hand, `make check TESTS=tests/sentinel.test`: it is not yet reliable
# (see README, "Redis Sentinel").
# Files the tests read, one by one, so that the tarball carries sources
# only and never what a build left next to them (see distcheck-hook in
# Makefile.am for the check that none is forgotten).
TEST_INPUTS = \
	tests/data/docs/echo.yaml \
	tests/data/docs/fine.yaml \
	tests/data/docs/journey.yaml \
	tests/browser.py \
	tests/hostile.py \
	tests/secret_scan.py \
	tests/data/bad/many.scenario.yaml \
	tests/data/bad/prodwatch.yaml \
	tests/data/bad/syntax.scenario.yaml \
	tests/data/caps/body.yaml \
	tests/data/caps/body_step.yaml \
	tests/data/caps/cleanup.yaml \
	tests/data/caps/headers.yaml \
	tests/data/caps/sites.txt \
	tests/data/caps/sites.yaml \
	tests/data/once/bodycap_fail.yaml \
	tests/data/once/cleanup_unrenderable.yaml \
	tests/data/once/client_features.yaml \
	tests/data/once/drop_error.yaml \
	tests/data/once/duration_fail.yaml \
	tests/data/once/header_fail.yaml \
	tests/data/once/jq_fail.yaml \
	tests/data/once/jq_runaway.yaml \
	tests/data/once/jq_runaway_neighbour.yaml \
	tests/data/once/midrun.yaml \
	tests/data/once/nothing_left.yaml \
	tests/data/once/pass.yaml \
	tests/data/once/rate.yaml \
	tests/data/once/redirect_off.yaml \
	tests/data/once/regex_fail.yaml \
	tests/data/once/request_shapes.yaml \
	tests/data/once/retry_exhausted.yaml \
	tests/data/once/retry_pass.yaml \
	tests/data/once/secret.yaml \
	tests/data/once/secret_fail.yaml \
	tests/data/once/slow.yaml \
	tests/data/once/status_fail.yaml \
	tests/data/once/timeout_error.yaml \
	tests/data/once/tls_fail.yaml \
	tests/data/once/tls_insecure.yaml \
	tests/data/once/trickle_error.yaml \
	tests/data/once/wrongbody_fail.yaml \
	tests/data/pairwise/p13x3.scenario.yaml \
	tests/data/pairwise/p13x3-greedy.scenario.yaml \
	tests/data/pairwise/p3x3.scenario.yaml \
	tests/data/pairwise/p4x3.scenario.yaml \
	tests/data/pairwise/prodwatch.yaml \
	tests/data/planted_secret \
	tests/data/promises/big_url.yaml \
	tests/data/promises/cleanup_moved.yaml \
	tests/data/promises/cut.yaml \
	tests/data/promises/jq_busy.yaml \
	tests/data/promises/jq_neighbour.yaml \
	tests/data/promises/jq_runaways.yaml \
	tests/data/promises/leak_check_fail.yaml \
	tests/data/promises/leak_loud.yaml \
	tests/data/promises/leak_retry.yaml \
	tests/data/promises/many_records.yaml \
	tests/data/promises/rate_window.yaml \
	tests/data/promises/redirect_allowed.yaml \
	tests/data/promises/redirect_away.yaml \
	tests/data/promises/redirect_body.yaml \
	tests/data/promises/redirect_chain.yaml \
	tests/data/promises/redirect_down.yaml \
	tests/data/promises/redirect_port.yaml \
	tests/data/promises/redirect_post.yaml \
	tests/data/promises/secret_basic.yaml \
	tests/data/promises/secret_jq.yaml \
	tests/data/promises/secret_name.yaml \
	tests/data/promises/secret_url.yaml \
	tests/data/promises/secret_var.yaml \
	tests/data/promises/secrets.yaml \
	tests/data/promises/see_other.yaml \
	tests/data/promises/stream_big.yaml \
	tests/data/promises/stream_small.yaml \
	tests/data/promises/timeout_after_jq.yaml \
	tests/data/promises/timeout_record.yaml \
	tests/data/promises/timeout_wait.yaml \
	tests/data/promises/tls_twice.yaml \
	tests/data/promises/weird.yaml \
	tests/data/promises/window5.yaml \
	tests/data/service/maker.yaml \
	tests/data/service/ping.yaml
EXTRA_DIST += tests/cli.test tests/once.test tests/caps.test tests/promises.test \
	tests/service.test tests/alert.test tests/no_secrets.test \
	tests/systemd.test tests/install.test tests/metrics.test tests/docs.test \
	tests/grafana.test tests/statuspage.test tests/fleet.test \
	tests/sentinel.test \
	$(TEST_INPUTS)
AM_TESTS_ENVIRONMENT = CK_DEFAULT_TIMEOUT=60 \
	TESTDATA=$(abs_top_srcdir)/tests/data \
	TOP_SRCDIR=$(abs_top_srcdir) \
	OUTPUTS=$(abs_top_builddir)/tests/outputs \
	PRODWATCH=$(abs_top_builddir)/runner/prodwatch \
	DEMO=$(abs_top_builddir)/contrib/demo/prodwatch-demo \
	UNIT=$(abs_top_builddir)/contrib/systemd/prodwatch.service \
	TOP_BUILDDIR=$(abs_top_builddir) MAKE='$(MAKE)' \
	TEST_PLUGINS=$(abs_top_builddir)/tests/plugins/.libs \
	PRODWATCH_REPORTER_DIR=$(abs_top_builddir)/reporters/.libs \
	PDSTUB=$(abs_top_builddir)/tests/stub/pdstub \
	BINDIR='$(bindir)' MANDIR='$(mandir)' DOCDIR='$(docdir)' \
	SYSCONFDIR='$(sysconfdir)' UNITDIR='$(systemdsystemunitdir)' \
	INCLUDEDIR='$(includedir)' PKGLIBDIR='$(pkglibdir)'; \
	export CK_DEFAULT_TIMEOUT TESTDATA TOP_SRCDIR OUTPUTS PRODWATCH DEMO \
	UNIT TOP_BUILDDIR TEST_PLUGINS PRODWATCH_REPORTER_DIR PDSTUB MAKE \
	BINDIR MANDIR DOCDIR SYSCONFDIR UNITDIR INCLUDEDIR PKGLIBDIR;
# The secret search reads what the other end-to-end tests printed.
tests/no_secrets.log: tests/cli.log tests/once.log tests/promises.log \
	tests/service.log tests/alert.log tests/metrics.log tests/docs.log \
	tests/statuspage.log
clean-local:
	rm -rf tests/outputs

# libFuzzer harnesses (clang), not part of `make check`:
#   make fuzz && tests/fuzz/run.sh SECONDS
FUZZ_HARNESSES = config scenario template response fastjson
FUZZ_DIST = \
	tests/fuzz/fuzz_config.c \
	tests/fuzz/fuzz_fastjson.c \
	tests/fuzz/fuzz_response.c \
	tests/fuzz/fuzz_scenario.c \
	tests/fuzz/fuzz_template.c \
	tests/fuzz/fuzz_util.h \
	tests/fuzz/lsan.supp \
	tests/fuzz/run.sh \
	tests/fuzz/seeds/config/example.yaml \
	tests/fuzz/seeds/fastjson/array.json \
	tests/fuzz/seeds/fastjson/dup-keys.json \
	tests/fuzz/seeds/fastjson/items.json \
	tests/fuzz/seeds/response/deep-array.txt \
	tests/fuzz/seeds/response/deep-mixed-unclosed.txt \
	tests/fuzz/seeds/response/deep-object.txt \
	tests/fuzz/seeds/response/headers-many.txt \
	tests/fuzz/seeds/response/html.txt \
	tests/fuzz/seeds/response/huge-numbers.txt \
	tests/fuzz/seeds/response/invalid-utf8.txt \
	tests/fuzz/seeds/response/json-body-only.txt \
	tests/fuzz/seeds/response/json-fail-all.txt \
	tests/fuzz/seeds/response/json-missing-colon.txt \
	tests/fuzz/seeds/response/json-multi.txt \
	tests/fuzz/seeds/response/json-pass.txt \
	tests/fuzz/seeds/response/not-json.txt \
	tests/fuzz/seeds/response/status-weird.txt \
	tests/fuzz/seeds/scenario/checkout.yaml \
	tests/fuzz/seeds/scenario/covering.yaml \
	tests/fuzz/seeds/scenario/health.yaml \
	tests/fuzz/seeds/scenario/regress-alias-into-dropped.yaml \
	tests/fuzz/seeds/scenario/signup.yaml \
	tests/fuzz/seeds/template/filters.txt \
	tests/fuzz/seeds/template/funcs.txt \
	tests/fuzz/seeds/template/url.txt \
	tests/fuzz/seeds/template/vars.txt
EXTRA_DIST += $(FUZZ_DIST)
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined
fuzz: $(LIBPRODWATCH_SOURCES) $(LIBPRODWATCH_BUILT)
	@test -n "$(FUZZ_CC)" || { echo "make fuzz needs clang"; exit 1; }
	@test -n "$(FUZZ_CXX)" || { echo "make fuzz needs clang++"; exit 1; }
	$(MKDIR_P) tests/fuzz/bin
	$(FUZZ_CXX) $(FUZZ_FLAGS) -std=gnu++17 -D_GNU_SOURCE \
	  -I$(top_srcdir)/runner $(DEPS_CFLAGS) \
	  -c $(top_srcdir)/runner/fastjson.cc -o tests/fuzz/bin/fastjson.o
	for h in $(FUZZ_HARNESSES); do \
	  $(FUZZ_CC) $(FUZZ_FLAGS) -std=gnu11 -D_GNU_SOURCE \
	    -I$(top_srcdir)/runner -I$(top_srcdir)/tests $(DEPS_CFLAGS) \
	    -c $(top_srcdir)/tests/fuzz/fuzz_$$h.c \
	    -o tests/fuzz/bin/fuzz_$$h.o || exit 1; \
	  $(FUZZ_CC) $(FUZZ_FLAGS) -std=gnu11 -D_GNU_SOURCE \
	    -I$(top_srcdir)/runner -I$(top_srcdir)/include $(DEPS_CFLAGS) \
	    $(filter %.c,$(addprefix $(top_srcdir)/,$(LIBPRODWATCH_SOURCES))) \
	    $(LIBPRODWATCH_BUILT) tests/fuzz/bin/fuzz_$$h.o \
	    tests/fuzz/bin/fastjson.o -fsanitize-link-c++-runtime \
	    $(DEPS_LIBS) -o tests/fuzz/bin/fuzz_$$h || exit 1; \
	done
.PHONY: fuzz

# Benchmark scripts behind the README figures.
BENCH_DIST = \
	tests/bench/coverage.sh \
	tests/bench/fleet.sh \
	tests/bench/covering_arrays.py \
	tests/bench/json_checks.sh \
	tests/bench/load_suite.sh \
	tests/bench/many_values.sh \
	tests/bench/matrix_sizes.sh \
	tests/bench/once_checks.sh \
	tests/bench/schedule_mem.c \
	tests/bench/schedule_mem.sh \
	tests/bench/servers.sh \
	tests/bench/service.sh \
	tests/bench/status.sh \
	tests/bench/statuspage_render.py
EXTRA_DIST += $(BENCH_DIST)
# Benchmark programs: built by `make bench` only.
EXTRA_PROGRAMS = tests/bench/schedule_mem
tests_bench_schedule_mem_SOURCES = tests/bench/schedule_mem.c
tests_bench_schedule_mem_LDADD = runner/libprodwatch.a $(DEPS_LIBS)
CLEANFILES += $(EXTRA_PROGRAMS)
bench: $(EXTRA_PROGRAMS)
.PHONY: bench
