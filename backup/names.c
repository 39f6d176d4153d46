/*
 * names.c - reversible escaping of names into git tree-entry names. See
 * names.h.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

static const char hexdig[] = "0123456789ABCDEF";

/* Whether byte c at position i of a raw name is written as it is. */
static int
kept(unsigned char c, size_t i)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-')
		return 1;
	return c == '.' && i > 0;
}

/* Only upper-case digits: with both cases, one name would have two forms. */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *
bk_name_escape(const char *raw, size_t len)
{
	const unsigned char *p = (const unsigned char *)raw;
	char	*s = NULL, *q;
	size_t	 i;

	if (len == 0)
		return strdup("%%");
	if (len > (SIZE_MAX - 1) / 3) {
		errno = ENOMEM;
		return NULL;
	}
	if ((s = malloc(len * 3 + 1)) == NULL)
		return NULL;
	q = s;
	for (i = 0; i < len; i++) {
		if (kept(p[i], i))
			*q++ = (char)p[i];
		else {
			*q++ = '%';
			*q++ = hexdig[p[i] >> 4];
			*q++ = hexdig[p[i] & 0xf];
		}
	}
	*q = '\0';
	return s;
}

int
bk_name_unescape(const char *name, char **raw, size_t *len)
{
	const char *p;
	char	*s = NULL;
	size_t	 n = 0;
	int	 hi, lo, ret = -1;

	*raw = NULL;
	*len = 0;
	if ((s = malloc(strlen(name) + 1)) == NULL)
		return -1;
	if (strcmp(name, "%%") == 0)
		goto done;
	if (*name == '\0')
		goto out;
	for (p = name; *p != '\0'; n++) {
		if (*p != '%') {
			/* n is the position in the raw name: a leading '.'
			 * must have been escaped. */
			if (!kept((unsigned char)*p, n))
				goto out;
			s[n] = *p++;
			continue;
		}
		if ((hi = hexval(p[1])) == -1 || (lo = hexval(p[2])) == -1)
			goto out;
		if (kept((unsigned char)(hi << 4 | lo), n))
			goto out;
		s[n] = (char)(hi << 4 | lo);
		p += 3;
	}
done:
	s[n] = '\0';
	*raw = s;
	*len = n;
	s = NULL;
	ret = 0;
out:
	free(s);
	return ret;
}
