/*
 * replay.c - runs a fuzz harness over corpus files without libFuzzer, so
 * that the corpus is an ordinary test (make test, tests/e2e/t0050) built
 * with the normal compiler.
 *
 *   fuzz_replay_NAME [-q] DIR|FILE ...
 *
 * Every regular file of each DIR (sorted by name, not recursive) and every
 * FILE is given once to LLVMFuzzerTestOneInput. Prints "ok N - PATH" before
 * running an input's successor (so the last line before a crash names the
 * input that crashed: "# running PATH" is printed first) and a "1..N" plan
 * at the end; -q prints only the plan and a summary. A crash or a failed
 * invariant kills the process (abort), which is the failure; an unreadable
 * file or an empty corpus is one too (exit 1).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static int quiet;
static size_t ran;
static unsigned long long bytes;

static void
not_ok(const char *path, const char *why)
{
	ran++;
	printf("not ok %zu - %s: %s\n", ran, path, why);
}

static int
run_file(const char *path)
{
	FILE	*f;
	uint8_t	*data = NULL, *nd;
	size_t	 len = 0, cap = 0, n;

	if ((f = fopen(path, "rb")) == NULL) {
		not_ok(path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 65536;
			if ((nd = realloc(data, cap)) == NULL) {
				fclose(f);
				free(data);
				not_ok(path, "out of memory");
				return -1;
			}
			data = nd;
		}
		if ((n = fread(data + len, 1, cap - len, f)) == 0)
			break;
		len += n;
	}
	if (ferror(f)) {
		fclose(f);
		free(data);
		not_ok(path, "read error");
		return -1;
	}
	fclose(f);
	if (!quiet) {
		printf("# running %s (%zu bytes)\n", path, len);
		fflush(stdout);
	}
	/* An exact-size copy: ASan then sees a read past the end. */
	nd = malloc(len > 0 ? len : 1);
	if (nd == NULL) {
		free(data);
		not_ok(path, "out of memory");
		return -1;
	}
	if (len > 0)
		memcpy(nd, data, len);
	free(data);
	LLVMFuzzerTestOneInput(nd, len);
	free(nd);
	ran++;
	bytes += len;
	if (!quiet)
		printf("ok %zu - %s\n", ran, path);
	return 0;
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int
run_dir(const char *dir)
{
	struct dirent **ents = NULL;
	struct stat st;
	char	*path;
	int	 n, i, ret = 0;

	if ((n = scandir(dir, &ents, NULL, by_name)) == -1) {
		not_ok(dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (ents[i]->d_name[0] == '.' || asprintf(&path, "%s/%s", dir,
		    ents[i]->d_name) == -1)
			continue;
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    run_file(path) == -1)
			ret = -1;
		free(path);
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return ret;
}

int
main(int argc, char *argv[])
{
	struct stat st;
	int	 i, status = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 1; i < argc && strcmp(argv[i], "-q") == 0; i++)
		quiet = 1;
	if (i == argc) {
		fprintf(stderr, "usage: %s [-q] DIR|FILE ...\n", argv[0]);
		return 64;
	}
	for (; i < argc; i++) {
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			if (run_dir(argv[i]) == -1)
				status = 1;
		} else if (run_file(argv[i]) == -1)
			status = 1;
	}
	printf("1..%zu\n", ran);
	printf("# %zu inputs run (%llu bytes)\n", ran, bytes);
	if (ran == 0) {
		printf("# no input found\n");
		status = 1;
	}
	return status;
}
