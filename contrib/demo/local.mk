# The demo target: a small shop API on libevent's HTTP server.
noinst_PROGRAMS += contrib/demo/prodwatch-demo
contrib_demo_prodwatch_demo_SOURCES = contrib/demo/demo_shop.c
contrib_demo_prodwatch_demo_CFLAGS = $(AM_CFLAGS) $(EVENT_TLS_CFLAGS)
contrib_demo_prodwatch_demo_LDADD = $(EVENT_LIBS) $(EVENT_TLS_LIBS) $(JQ_LIBS)
