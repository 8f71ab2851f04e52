/*
 * evloop.h: libvirt's default event loop, run by one thread for the whole
 * process. Streams (the action channels of scoring/actions.c, the portal's
 * browser consoles) need it, and libvirt refuses to run it from two threads
 * at once, so every user takes a reference instead of starting its own.
 *
 * cr_evloop_acquire registers the default implementation (before any
 * connection is opened, as libvirt requires) and starts the thread on the
 * first reference; cr_evloop_release stops and joins it on the last.
 * Callbacks run on that thread.
 */
#ifndef CRANGE_EVLOOP_H
#define CRANGE_EVLOOP_H

int cr_evloop_acquire(void);
void cr_evloop_release(void);

#endif
