# Reporter plugins: one shared object per file, loaded by the service.
# Each plugin is added as reporters/NAME.la, built with
# NAME_la_LDFLAGS = $(PLUGIN_LINK_FLAGS).
reporterdir = $(pkglibdir)/reporters
reporter_LTLIBRARIES =
PLUGIN_LINK_FLAGS = -module -avoid-version -shared
