# Unit tests (Check, one program per module) and command-line tests.
if HAVE_CHECK
UNIT_TESTS = tests/check_sbuf tests/check_units tests/check_template \
	tests/check_ydoc tests/check_config tests/check_scenario \
	tests/check_matrix tests/check_jqset tests/check_expect
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
endif

# End-to-end: the real binary on the shipped examples and on bad files,
# and `once` against the demo target on loopback.
TESTS += tests/cli.test tests/once.test tests/promises.test \
	tests/no_secrets.test
EXTRA_DIST += tests/cli.test tests/once.test tests/promises.test \
	tests/no_secrets.test \
	tests/hostile.py tests/secret_scan.py tests/data tests/fuzz \
	tests/bench
AM_TESTS_ENVIRONMENT = CK_DEFAULT_TIMEOUT=60 \
	TESTDATA=$(abs_top_srcdir)/tests/data \
	TOP_SRCDIR=$(abs_top_srcdir) \
	OUTPUTS=$(abs_top_builddir)/tests/outputs \
	PRODWATCH=$(abs_top_builddir)/runner/prodwatch \
	DEMO=$(abs_top_builddir)/contrib/demo/prodwatch-demo; \
	export CK_DEFAULT_TIMEOUT TESTDATA TOP_SRCDIR OUTPUTS PRODWATCH DEMO;
# The secret search reads what the other end-to-end tests printed.
tests/no_secrets.log: tests/cli.log tests/once.log tests/promises.log
clean-local:
	rm -rf tests/outputs

# libFuzzer harnesses (clang), not part of `make check`:
#   make fuzz && tests/fuzz/run.sh SECONDS
FUZZ_HARNESSES = config scenario template
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined
fuzz: $(LIBPRODWATCH_SOURCES)
	@test -n "$(FUZZ_CC)" || { echo "make fuzz needs clang"; exit 1; }
	$(MKDIR_P) tests/fuzz/bin
	for h in $(FUZZ_HARNESSES); do \
	  $(FUZZ_CC) $(FUZZ_FLAGS) -std=gnu11 -D_GNU_SOURCE \
	    -I$(top_srcdir)/runner $(DEPS_CFLAGS) \
	    $(top_srcdir)/tests/fuzz/fuzz_$$h.c \
	    $(filter %.c,$(addprefix $(top_srcdir)/,$(LIBPRODWATCH_SOURCES))) \
	    $(DEPS_LIBS) -o tests/fuzz/bin/fuzz_$$h || exit 1; \
	done
.PHONY: fuzz
