/*
 * safetext.h - what vcrotate writes of text it did not choose. Aliases, DNs,
 * subjects and the tools' messages come from the appliance and can hold
 * escape sequences or bytes that are not UTF-8: every command prints them
 * through text_safe and puts them in JSON through json_string_lossy.
 */
#ifndef VCR_SAFETEXT_H
#define VCR_SAFETEXT_H

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>

/* s as it may reach a terminal (malloc'd, NULL when out of memory):
 * control bytes, DEL and invalid UTF-8 as \xHH, a backslash as \\. */
char *text_safe(const char *s);
/* Writes s through text_safe a line at a time, keeping its newlines; and
 * the printf form. -1 on an output or memory error. */
int   text_put_safe(FILE *out, const char *s);
int   text_printf_safe(FILE *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int   text_vprintf_safe(FILE *out, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* A JSON string of s, invalid UTF-8 replaced by U+FFFD (json_string
 * refuses it); JSON null for NULL. */
json_t *json_string_lossy(const char *s);
/* "2026-11-27T23:28:47Z", the form of every time in vcrotate's JSON. */
json_t *json_time(time_t t);

#endif
