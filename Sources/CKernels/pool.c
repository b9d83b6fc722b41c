// A small thread pool whose workers spin between tasks, for the many short parallel loops of a decode step (≈ 120
// per token, 20–100 µs each), where waking a sleeping thread per loop (GCD, futex) costs as much as the work.
// Workers spin after a task (then poll while yielding the core, then sleep on a condition variable); llama.cpp's
// ggml thread pool works the same way. One caller at a time: a call made while the pool is busy (another thread, or
// a task that itself calls ck_parallel_for) returns 0 and the caller runs the loop its own way.
#include "ckernels.h"
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <time.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define CK_PAUSE() _mm_pause()
#else
#define CK_PAUSE() ((void)0)
#endif

#define CK_MAX_WORKERS 63
// A worker spins with `pause` for CK_SPIN_NS after a task (the gaps between a decode step's loops are a few µs),
// then keeps polling but yields the core to other runnable threads (sched_yield) up to CK_YIELD_NS, then sleeps.
// The yielding phase keeps an oversubscribed machine (parallel tests, other processes) from losing a core to a
// spinning thread.
#define CK_SPIN_NS 30000L
#define CK_YIELD_NS 500000L

static struct {
    pthread_mutex_t call;   // held by the caller for the whole loop
    pthread_mutex_t sleep;  // guards the condition variable
    pthread_cond_t wake;
    int workers;            // started so far
    _Atomic long generation;
    _Atomic long next;      // next item index
    _Atomic int active;     // workers still inside the current generation
    _Atomic int sleepers;
    long count;
    int participants;       // workers that take items this generation (the first `threads` − 1)
    ck_task_fn fn;
    void *ctx;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 0, 0, 0, 0, 0};

static long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

static void run_items(void) {
    for (;;) {
        const long i = atomic_fetch_add_explicit(&pool.next, 1, memory_order_relaxed);
        if (i >= pool.count) return;
        pool.fn(pool.ctx, i);
    }
}

struct worker_start { long generation; int id; };

static void *worker(void *arg) {
    const struct worker_start start_info = *(struct worker_start *)arg;
    free(arg);
    long seen = start_info.generation;
    for (;;) {
        long start = 0;
        unsigned spins = 0;
        while (atomic_load_explicit(&pool.generation, memory_order_acquire) == seen) {
            CK_PAUSE();
            if ((++spins & 255) != 0) continue;
            if (start == 0) { start = now_ns(); continue; }
            const long idle = now_ns() - start;
            if (idle > CK_SPIN_NS && idle <= CK_YIELD_NS) sched_yield();
            else if (idle > CK_YIELD_NS) {
                pthread_mutex_lock(&pool.sleep);
                atomic_fetch_add(&pool.sleepers, 1);
                while (atomic_load(&pool.generation) == seen) pthread_cond_wait(&pool.wake, &pool.sleep);
                atomic_fetch_sub(&pool.sleepers, 1);
                pthread_mutex_unlock(&pool.sleep);
            }
        }
        seen = atomic_load_explicit(&pool.generation, memory_order_acquire);
        if (start_info.id < pool.participants) run_items();
        atomic_fetch_sub_explicit(&pool.active, 1, memory_order_release);
    }
    return 0;
}

int ck_parallel_for(long count, int threads, ck_task_fn fn, void *ctx) {
    if (threads <= 1 || count <= 1) {
        for (long i = 0; i < count; i++) fn(ctx, i);
        return 1;
    }
    if (pthread_mutex_trylock(&pool.call) != 0) return 0;
    int want = threads - 1 > CK_MAX_WORKERS ? CK_MAX_WORKERS : threads - 1;
    while (pool.workers < want) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        struct worker_start *info = malloc(sizeof *info);
        if (!info) break;
        info->generation = atomic_load(&pool.generation);
        info->id = pool.workers;
        if (pthread_create(&t, &attr, worker, info) != 0) { free(info); pthread_attr_destroy(&attr); break; }
        pthread_attr_destroy(&attr);
        pool.workers++;
    }
    if (pool.workers == 0) { // no thread could be started
        pthread_mutex_unlock(&pool.call);
        return 0;
    }
    pool.fn = fn;
    pool.ctx = ctx;
    pool.count = count;
    pool.participants = want;
    atomic_store_explicit(&pool.next, 0, memory_order_relaxed);
    atomic_store_explicit(&pool.active, pool.workers, memory_order_relaxed);
    atomic_fetch_add_explicit(&pool.generation, 1, memory_order_release);
    if (atomic_load(&pool.sleepers) > 0) {
        pthread_mutex_lock(&pool.sleep);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.sleep);
    }
    run_items();
    // Wait for the workers; after a short spin, yield so that a worker without a core of its own can finish.
    for (unsigned spins = 0; atomic_load_explicit(&pool.active, memory_order_acquire) > 0; spins++) {
        if (spins < 4096) CK_PAUSE();
        else sched_yield();
    }
    pthread_mutex_unlock(&pool.call);
    return 1;
}
