/*
 * pool.c - worker threads with a FIFO of tasks. See pool.h.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "pool.h"

struct task {
	pool_fn		*fn;
	void		*arg;
	struct pool_group *g;
	struct task	*next;
};

struct pool {
	pthread_mutex_t	 mu;
	pthread_cond_t	 work;		/* a task was queued, or stop */
	pthread_cond_t	 done;		/* a task finished */
	struct task	*head, *tail;
	int		 stop;
	int		 running;	/* tasks queued or running, all groups */
	int		 n;
	pthread_t	 th[POOL_MAX];
};

int
pool_size(void)
{
	long	 n;

	if (getenv("VCROTATE_SEQUENTIAL") != NULL)
		return 0;
	if ((n = sysconf(_SC_NPROCESSORS_ONLN)) < 1)
		n = 1;
	n += POOL_EXTRA;
	return n > POOL_MAX ? POOL_MAX : (int)n;
}

/* Takes the first queued task and runs it; p->mu held on entry and on
 * return. 0 when none was queued. */
static int
run_one(struct pool *p)
{
	struct task *t;

	if ((t = p->head) == NULL)
		return 0;
	if ((p->head = t->next) == NULL)
		p->tail = NULL;
	pthread_mutex_unlock(&p->mu);
	t->fn(t->arg);
	pthread_mutex_lock(&p->mu);
	t->g->pending--;
	p->running--;
	free(t);
	pthread_cond_broadcast(&p->done);
	return 1;
}

static void *
worker(void *arg)
{
	struct pool *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->head == NULL && !p->stop)
			pthread_cond_wait(&p->work, &p->mu);
		if (!run_one(p))
			break;		/* stopping, and nothing is left */
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct pool *
pool_start(int n)
{
	struct pool *p;
	sigset_t all, old;

	if (n <= 0 || (p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if (n > POOL_MAX)
		n = POOL_MAX;
	if (pthread_mutex_init(&p->mu, NULL) != 0)
		goto fail;
	if (pthread_cond_init(&p->work, NULL) != 0) {
		pthread_mutex_destroy(&p->mu);
		goto fail;
	}
	if (pthread_cond_init(&p->done, NULL) != 0) {
		pthread_cond_destroy(&p->work);
		pthread_mutex_destroy(&p->mu);
		goto fail;
	}
	/* The workers inherit a mask that blocks every signal. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (p->n = 0; p->n < n; p->n++)
		if (pthread_create(&p->th[p->n], NULL, worker, p) != 0)
			break;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (p->n == 0) {
		pool_stop(p);
		return NULL;
	}
	return p;
fail:
	free(p);
	return NULL;
}

static void
enqueue(struct pool *p, struct pool_group *g, pool_fn *fn, void *arg,
    int front)
{
	struct task *t;

	if (p == NULL || (t = malloc(sizeof(*t))) == NULL) {
		fn(arg);
		return;
	}
	t->fn = fn;
	t->arg = arg;
	t->g = g;
	t->next = NULL;
	pthread_mutex_lock(&p->mu);
	g->pending++;
	p->running++;
	if (front) {
		t->next = p->head;
		p->head = t;
		if (p->tail == NULL)
			p->tail = t;
	} else {
		if (p->tail != NULL)
			p->tail->next = t;
		else
			p->head = t;
		p->tail = t;
	}
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
}

void
pool_add(struct pool *p, struct pool_group *g, pool_fn *fn, void *arg)
{
	enqueue(p, g, fn, arg, 0);
}

void
pool_push(struct pool *p, struct pool_group *g, pool_fn *fn, void *arg)
{
	enqueue(p, g, fn, arg, 1);
}

void
pool_wait(struct pool *p, struct pool_group *g)
{
	if (p == NULL)
		return;
	/* The waiting thread lends a hand with whatever is queued. */
	pthread_mutex_lock(&p->mu);
	while (g->pending > 0)
		if (!run_one(p))
			pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

void
pool_stop(struct pool *p)
{
	int	 i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	while (p->running > 0)
		pthread_cond_wait(&p->done, &p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->n; i++)
		pthread_join(p->th[i], NULL);
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
