# Reporter plugins: one shared object per file, loaded by the service.
# Each plugin is added as reporters/NAME.la, built with
# NAME_la_LDFLAGS = $(PLUGIN_LINK_FLAGS).
reporterdir = $(pkglibdir)/reporters
reporter_LTLIBRARIES = reporters/pagerduty.la reporters/webhook.la \
	reporters/slack.la reporters/jsonl.la
# A plugin exports its pw_reporter and nothing else, so two plugins'
# helpers never meet in the daemon's symbol table.
PLUGIN_LINK_FLAGS = -module -avoid-version -shared \
	-export-symbols-regex '^pw_reporter$$'
# What every plugin carries: JSON writing and reading, and requests in
# flight with the meaning of their answers.
PLUGIN_COMMON = reporters/json.c reporters/json.h
PLUGIN_HTTP = $(PLUGIN_COMMON) reporters/delivery.c reporters/delivery.h

reporters_pagerduty_la_SOURCES = reporters/pagerduty.c $(PLUGIN_HTTP)
reporters_pagerduty_la_LDFLAGS = $(PLUGIN_LINK_FLAGS)
reporters_pagerduty_la_LIBADD = -lm
reporters_webhook_la_SOURCES = reporters/webhook.c $(PLUGIN_HTTP)
reporters_webhook_la_LDFLAGS = $(PLUGIN_LINK_FLAGS)
reporters_webhook_la_LIBADD = $(CRYPTO_LIBS) -lm
reporters_slack_la_SOURCES = reporters/slack.c $(PLUGIN_HTTP)
reporters_slack_la_LDFLAGS = $(PLUGIN_LINK_FLAGS)
reporters_slack_la_LIBADD = -lm
reporters_jsonl_la_SOURCES = reporters/jsonl.c $(PLUGIN_COMMON)
reporters_jsonl_la_LDFLAGS = $(PLUGIN_LINK_FLAGS)
reporters_jsonl_la_LIBADD = -lm

# The example third-party reporter: built here too (never installed) so
# the tests load it; its own Makefile builds it against the installed
# header.
check_LTLIBRARIES += contrib/reporter-example/example.la
contrib_reporter_example_example_la_SOURCES = \
	contrib/reporter-example/example.c
# -rpath makes libtool build a shared object for a library nobody installs.
contrib_reporter_example_example_la_LDFLAGS = $(PLUGIN_LINK_FLAGS) \
	-rpath $(abs_builddir)
EXTRA_DIST += contrib/reporter-example/Makefile \
	contrib/reporter-example/README
