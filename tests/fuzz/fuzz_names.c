/*
 * fuzz_names.c - the escaping of store names, aliases and DNs into git
 * tree-entry names (backup/names.c), both ways.
 *
 * For any bytes: the escaped form is one valid tree-entry name (not empty,
 * no '/', no NUL, not ".", "..", ".git", no leading '.', no '@', only
 * [A-Za-z0-9_.%-], so none of the NTFS and HFS+ look-alikes of ".git"
 * either; and libgit2's own tree builder takes it), and unescaping it gives
 * the bytes back. For the input as a name read from a tree: unescaping never
 * crashes, and a name it accepts is exactly what escaping its result gives
 * (one form per raw string).
 */
#include <string.h>

#include <git2.h>
#include <git2/sys/mempack.h>
#include <git2/sys/repository.h>

#include "fuzz.h"
#include "names.h"

static git_repository *repo;
static git_oid blob;

/* An in-memory repository and one blob, made once. */
static int
setup(void)
{
	git_odb	*odb = NULL;
	git_odb_backend *mem = NULL;

	if (repo != NULL)
		return 0;
	git_libgit2_init();
	if (git_odb_new(&odb) != 0 || git_mempack_new(&mem) != 0 ||
	    git_odb_add_backend(odb, mem, 1) != 0 ||
	    git_repository_wrap_odb(&repo, odb) != 0 ||
	    git_blob_create_from_buffer(&blob, repo, "x", 1) != 0)
		abort();
	git_odb_free(odb);
	return 0;
}

static int
git_takes(const char *name)
{
	git_treebuilder *tb = NULL;
	int	 ok;

	if (git_treebuilder_new(&tb, repo, NULL) != 0)
		abort();
	ok = git_treebuilder_insert(NULL, tb, name, &blob,
	    GIT_FILEMODE_BLOB) == 0;
	git_treebuilder_free(tb);
	return ok;
}

static void
check_escaped(const char *e)
{
	const char *p;

	FUZZ_CHECK(*e != '\0');
	FUZZ_CHECK(*e != '.');
	FUZZ_CHECK(strcmp(e, ".") != 0 && strcmp(e, "..") != 0 &&
	    strcmp(e, ".git") != 0);
	for (p = e; *p != '\0'; p++)
		FUZZ_CHECK((*p >= 'A' && *p <= 'Z') || (*p >= 'a' &&
		    *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		    *p == '-' || *p == '.' || *p == '%');
	FUZZ_CHECK(git_takes(e));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*e, *raw, *name, *again;
	size_t	 len;

	setup();
	/* Raw bytes -> escaped -> raw. */
	if ((e = bk_name_escape((const char *)data, size)) != NULL) {
		check_escaped(e);
		FUZZ_CHECK(strlen(e) <= (size > 0 ? size * 3 : 2));
		FUZZ_CHECK(bk_name_unescape(e, &raw, &len) == 0);
		FUZZ_CHECK(len == size);
		FUZZ_CHECK(size == 0 || memcmp(raw, data, size) == 0);
		FUZZ_CHECK(raw[len] == '\0');
		free(raw);
		free(e);
	}
	/* The input as a tree-entry name (up to a NUL, as git's are). */
	if ((name = strndup((const char *)data, size)) == NULL)
		return 0;
	if (bk_name_unescape(name, &raw, &len) == 0) {
		FUZZ_CHECK(raw != NULL && raw[len] == '\0');
		again = bk_name_escape(raw, len);
		FUZZ_CHECK(again != NULL && strcmp(again, name) == 0);
		free(again);
		free(raw);
	} else
		FUZZ_CHECK(raw == NULL);
	free(name);
	return 0;
}
