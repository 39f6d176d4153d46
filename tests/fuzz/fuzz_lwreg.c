/*
 * fuzz_lwreg.c - lwreg_parse_line (engine/appliance.c), the parser of
 * `lwregshell list_values [KEY]' output that appliance_machine_account uses
 * to find the machine account (dcAccountDN, dcAccountPassword).
 *
 * The input is a whole lwregshell output, cut into lines as
 * appliance_machine_account cuts it. Invariants for each accepted line:
 * name and value are set, hold no newline, and quoting them again as
 * lwregshell does (\" and \\) and parsing that gives them back.
 */
#include <string.h>

#include "appliance.h"
#include "buf.h"
#include "fuzz.h"

static int
quote(struct buf *b, const char *s)
{
	if (buf_putc(b, '"') == -1)
		return -1;
	for (; *s != '\0'; s++)
		if (((*s == '"' || *s == '\\') && buf_putc(b, '\\') == -1) ||
		    buf_putc(b, *s) == -1)
			return -1;
	return buf_putc(b, '"');
}

static void
check_line(const char *line)
{
	struct buf again = BUF_INIT;
	char	*name, *value, *n2, *v2;

	if (lwreg_parse_line(line, &name, &value) == -1) {
		FUZZ_CHECK(name == NULL && value == NULL);
		return;
	}
	FUZZ_CHECK(name != NULL && value != NULL);
	FUZZ_CHECK(strchr(name, '\n') == NULL && strchr(value, '\n') == NULL);
	if (buf_puts(&again, "+  ") == 0 && quote(&again, name) == 0 &&
	    buf_puts(&again, "  REG_SZ  ") == 0 && quote(&again, value) == 0) {
		FUZZ_CHECK(lwreg_parse_line(again.data, &n2, &v2) == 0);
		FUZZ_CHECK(strcmp(name, n2) == 0);
		FUZZ_CHECK(strcmp(value, v2) == 0);
		free(n2);
		free_secret(v2);
	}
	buf_free_secret(&again);
	free(name);
	free_secret(value);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*text, *line, *next;

	/* appliance_machine_account works on the NUL-terminated output. */
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (line = text; *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		check_line(line);
		if (next == NULL)
			break;
	}
	free(text);
	return 0;
}
