/*
 * evloop.c: the shared libvirt event-loop thread of evloop.h.
 */
#include "evloop.h"

#include "err.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int refs;
static pthread_t thread;
static atomic_bool stop;
static int wake_timer = -1;

/* The loop sleeps in poll(); this timer bounds how long a release waits. */
static void on_wake(int timer, void *opaque)
{
    (void)timer;
    (void)opaque;
}

static void *loop_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop))
        if (virEventRunDefaultImpl() < 0)
            break;
    return NULL;
}

int cr_evloop_acquire(void)
{
    int rc = 0;
    pthread_mutex_lock(&lock);
    if (refs == 0) {
        if (virEventRegisterDefaultImpl() < 0) {
            rc = cr_error_set(CR_ERROR, "cannot register libvirt's event loop: %s", virGetLastErrorMessage());
            goto done;
        }
        atomic_store(&stop, false);
        wake_timer = virEventAddTimeout(500, on_wake, NULL, NULL);
        if (pthread_create(&thread, NULL, loop_main, NULL) != 0) {
            virEventRemoveTimeout(wake_timer);
            rc = cr_error_set(CR_ERROR, "cannot start libvirt's event-loop thread");
            goto done;
        }
    }
    refs++;
done:
    pthread_mutex_unlock(&lock);
    return rc;
}

void cr_evloop_release(void)
{
    pthread_mutex_lock(&lock);
    if (refs > 0 && --refs == 0) {
        atomic_store(&stop, true);
        pthread_join(thread, NULL);
        virEventRemoveTimeout(wake_timer);
        wake_timer = -1;
    }
    pthread_mutex_unlock(&lock);
}
