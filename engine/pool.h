/*
 * pool.h - a few worker threads for the reads that overlap: the appliance's
 * tools (a worker waits on its child) and the parsing of what they print
 * (a worker decodes certificates), so that check and a snapshot read the
 * appliance on every core rather than one tool, then one parse, at a time.
 *
 * Why threads, not one poll loop over every child's pipes: the parsing is
 * most of the work (thousands of PEM and DER decodes), and only threads put
 * it on more than one core; a worker that runs a tool reads its pipes with
 * proc_run's own poll loop, so time limits, kills, reaping and the wiping
 * of secrets stay in proc.c, unchanged. A listing is parsed as soon as it
 * has ended, in slices that any idle worker takes, while the other tools
 * still print.
 *
 * Tasks belong to a group; pool_wait waits for one group, including the
 * tasks its tasks add. Results go to places each task owns (an array
 * slot), and the caller assembles them in a fixed order after the wait:
 * what the threads did never shows in the order of anything.
 *
 * The number of workers bounds the tools running at once: the online CPUs
 * plus POOL_EXTRA (those waiting on a child use no CPU). With
 * VCROTATE_SEQUENTIAL set in the environment (for tests only: they compare
 * both modes' output) there are no workers and pool_add runs each task on
 * the spot, in the order of the code, as the reads ran before the pool.
 *
 * The workers take no signal (SIGINT and the like are the main thread's,
 * as for issue.c's key workers), and every descriptor vcrotate opens while
 * they run is close-on-exec, so no tool inherits another's pipe.
 */
#ifndef VCR_POOL_H
#define VCR_POOL_H

#define POOL_EXTRA	2
#define POOL_MAX	64

struct pool;

struct pool_group {
	int	 pending;	/* tasks added and not yet finished */
};

typedef void pool_fn(void *arg);

/* Workers for this machine: 0 (sequential) with VCROTATE_SEQUENTIAL. */
int   pool_size(void);
/* A pool of n workers; NULL when n is 0 or nothing could be started,
 * which every call below takes as "run on the spot". */
struct pool *pool_start(int n);
/* Runs fn(arg) on a worker, or now when p is NULL (or out of memory). */
void  pool_add(struct pool *p, struct pool_group *g, pool_fn *fn, void *arg);
/* The same, first in the queue: for a task that starts a tool, which
 * waits on its child while the others parse. */
void  pool_push(struct pool *p, struct pool_group *g, pool_fn *fn,
    void *arg);
/* Until every task of g, and every task those added to g, has finished;
 * meanwhile the caller runs queued tasks (of any group) itself. */
void  pool_wait(struct pool *p, struct pool_group *g);
/* Waits for every task, then ends the workers. */
void  pool_stop(struct pool *p);

#endif
