/*
 * fuzz.h - shared by the libFuzzer harnesses of tests/fuzz/ (one per parser
 * of outside input) and by replay.c, which runs a harness over a corpus
 * without libFuzzer (built with the normal compiler, run by make test).
 *
 * A harness must not leak, must not keep state that changes what a later
 * input does, and checks its invariants with FUZZ_CHECK, which aborts (so
 * that libFuzzer records the input) whatever NDEBUG says.
 */
#ifndef VCR_FUZZ_H
#define VCR_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

/*
 * A file that holds exactly the given bytes, for parsers that take a path
 * (config_load, plan_load): an anonymous memory file, rewritten on each
 * call, named by its /proc/self/fd path. Returns that path (static), or
 * NULL when the memory file cannot be made.
 */
static inline const char *
fuzz_memfile(int slot, const void *data, size_t size)
{
	static int fds[4] = { -1, -1, -1, -1 };
	static char paths[4][40];
	const char *p = data;
	ssize_t	 n;

	if (slot < 0 || slot >= 4)
		return NULL;
	if (fds[slot] == -1) {
		if ((fds[slot] = memfd_create("vcrotate-fuzz", MFD_CLOEXEC)) ==
		    -1)
			return NULL;
		snprintf(paths[slot], sizeof(paths[slot]), "/proc/self/fd/%d",
		    fds[slot]);
	}
	if (ftruncate(fds[slot], 0) == -1 || lseek(fds[slot], 0, SEEK_SET) ==
	    -1)
		return NULL;
	while (size > 0) {
		if ((n = write(fds[slot], p, size)) <= 0)
			return NULL;
		p += n;
		size -= (size_t)n;
	}
	return paths[slot];
}

#endif
