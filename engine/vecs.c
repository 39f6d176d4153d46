/*
 * vecs.c - reading VECS through vecs-cli. See vecs.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appliance.h"
#include "fileio.h"
#include "proc.h"
#include "fault.h"
#include "vecs.h"

static const struct {
	const char	*name;
	enum vecs_type	 type;
} types[] = {
	{ "Private Key",			VECS_PRIVATE_KEY },
	{ "Secret Key",				VECS_SECRET_KEY },
	{ "Trusted Cert",			VECS_TRUSTED_CERT },
	{ VECS_CRL_TYPE,				VECS_CRL },
	{ "Encrypted Private Key",		VECS_ENCRYPTED_PRIVATE_KEY },
};

/* Runs vecs-cli with args; on failure names the command and its error. */
static int
run_vecs(const char *root, const char *const *args, struct proc_result *res,
    struct buf *err)
{
	size_t	 i;

	if (app_run(root, APP_VECS_CLI, args, NULL, res, err) == -1)
		return -1;
	if (res->status != 0) {
		const char *e = buf_str(&res->err);
		const char *last = e, *p;

		/* vecs-cli's verdict is its last stderr line. */
		for (p = e; *p != '\0'; p++)
			if (*p == '\n' && p[1] != '\0')
				last = p + 1;
		buf_printf(err, "vecs-cli");
		for (i = 0; args[i] != NULL; i++)
			buf_printf(err, " %s", args[i]);
		buf_printf(err, " failed (exit %d)%s%.*s", res->status,
		    *last ? ": " : "", (int)strcspn(last, "\n"), last);
		/* What a failed getkey printed may be part of a key. */
		buf_free_secret(&res->out);
		proc_result_free(res);
		return -1;
	}
	return 0;
}

int
vecs_parse_stores(char *text, char ***names, size_t *n)
{
	char	**v = NULL, **nv, *line, *next;
	size_t	 count = 0;

	*names = NULL;
	*n = 0;
	for (line = text; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (*line == '\0')
			continue;
		if ((nv = reallocarray(v, count + 1, sizeof(*v))) == NULL)
			goto oom;
		v = nv;
		if ((v[count] = strdup(line)) == NULL)
			goto oom;
		count++;
	}
	*names = v;
	*n = count;
	return 0;
oom:
	vecs_names_free(v, count);
	return -1;
}

int
vecs_stores(const char *root, char ***names, size_t *n, struct buf *err)
{
	const char *args[] = { "store", "list", NULL };
	struct proc_result res;
	int	 ret;

	*names = NULL;
	*n = 0;
	if (run_vecs(root, args, &res, err) == -1)
		return -1;
	if ((ret = vecs_parse_stores(res.out.data, names, n)) == -1)
		buf_printf(err, "out of memory listing stores");
	proc_result_free(&res);
	return ret;
}

