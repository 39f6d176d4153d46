/*
 * fuzz_vecs_stores.c - vecs_parse_stores (engine/vecs.c), the parser of
 * `vecs-cli store list' output that vecs_stores uses: one store name a line.
 *
 * Invariants: every name is a non-empty line of the output, in order, and
 * every non-empty line (up to a NUL, where the output ends for vecs_stores)
 * is a name.
 */
#include <string.h>

#include "fuzz.h"
#include "vecs.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*text, *copy, **names;
	const char *p, *nl;
	size_t	 n, i, len;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if ((copy = strdup(text)) == NULL) {
		free(text);
		return 0;
	}
	if (vecs_parse_stores(text, &names, &n) == 0) {
		i = 0;
		for (p = copy; *p != '\0'; p = nl + 1) {
			nl = strchr(p, '\n');
			len = nl != NULL ? (size_t)(nl - p) : strlen(p);
			if (len > 0) {
				FUZZ_CHECK(i < n);
				FUZZ_CHECK(strlen(names[i]) == len &&
				    memcmp(names[i], p, len) == 0);
				i++;
			}
			if (nl == NULL)
				break;
		}
		FUZZ_CHECK(i == n);
		vecs_names_free(names, n);
	}
	free(copy);
	free(text);
	return 0;
}
