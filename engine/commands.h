/*
 * commands.h - the vcrotate commands, one file each (cmd_<name>.c), listed
 * in main.c's table. Each gets argv from its own name on, and the options
 * common to all commands already parsed into cfg (it may parse more: they
 * are accepted after the command name too).
 */
#ifndef VCR_COMMANDS_H
#define VCR_COMMANDS_H

#include "config.h"

int cmd_check(int argc, char *argv[], struct config *cfg);
int cmd_plan(int argc, char *argv[], struct config *cfg);
int cmd_backup(int argc, char *argv[], struct config *cfg);

/* "2026-11-27", "2026-11-27T10:00:00Z", "2026-11-27 10:00", "@1790000000". */
int parse_time(const char *s, time_t *out);

#endif
