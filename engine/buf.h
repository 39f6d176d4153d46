/*
 * buf.h - a growable byte buffer, always NUL-terminated (git's strbuf).
 *
 * A struct buf owns its data; buf_free releases it, buf_free_secret wipes it
 * first (for anything that may hold a key or a password). A zeroed struct
 * (BUF_INIT) is an empty buffer.
 */
#ifndef VCR_BUF_H
#define VCR_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char	*data;	/* NULL or len bytes followed by a NUL */
	size_t	 len;
	size_t	 cap;
};

#define BUF_INIT { NULL, 0, 0 }

int  buf_grow(struct buf *b, size_t extra);
int  buf_add(struct buf *b, const void *data, size_t len);
int  buf_puts(struct buf *b, const char *s);
int  buf_putc(struct buf *b, char c);
int  buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int  buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* The data as a string: "" for an empty buffer, never NULL. */
const char *buf_str(const struct buf *b);
/* Hands the data to the caller (malloc'd, NUL-terminated) and empties b. */
char *buf_detach(struct buf *b);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
void buf_free_secret(struct buf *b);

#endif
