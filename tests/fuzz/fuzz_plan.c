/*
 * fuzz_plan.c - plan_load (plans/load.c), the reader of plan files, which
 * travel through change tickets and come back edited or damaged, and what
 * is done with a plan that loads: plan_render (plan show, apply) and
 * plan_check_appliance. A plan that loads has passed the rules of
 * docs/plans.md as well as the seal.
 *
 * Each input is loaded twice: as it is (almost every mutation then fails
 * the SHA-256 check, which is the point of the check), and, when it is a
 * JSON object, sealed again with plan_seal and written as plan_write
 * writes it, so that the field checks behind the SHA-256 are reached too.
 *
 * Invariants: a plan that loads as it is also loads sealed again; a plan
 * that loads renders, and its rendering holds no "(null)" (a field the
 * checks let through that render takes for a string); a plan that does not
 * load says why.
 */
#include <string.h>

#include <jansson.h>

#include "appliance.h"
#include "buf.h"
#include "fuzz.h"
#include "plan.h"

static void
use_plan(const struct plan *plan)
{
	struct appliance app;
	struct buf err = BUF_INIT;
	char	*text = NULL;
	size_t	 len = 0;
	FILE	*out;
	char	*dump;
	int	 has_null;

	/* "(null)" may be in the plan itself, as text. */
	dump = json_dumps(plan->doc, JSON_COMPACT);
	has_null = dump == NULL || strstr(dump, "(null)") != NULL;
	free(dump);
	if ((out = open_memstream(&text, &len)) != NULL) {
		FUZZ_CHECK(plan_render(out, plan->doc) == 0);
		fclose(out);
		FUZZ_CHECK(text != NULL);
		FUZZ_CHECK(has_null || strstr(text, "(null)") == NULL);
		free(text);
	}
	memset(&app, 0, sizeof(app));
	app.pnid = (char *)"vcsa1.example.com";
	app.machine_id = (char *)"0f0e0d0c-0b0a-0908-0706-050403020100";
	(void)plan_check_appliance(plan, &app, &err);
	buf_free(&err);
}

/* Loads the bytes as a plan file; 1 when it loaded. */
static int
load(const void *data, size_t size)
{
	struct buf err = BUF_INIT;
	const char *path;
	struct plan *plan = NULL;

	if ((path = fuzz_memfile(0, data, size)) == NULL)
		return -1;
	if (plan_load(&plan, path, &err) == 0) {
		FUZZ_CHECK(plan != NULL);
		use_plan(plan);
		plan_free(plan);
	} else
		FUZZ_CHECK(err.len > 0 && plan == NULL);
	buf_free(&err);
	return plan != NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t	*j;
	char	*text;
	int	 as_is, resealed;

	as_is = load(data, size);
	j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
	    &jerr);
	if (json_is_object(j) && plan_seal(j) == 0 &&
	    (text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) !=
	    NULL) {
		resealed = load(text, strlen(text));
		if (as_is == 1)
			FUZZ_CHECK(resealed == 1);
		free(text);
	}
	json_decref(j);
	return 0;
}
