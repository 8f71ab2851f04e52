/*
 * pool.h: a bounded pool of worker threads running independent jobs.
 *
 * cr_pool_run() runs fn(job, worker, ctx) for job = 0..n-1 on `workers`
 * threads and returns when all are done. Each job's result code and error
 * message (captured from the worker's thread-local error) are kept, so the
 * caller can name every job that failed. Jobs never share a worker index at
 * the same time, which lets callers give each worker its own resources (a
 * libvirt connection, a buffer).
 */
#ifndef CRANGE_POOL_H
#define CRANGE_POOL_H

#include <stddef.h>

typedef int (*cr_pool_fn)(size_t job, int worker, void *ctx);

typedef struct cr_pool_result {
    size_t n;        /* number of jobs */
    int *codes;      /* n entries: 0 or a negative CR_E* code */
    char **messages; /* n entries: NULL or the job's error message */
    size_t failed;   /* how many codes are negative */
} cr_pool_result;

/* Optional: called (under a lock, from a worker) after each job completes. */
typedef void (*cr_pool_progress_fn)(size_t done, size_t total, size_t job, int code, void *ctx);

/*
 * Runs the jobs. workers < 1 means 1. On return *res owns its arrays; free
 * them with cr_pool_result_free. Returns 0 when every job succeeded, else the
 * code of the first failed job (by index).
 */
int cr_pool_run(cr_pool_result *res, size_t n, int workers, cr_pool_fn fn, void *ctx,
                cr_pool_progress_fn progress, void *progress_ctx);

void cr_pool_result_free(cr_pool_result *res);

#endif
