/*
 * journal.h - the transaction journal: ROOT/var/lib/vcrotate/journal.
 *
 * apply writes it, complete and fsynced, after the before snapshot and
 * before the first change, appends a record (fsynced) as each phase ends,
 * and removes it when the transaction is over, committed or rolled back.
 * A journal on disk therefore means one thing: a transaction was
 * interrupted, and `vcrotate recover' must finish it before anything else
 * changes the appliance.
 *
 * The file is text, one record a line: words separated by single spaces,
 * each word escaped as names.h escapes a tree-entry name (no space, no
 * control byte, "%%" for the empty word), then a tab and the first 8 hex
 * digits of the SHA-256 of the words.
 * A last line that is torn (no newline, or a checksum that does not match)
 * was never written as far as the journal is concerned; a bad line before
 * the last is corruption, and the journal is refused.
 *
 *	vcrotate-journal 1		the header record, first
 *	transaction ID
 *	...				key value records (docs/recovery.md)
 *	commit				the commit point
 */
#ifndef VCR_JOURNAL_H
#define VCR_JOURNAL_H

#include <stddef.h>

#include "buf.h"

#define JOURNAL_MAGIC	"vcrotate-journal"
#define JOURNAL_VERSION	"1"

struct journal_record {
	char	**words;
	size_t	  n;
};

struct journal {
	char			*path;
	int			 fd;		/* for appending, or -1 */
	struct journal_record	*recs;
	size_t			 nrecs;
	int			 torn;		/* a torn last line is on disk */
	size_t			 good_len;	/* the bytes of whole records */
};

/* The journal's path under root (malloc'd). */
char *journal_path(const char *root);

/*
 * Writes a new journal at path with the records of j (built with
 * journal_add), atomically and fsynced, and keeps it open for appending.
 * Refuses when a journal already exists.
 */
int  journal_create(struct journal *j, const char *root, struct buf *err);

/* Adds a record of n words to j in memory (before journal_create). */
int  journal_add(struct journal *j, const char *const *words, size_t n);

/* Appends a record of n words to the journal on disk (fsynced) and to j. */
int  journal_append(struct journal *j, const char *const *words, size_t n,
    struct buf *err);

/*
 * Reads the journal under root. 1 when there is one (j filled in), 0 when
 * there is none, -1 when it cannot be read or is corrupt (err says where).
 * The journal is then open for appending.
 */
int  journal_load(struct journal *j, const char *root, struct buf *err);

/* Removes the journal from disk (fsynced): the transaction is over. */
int  journal_remove(struct journal *j, struct buf *err);

/* The first record whose first word is key, or NULL; its words[1] if any. */
const struct journal_record *journal_find(const struct journal *j,
    const char *key);
const char *journal_value(const struct journal *j, const char *key);
/* The last record whose first word is key, or NULL. */
const struct journal_record *journal_find_last(const struct journal *j,
    const char *key);
/* The last record's first word ("" for an empty journal). */
const char *journal_last(const struct journal *j);

void journal_free(struct journal *j);

#endif
