/*
 * safetext.c - what vcrotate writes of text it did not choose. See
 * safetext.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "cert.h"
#include "safetext.h"

/*
 * The length of the valid UTF-8 sequence at p (not an ASCII byte), or 0:
 * no overlong form, no surrogate, nothing above U+10FFFF (RFC 3629), and
 * no C1 control (U+0080-U+009F: some terminals act on them as on ESC).
 */
static size_t
utf8_len(const unsigned char *p)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t	 n, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (p[0] == 0xc2)
		lo = 0xa0;	/* C1 controls */
	else if (p[0] == 0xe0)
		lo = 0xa0;	/* overlong */
	else if (p[0] == 0xed)
		hi = 0x9f;	/* surrogates */
	else if (p[0] == 0xf0)
		lo = 0x90;	/* overlong */
	else if (p[0] == 0xf4)
		hi = 0x8f;	/* above U+10FFFF */
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/*
 * s as it may reach a terminal (malloc'd): names and messages come from the
 * appliance, and an alias can hold an escape sequence or bytes that are not
 * UTF-8. Control bytes, DEL and invalid UTF-8 become \xHH, a backslash \\.
 */
char *
text_safe(const char *s)
{
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : ""), *q;
	struct buf b = BUF_INIT;
	size_t	 n;

	/* Most of it is printable ASCII without a backslash: as it is (check
	 * prints thousands of subjects and aliases). */
	for (q = p; *q >= 0x20 && *q < 0x7f && *q != '\\'; q++)
		;
	if (*q == '\0')
		return strdup((const char *)p);
	for (; *p != '\0'; p++) {
		if (*p >= 0x80 && (n = utf8_len(p)) > 0) {
			buf_add(&b, p, n);
			p += n - 1;
		} else if (*p < 0x20 || *p >= 0x7f)
			buf_printf(&b, "\\x%02x", *p);
		else if (*p == '\\')
			buf_puts(&b, "\\\\");
		else
			buf_putc(&b, (char)*p);
	}
	return buf_detach(&b);
}

int
text_put_safe(FILE *out, const char *s)
{
	const char *p = s != NULL ? s : "", *nl;
	char	*line, *safe;
	int	 ret = 0;

	for (; ret == 0 && *p != '\0'; p = *nl != '\0' ? nl + 1 : nl) {
		nl = p + strcspn(p, "\n");
		line = strndup(p, (size_t)(nl - p));
		safe = line != NULL ? text_safe(line) : NULL;
		if (safe == NULL || fputs(safe, out) == EOF || (*nl == '\n' &&
		    fputc('\n', out) == EOF))
			ret = -1;
		free(safe);
		free(line);
	}
	return ret;
}

int
text_vprintf_safe(FILE *out, const char *fmt, va_list ap)
{
	char	*s = NULL;
	int	 ret;

	if (vasprintf(&s, fmt, ap) < 0)
		return -1;
	ret = text_put_safe(out, s);
	free(s);
	return ret;
}

int
text_printf_safe(FILE *out, const char *fmt, ...)
{
	va_list	 ap;
	int	 ret;

	va_start(ap, fmt);
	ret = text_vprintf_safe(out, fmt, ap);
	va_end(ap);
	return ret;
}

/* json_string refuses invalid UTF-8: aliases may be anything. */
json_t *
json_string_lossy(const char *s)
{
	json_t	*j;
	struct buf b = BUF_INIT;
	const unsigned char *p;

	if (s == NULL)
		return json_null();
	if ((j = json_string(s)) != NULL)
		return j;
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x80)
			buf_putc(&b, (char)*p);
		else
			buf_puts(&b, "\xef\xbf\xbd");	/* U+FFFD */
	j = json_string(buf_str(&b));
	buf_free(&b);
	return j != NULL ? j : json_string("?");
}

json_t *
json_time(time_t t)
{
	char	 s[32];

	cert_time_iso(t, s, sizeof(s));
	return json_string(s);
}
