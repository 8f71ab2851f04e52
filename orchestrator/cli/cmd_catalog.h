/*
 * cmd_catalog.h: the entry points of `crange scenario add|list|show|update|
 * remove`, the CLI side of the scenario catalog (catalog.h). Same signature
 * and conventions as commands.h; their table entries (synopsis, summary,
 * help) are in the comment at the top of cmd_catalog.c.
 */
#ifndef CRANGE_CMD_CATALOG_H
#define CRANGE_CMD_CATALOG_H

#include "config.h"

int cr_cmd_scenario_add(cr_config *cfg, int argc, char **argv);
int cr_cmd_scenario_list(cr_config *cfg, int argc, char **argv);
int cr_cmd_scenario_show(cr_config *cfg, int argc, char **argv);
int cr_cmd_scenario_update(cr_config *cfg, int argc, char **argv);
int cr_cmd_scenario_remove(cr_config *cfg, int argc, char **argv);

#endif
