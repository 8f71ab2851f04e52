/*
 * proc.h: runs a helper program (an image recipe, qemu-img) without a shell.
 * crange never shells out for things a library does (libvirt, libgit2); this
 * is for the few external tools it drives on purpose.
 */
#ifndef CRANGE_PROC_H
#define CRANGE_PROC_H

#include <stddef.h>

/*
 * Runs argv (argv[0] searched in PATH). When out is not NULL, stdout is
 * captured into a new NUL-terminated string *out; else it goes to our stderr.
 * stderr is inherited unless err is given, in which case it is captured the
 * same way. Returns the exit status (>= 0), or a negative code with the
 * message set when the program could not run or was killed by a signal.
 */
int cr_proc_run(const char *const *argv, char **out, char **err);

#endif
