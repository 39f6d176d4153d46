/*
 * commands.h - the vcrotate commands, one file each (cmd_<name>.c), listed
 * in main.c's table with their operands and options. Each gets its command
 * line parsed against that table (cl: its options and operands; cl->syn
 * names the command, "backup restore") and the options common to all
 * commands in cfg.
 */
#ifndef VCR_COMMANDS_H
#define VCR_COMMANDS_H

#include "config.h"

int cmd_check(const struct cmdline *cl, struct config *cfg);
int cmd_plan(const struct cmdline *cl, struct config *cfg);	/* and plan show */
int cmd_csr(const struct cmdline *cl, struct config *cfg);
int cmd_backup(const struct cmdline *cl, struct config *cfg);	/* every subcommand */
int cmd_apply(const struct cmdline *cl, struct config *cfg);
int cmd_renew(const struct cmdline *cl, struct config *cfg);	/* check, plan, apply, hooks */
int cmd_history(const struct cmdline *cl, struct config *cfg);
int cmd_rollback(const struct cmdline *cl, struct config *cfg);
int cmd_recover(const struct cmdline *cl, struct config *cfg);

#endif
