/*
 * testutil.h: helpers shared by the unit tests: temporary folders, writing a
 * scenario from a string, paths to the fixtures and the source tree.
 * Every returned string is the caller's to free().
 */
#ifndef CRANGE_TESTUTIL_H
#define CRANGE_TESTUTIL_H

#include <stddef.h>

/* A fresh folder under $TMPDIR (or /tmp), removed by tu_rmtree. */
char *tu_tmpdir(void);
void tu_rmtree(const char *path);

/* Writes dir/relpath (creating parent folders) with the given text. */
void tu_write(const char *dir, const char *relpath, const char *text);

/* $CRANGE_FIXTURES/relpath and $CRANGE_SOURCE/relpath. */
char *tu_fixture(const char *relpath);
char *tu_source(const char *relpath);

#endif