void
vecs_names_free(char **names, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int
starts(const char *line, const char *prefix, const char **rest)
{
	size_t	 n = strlen(prefix);

	if (strncmp(line, prefix, n) != 0)
		return 0;
	*rest = line + n;
	return 1;
}

/* Appends an item; its fields are filled in by the caller. The array
 * doubles: stores hold thousands of CRLs. */
static struct vecs_item *
add_item(struct vecs_list *l, size_t *cap)
{
	struct vecs_item *ni;
	size_t	 ncap;

	if (l->n == *cap) {
		ncap = *cap ? *cap * 2 : 16;
		if ((ni = reallocarray(l->items, ncap, sizeof(*ni))) == NULL)
			return NULL;
		l->items = ni;
		*cap = ncap;
	}
	ni = l->items;
	memset(&ni[l->n], 0, sizeof(ni[l->n]));
	ni[l->n].type = VECS_UNKNOWN_TYPE;
	return &ni[l->n++];
}

/* Trims the blank lines vecs-cli prints after each certificate. */
static void
trim_pem(struct vecs_item *it)
{
	while (it->pem_len > 0 && (it->pem[it->pem_len - 1] == '\n' ||
	    it->pem[it->pem_len - 1] == '\r'))
		it->pem_len--;
	if (it->pem != NULL)
		it->pem[it->pem_len] = '\0';
}

/* *s = *s "\n" line (reallocated). */
static int
append_line(char **s, const char *line)
{
	char	*n;

	if (asprintf(&n, "%s\n%s", *s, line) == -1)
		return -1;
	free(*s);
	*s = n;
	return 0;
}

int
vecs_parse_list(const char *text, size_t len, struct vecs_list *out,
    const char **why)
{
	const char *p = text, *end = text + len, *nl, *rest;
	struct vecs_item *it = NULL;
	struct buf pem = BUF_INIT, line = BUF_INIT;
	long	 expect = -1;
	int	 in_cert = 0, in_alias = 0;
	size_t	 i, cap = 0;

	memset(out, 0, sizeof(*out));
	*why = "out of memory";
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		buf_reset(&line);
		if (buf_add(&line, p, nl != NULL ? (size_t)(nl - p) :
		    (size_t)(end - p)) == -1)
			goto fail;
		p = nl != NULL ? nl + 1 : end;
		if (starts(line.data, "Number of entries in store :\t", &rest)) {
			char	*e;

			expect = strtol(rest, &e, 10);
			if (*e != '\0' || expect < 0) {
				*why = "bad entry count line";
				goto fail;
			}
			continue;
		}
		if (starts(line.data, "Alias :\t", &rest)) {
			if (it != NULL) {
				it->pem_len = pem.len;
				it->pem = buf_detach(&pem);
				trim_pem(it);
			}
			if ((it = add_item(out, &cap)) == NULL ||
			    (it->alias = strdup(rest)) == NULL)
				goto fail;
			in_cert = 0;
			in_alias = 1;
			continue;
		}
		/*
		 * Until its entry type, a line is the alias's own: vecs-cli
		 * prints an alias with a newline as it is. One that mimics a
		 * key line splits or doubles an entry, which the entry count
		 * and the one-type rule below catch.
		 */
		if (in_alias && !starts(line.data, "Entry type :\t", &rest)) {
			if (append_line(&it->alias, line.data) == -1)
				goto fail;
			continue;
		}
		in_alias = 0;
		if (it != NULL && !in_cert &&
		    starts(line.data, "Entry type :\t", &rest)) {
			/* A second one comes from an alias with a newline. */
			if (it->type_name != NULL) {
				*why = "an entry with two entry types";
				goto fail;
			}
			if ((it->type_name = strdup(rest)) == NULL)
				goto fail;
			for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
				if (strcmp(rest, types[i].name) == 0)
					it->type = types[i].type;
			continue;
		}
		if (it != NULL && !in_cert &&
		    starts(line.data, "Certificate :\t", &rest)) {
			in_cert = 1;
			if (buf_puts(&pem, rest) == -1 || buf_putc(&pem, '\n'))
				goto fail;
			continue;
		}
		if (it != NULL && in_cert) {
			if (buf_add(&pem, line.data, line.len) == -1 ||
			    buf_putc(&pem, '\n') == -1)
				goto fail;
			continue;
		}
		if (line.len == 0)
			continue;
		*why = "unexpected line in vecs-cli output";
		goto fail;
	}
	if (it != NULL) {
		it->pem_len = pem.len;
		it->pem = buf_detach(&pem);
		trim_pem(it);
	}
	if (expect < 0) {
		*why = "no entry count in vecs-cli output";
		goto fail;
	}
	/* An alias that mimics an "Alias :" line splits an entry in two. */
	if ((size_t)expect != out->n) {
		*why = "entry count does not match the entries listed";
		goto fail;
	}
	for (i = 0; i < out->n; i++) {
		if (out->items[i].type_name == NULL) {
			*why = "an entry without an entry type";
			goto fail;
		}
		if (out->items[i].pem == NULL &&
		    (out->items[i].pem = strdup("")) == NULL)
			goto fail;
	}
	buf_free(&line);
	return 0;
fail:
	buf_free(&pem);
	buf_free(&line);
	vecs_list_free(out);
	return -1;
}

