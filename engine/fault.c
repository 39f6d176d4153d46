/*
 * fault.c - fault injection at every side effect. See fault.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"

enum fault_mode { MODE_OFF, MODE_FAIL, MODE_CRASH_BEFORE, MODE_CRASH_AFTER };

static struct {
	int		 loaded;
	enum fault_mode	 mode;
	unsigned long	 at;		/* the point to act on, from 1 */
	unsigned long	 n;		/* points passed so far */
	int		 log;		/* VCROTATE_FAULT_LOG, or -1 */
} f = { 0, MODE_OFF, 0, 0, -1 };

static void
load(void)
{
	static const struct {
		const char	*name;
		enum fault_mode	 mode;
	} modes[] = {
		{ "fail:", MODE_FAIL },
		{ "crash-before:", MODE_CRASH_BEFORE },
		{ "crash-after:", MODE_CRASH_AFTER },
	};
	const char *spec = getenv("VCROTATE_FAULT");
	const char *log = getenv("VCROTATE_FAULT_LOG");
	size_t	 i, l;
	char	*end;

	f.loaded = 1;
	if (log != NULL && *log != '\0')
		f.log = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
		    0600);
	if (spec == NULL || *spec == '\0')
		return;
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		l = strlen(modes[i].name);
		if (strncmp(spec, modes[i].name, l) != 0)
			continue;
		errno = 0;
		f.at = strtoul(spec + l, &end, 10);
		if (errno == 0 && *end == '\0' && f.at > 0)
			f.mode = modes[i].mode;
		break;
	}
	/* A test that asks for a fault and gets none would pass for the
	 * wrong reason: a bad specification is fatal. */
	if (f.mode == MODE_OFF) {
		fprintf(stderr, "vcrotate: VCROTATE_FAULT=%s: expected "
		    "fail:N, crash-before:N or crash-after:N\n", spec);
		_exit(70);
	}
}

static void
die(void)
{
	kill(getpid(), SIGKILL);
	_exit(137);		/* not reached */
}

int
fault_point(const char *what, struct buf *err)
{
	if (!f.loaded)
		load();
	f.n++;
	if (f.log != -1)
		dprintf(f.log, "%lu %s\n", f.n, what);
	if (f.n != f.at)
		return 0;
	if (f.mode == MODE_CRASH_BEFORE)
		die();
	if (f.mode == MODE_FAIL) {
		if (err != NULL)
			buf_printf(err, "%s: injected fault at side effect %lu",
			    what, f.n);
		errno = EIO;
		return -1;
	}
	return 0;
}

void
fault_done(void)
{
	if (f.mode == MODE_CRASH_AFTER && f.n == f.at)
		die();
}

void
fault_reset(void)
{
	if (f.log != -1)
		close(f.log);
	memset(&f, 0, sizeof(f));
	f.log = -1;
}
