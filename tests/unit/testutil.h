/*
 * testutil.h: helpers shared by the unit tests: temporary folders, writing a
 * scenario from a string, paths to the fixtures and the source tree.
 * Every returned string is the caller's to free().
 */
#ifndef CRANGE_TESTUTIL_H
#define CRANGE_TESTUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* A fresh folder under $TMPDIR (or /tmp), removed by tu_rmtree. */
char *tu_tmpdir(void);
void tu_rmtree(const char *path);

/* Writes dir/relpath (creating parent folders) with the given text. */
void tu_write(const char *dir, const char *relpath, const char *text);

/* A scenario loaded from text written as scenario.lua in a fresh folder
 * (*dir, for tu_rmtree); fails the test when it does not load. */
struct cr_scenario;
struct cr_scenario *tu_scenario_from_text(char **dir, const char *text);

/* $CRANGE_FIXTURES/relpath and $CRANGE_SOURCE/relpath. */
char *tu_fixture(const char *relpath);
char *tu_source(const char *relpath);

/* Forks a child that takes the engine lock of RANGE in STATE_DIR
 * (engine.h) and holds it until killed; returns its pid once the lock is
 * held. The child dies with the test (PR_SET_PDEATHSIG) or after 120 s. */
pid_t tu_hold_engine_lock(const char *state_dir, const char *range);

#endif
