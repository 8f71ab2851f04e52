/*
 * commands.h: the entry points of the CLI commands, one module each
 * (cmd_*.c). Each takes the resolved global
 * configuration and the arguments after the command name.
 */
#ifndef CRANGE_COMMANDS_H
#define CRANGE_COMMANDS_H

#include "config.h"

int cr_cmd_validate(cr_config *cfg, int argc, char **argv);
int cr_cmd_plan(cr_config *cfg, int argc, char **argv);
int cr_cmd_scenario_lint(cr_config *cfg, int argc, char **argv);
int cr_cmd_up(cr_config *cfg, int argc, char **argv);
int cr_cmd_down(cr_config *cfg, int argc, char **argv);
int cr_cmd_revert(cr_config *cfg, int argc, char **argv);
int cr_cmd_status(cr_config *cfg, int argc, char **argv);
int cr_cmd_list(cr_config *cfg, int argc, char **argv);
int cr_cmd_exec(cr_config *cfg, int argc, char **argv);
int cr_cmd_console(cr_config *cfg, int argc, char **argv);
int cr_cmd_doctor(cr_config *cfg, int argc, char **argv);
int cr_cmd_host_add(cr_config *cfg, int argc, char **argv);
int cr_cmd_host_list(cr_config *cfg, int argc, char **argv);
int cr_cmd_host_remove(cr_config *cfg, int argc, char **argv);
int cr_cmd_image_build(cr_config *cfg, int argc, char **argv);
int cr_cmd_image_list(cr_config *cfg, int argc, char **argv);
int cr_cmd_image_verify(cr_config *cfg, int argc, char **argv);
int cr_cmd_image_prune(cr_config *cfg, int argc, char **argv);
int cr_cmd_run(cr_config *cfg, int argc, char **argv);
int cr_cmd_score(cr_config *cfg, int argc, char **argv);
int cr_cmd_submit(cr_config *cfg, int argc, char **argv);
int cr_cmd_hint(cr_config *cfg, int argc, char **argv);
int cr_cmd_solve(cr_config *cfg, int argc, char **argv);
int cr_cmd_events(cr_config *cfg, int argc, char **argv);
int cr_cmd_report(cr_config *cfg, int argc, char **argv);
int cr_cmd_serve(cr_config *cfg, int argc, char **argv);
int cr_cmd_teams(cr_config *cfg, int argc, char **argv);

#endif
