/*
 * fuzz_vecs_list.c - vecs_parse_list (engine/vecs.c), the parser of
 * `vecs-cli entry list --store S' output, as vecs_list gives it.
 *
 * Invariants of an accepted listing: the entry count line matched; every
 * entry has an alias, a type name, a certificate text ("" at least) whose
 * length is pem_len, and the type its name says; and printing the entries
 * back in vecs-cli's format and parsing that gives the same entries.
 */
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "vecs.h"

static const struct {
	const char	*name;
	enum vecs_type	 type;
} types[] = {
	{ "Private Key",			VECS_PRIVATE_KEY },
	{ "Secret Key",				VECS_SECRET_KEY },
	{ "Trusted Cert",			VECS_TRUSTED_CERT },
	{ "Certification Revocation List",	VECS_CRL },
	{ "Encrypted Private Key",		VECS_ENCRYPTED_PRIVATE_KEY },
};

static enum vecs_type
type_of(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(name, types[i].name) == 0)
			return types[i].type;
	return VECS_UNKNOWN_TYPE;
}

static void
check_item(const struct vecs_item *it)
{
	FUZZ_CHECK(it->alias != NULL);
	FUZZ_CHECK(it->type_name != NULL);
	FUZZ_CHECK(it->pem != NULL);
	FUZZ_CHECK(it->pem[it->pem_len] == '\0');
	FUZZ_CHECK(it->type == type_of(it->type_name));
	/* The blank lines after a certificate are not part of it. */
	FUZZ_CHECK(it->pem_len == 0 || (it->pem[it->pem_len - 1] != '\n' &&
	    it->pem[it->pem_len - 1] != '\r'));
	/* An alias may hold newlines (vecs-cli prints it as it is), but no
	 * line of it after the first is a key line: that would start
	 * another entry or give this one its type. Types are single lines. */
	FUZZ_CHECK(strstr(it->alias, "\nEntry type :\t") == NULL);
	FUZZ_CHECK(strstr(it->alias, "\nAlias :\t") == NULL);
	FUZZ_CHECK(strstr(it->alias, "\nNumber of entries in store :\t") ==
	    NULL);
	FUZZ_CHECK(strchr(it->type_name, '\n') == NULL);
}

/* The listing as vecs-cli prints it. */
static int
render(const struct vecs_list *l, struct buf *out)
{
	size_t	 i;

	if (buf_printf(out, "Number of entries in store :\t%zu\n", l->n) == -1)
		return -1;
	for (i = 0; i < l->n; i++) {
		const struct vecs_item *it = &l->items[i];

		if (buf_printf(out, "Alias :\t%s\nEntry type :\t%s\n"
		    "Certificate :\t", it->alias, it->type_name) == -1 ||
		    buf_add(out, it->pem, it->pem_len) == -1 ||
		    buf_puts(out, "\n\n") == -1)
			return -1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vecs_list l, again;
	struct buf text = BUF_INIT;
	const char *why = NULL;
	size_t	 i;

	if (vecs_parse_list((const char *)data, size, &l, &why) == -1) {
		FUZZ_CHECK(why != NULL);
		FUZZ_CHECK(l.items == NULL && l.n == 0);
		return 0;
	}
	for (i = 0; i < l.n; i++)
		check_item(&l.items[i]);
	if (render(&l, &text) == 0) {
		FUZZ_CHECK(vecs_parse_list(text.data, text.len, &again,
		    &why) == 0);
		FUZZ_CHECK(again.n == l.n);
		for (i = 0; i < l.n; i++) {
			const struct vecs_item *a = &l.items[i];
			const struct vecs_item *b = &again.items[i];

			FUZZ_CHECK(strcmp(a->alias, b->alias) == 0);
			FUZZ_CHECK(strcmp(a->type_name, b->type_name) == 0);
			FUZZ_CHECK(a->type == b->type);
			FUZZ_CHECK(a->pem_len == b->pem_len &&
			    memcmp(a->pem, b->pem, a->pem_len) == 0);
		}
		vecs_list_free(&again);
	}
	buf_free(&text);
	vecs_list_free(&l);
	return 0;
}
