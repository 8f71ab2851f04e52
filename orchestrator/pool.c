/*
 * pool.c: the worker pool of pool.h, on pthreads. Jobs are handed out by an
 * atomic-free counter under a mutex; the job bodies themselves run unlocked.
 */
#include "pool.h"

#include "err.h"
#include "util.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct pool {
    size_t n;
    size_t next;
    size_t done;
    cr_pool_fn fn;
    void *ctx;
    cr_pool_progress_fn progress;
    void *progress_ctx;
    cr_pool_result *res;
    pthread_mutex_t lock;
} pool;

typedef struct worker_arg {
    pool *p;
    int index;
} worker_arg;

static void *worker_main(void *arg)
{
    worker_arg *wa = arg;
    pool *p = wa->p;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        size_t job = p->next < p->n ? p->next++ : p->n;
        pthread_mutex_unlock(&p->lock);
        if (job >= p->n)
            break;

        cr_error_clear();
        int code = p->fn(job, wa->index, p->ctx);
        char *msg = code < 0 ? cr_xstrdup(cr_error_message()) : NULL;
        cr_error_clear();

        pthread_mutex_lock(&p->lock);
        p->res->codes[job] = code;
        p->res->messages[job] = msg;
        if (code < 0)
            p->res->failed++;
        p->done++;
        if (p->progress)
            p->progress(p->done, p->n, job, code, p->progress_ctx);
        pthread_mutex_unlock(&p->lock);
    }
    return NULL;
}

int cr_pool_run(cr_pool_result *res, size_t n, int workers, cr_pool_fn fn, void *ctx,
                cr_pool_progress_fn progress, void *progress_ctx)
{
    res->n = n;
    res->codes = cr_xcalloc(n, sizeof *res->codes);
    res->messages = cr_xcalloc(n, sizeof *res->messages);
    res->failed = 0;
    if (workers < 1)
        workers = 1;
    if ((size_t)workers > n)
        workers = n ? (int)n : 1;

    pool p = {.n = n, .fn = fn, .ctx = ctx, .progress = progress, .progress_ctx = progress_ctx, .res = res};
    pthread_mutex_init(&p.lock, NULL);
    pthread_t *threads = cr_xcalloc((size_t)workers, sizeof *threads);
    worker_arg *args = cr_xcalloc((size_t)workers, sizeof *args);
    int started = 0;
    for (int i = 0; i < workers; i++) {
        args[i] = (worker_arg){&p, i};
        if (pthread_create(&threads[i], NULL, worker_main, &args[i]) != 0)
            break;
        started++;
    }
    if (started == 0) /* no thread could start: do the work here */
        worker_main(&args[0]);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    pthread_mutex_destroy(&p.lock);
    free(threads);
    free(args);

    for (size_t i = 0; i < n; i++)
        if (res->codes[i] < 0)
            return res->codes[i];
    return 0;
}

void cr_pool_result_free(cr_pool_result *res)
{
    if (!res)
        return;
    for (size_t i = 0; i < res->n; i++)
        free(res->messages[i]);
    free(res->messages);
    free(res->codes);
    res->messages = NULL;
    res->codes = NULL;
    res->n = 0;
}