int
vecs_list(const char *root, const char *store, struct vecs_list *out,
    struct buf *err)
{
	const char *args[] = { "entry", "list", "--store", store, NULL };
	struct proc_result res;
	const char *why;
	int	 ret;

	memset(out, 0, sizeof(*out));
	if (run_vecs(root, args, &res, err) == -1)
		return -1;
	if ((ret = vecs_parse_list(res.out.data != NULL ? res.out.data : "",
	    res.out.len, out, &why)) == -1)
		buf_printf(err, "cannot read store %s: %s", store, why);
	proc_result_free(&res);
	return ret;
}

void
vecs_list_free(struct vecs_list *l)
{
	size_t	 i;

	for (i = 0; i < l->n; i++) {
		free(l->items[i].alias);
		free(l->items[i].type_name);
		free(l->items[i].pem);
	}
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

int
vecs_getkey(const char *root, const char *store, const char *alias,
    struct buf *key, struct buf *err)
{
	const char *args[] = { "entry", "getkey", "--store", store,
	    "--alias", alias, NULL };
	struct proc_result res;

	if (run_vecs(root, args, &res, err) == -1)
		return -1;
	*key = res.out;
	memset(&res.out, 0, sizeof(res.out));
	proc_result_free(&res);
	return 0;
}

/* Runs a vecs-cli write; its output is not needed. */
static int
vecs_write(const char *root, const char *const *args, struct buf *err)
{
	struct proc_result res;
	char	 what[64];

	snprintf(what, sizeof(what), "vecs-cli %s %s", args[0], args[1]);
	if (fault_point(what, err) == -1)
		return -1;
	if (run_vecs(root, args, &res, err) == -1)
		return -1;
	proc_result_free(&res);
	fault_done();
	return 0;
}

int
vecs_entry_create(const char *root, const char *store, const char *alias,
    const char *cert_file, const char *key_file, struct buf *err)
{
	const char *args[12];
	size_t	 n = 0;

	args[n++] = "entry";
	args[n++] = "create";
	args[n++] = "--store";
	args[n++] = store;
	args[n++] = "--alias";
	args[n++] = alias;
	if (cert_file != NULL) {
		args[n++] = "--cert";
		args[n++] = cert_file;
	}
	if (key_file != NULL) {
		args[n++] = "--key";
		args[n++] = key_file;
	}
	args[n] = NULL;
	return vecs_write(root, args, err);
}

int
vecs_entry_delete(const char *root, const char *store, const char *alias,
    struct buf *err)
{
	const char *args[] = { "entry", "delete", "--store", store, "--alias",
	    alias, "-y", NULL };

	return vecs_write(root, args, err);
}

int
vecs_store_create(const char *root, const char *store, struct buf *err)
{
	const char *args[] = { "store", "create", "--name", store, NULL };

	return vecs_write(root, args, err);
}

int
vecs_force_refresh(const char *root, struct buf *err)
{
	const char *args[] = { "force-refresh", NULL };

	return vecs_write(root, args, err);
}

int
vecs_store_delete(const char *root, const char *store, struct buf *err)
{
	const char *args[] = { "store", "delete", "--name", store, "-y", NULL };

	return vecs_write(root, args, err);
}

int
vecs_entry_put(const char *root, const char *dir, const char *store,
    const char *alias, int replace, const void *cert, size_t certlen,
    const void *key, size_t keylen, struct buf *err)
{
	char	*cf = NULL, *kf = NULL;
	int	 ret = -1;

	if ((cert != NULL && (cf = file_stage(dir, "cert.pem", cert, certlen,
	    err)) == NULL) || (key != NULL && (kf = file_stage(dir, "key.pem", key, keylen,
	    err)) == NULL))
		goto out;
	if (replace && vecs_entry_delete(root, store, alias, err) == -1)
		goto out;
	ret = vecs_entry_create(root, store, alias, cf, kf, err);
out:
	file_unstage(cf);
	file_unstage(kf);
	return ret;
}
