/*
 * state.h: the range database. Every range has its own SQLite file,
 * <state>/ranges/<range>/range.db, which is the whole record of the
 * exercise: the scenario's identity and files, the secret its per-team
 * values derive from, the resolved plan, and an append-only event log that
 * the scoring engine extends. Copy the file and you have everything.
 *
 * The database is a cache of intent, not the source of truth about what
 * exists: libvirt objects carry metadata, so up/down/status work without it.
 *
 * Concurrency: WAL, a busy timeout, BEGIN IMMEDIATE for writes. A range is
 * changed (up/down) by one process at a time, under cr_range_lock().
 *
 * Ownership: a cr_state owns its sqlite3 handle; cr_state_close accepts NULL.
 */
#ifndef CRANGE_STATE_H
#define CRANGE_STATE_H

#include "plan.h"
#include "scenario.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#define CR_STATE_SCHEMA_VERSION 5

typedef struct cr_state cr_state;

typedef struct cr_range_row {
    char *name;
    char *scenario_id;
    char *scenario_dir;
    char *scenario_digest;   /* hex */
    char *title_ja;
    char *title_en;
    int teams;
    unsigned char secret[CR_SECRET_LEN];
    char *hosts;             /* JSON array of libvirt URIs */
    char *accel;             /* "kvm" or "tcg" */
    char *status;            /* "creating", "up", "failed" */
    int64_t created_ms;
    int64_t updated_ms;
    char *provenance;        /* JSON object (catalog.h: cr_provenance_json), may be NULL */
} cr_range_row;

void cr_range_row_free(cr_range_row *r); /* frees the strings, not r */

/* Paths; each a new string. */
char *cr_range_dir(const char *state_dir, const char *range);
char *cr_range_db_path(const char *state_dir, const char *range);

/* Opens (creating when create is set) the range's database and migrates
 * it to CR_STATE_SCHEMA_VERSION. CR_ENOTFOUND when absent and !create.
 * Folders it makes are 0700 (ranges/, ranges/<range>/; paths.h). */
int cr_state_open(cr_state **out, const char *state_dir, const char *range, bool create);
/* Opens a database file directly (an archived or copied record). A file it
 * creates is 0600, and so are the -wal and -shm SQLite makes beside it (they
 * take the database file's mode); an existing file keeps its mode. */
int cr_state_open_file(cr_state **out, const char *path, bool create);
void cr_state_close(cr_state *st);
sqlite3 *cr_state_db(cr_state *st); /* borrowed; for modules with their own tables */

int cr_state_begin(cr_state *st); /* BEGIN IMMEDIATE */
int cr_state_commit(cr_state *st);
void cr_state_rollback(cr_state *st);

/* CR_ENOTFOUND when empty; CR_EINVAL, "PATH: the range secret is N bytes,
 * not 32; refusing a damaged range database", when the stored secret is not
 * CR_SECRET_LEN bytes. *out is zeroed on failure. */
int cr_state_get_range(cr_state *st, cr_range_row *out);
int cr_state_put_range(cr_state *st, const cr_range_row *r);
int cr_state_set_status(cr_state *st, const char *status);

/* Replaces the scenario snapshot and the plan rows (networks, vms, vars).
 * The snapshot is the folder's files as cr_scenario_files_list (scenario.h)
 * lists them, so its caps and link rules apply: CR_EINVAL, naming the entry,
 * when the folder no longer passes them. */
int cr_state_save_plan(cr_state *st, const cr_plan *p);

/* Where each team's VMs were placed, from the plan rows: (*hosts)[t] is the
 * libvirt URI of team t + 1, or NULL for a team the rows do not have. A new
 * array of n_teams new strings (cr_strv_free in hosts.h frees it). */
int cr_state_team_hosts(char ***hosts, cr_state *st, size_t n_teams);

/*
 * Restores the scenario snapshot that cr_state_save_plan stored into a new
 * folder made under PARENT (NULL: $TMPDIR, else /tmp), mode 0700 since it
 * holds the answers, files 0600. *dir gets its path; the caller removes it
 * (cr_rm_rf) and frees the string.
 *
 * The stored paths are not trusted (a range database may be copied from
 * anywhere, and the scenario is someone else's code): each must be relative,
 * made of non-empty components none of which starts with '.' (so no "..")
 * -- what cr_state_save_plan writes. Anything else fails the restore with
 * CR_EINVAL, "scenario snapshot: refusing the stored path '...': why", and
 * nothing is left behind. Returns 0, CR_ENOTFOUND (no snapshot), CR_EINVAL
 * or CR_ERROR; *dir is NULL on failure.
 */
int cr_state_snapshot_restore(char **dir, cr_state *st, const char *parent);

/*
 * Loads the range's scenario from its snapshot (cr_scenario_load on a
 * restored copy that is removed before returning), so the model is the one
 * the range was brought up with whatever became of its folder. opts as for
 * cr_scenario_load (the caller passes the range's teams and secret, and
 * only_team to evaluate one team). The model's dir is the folder recorded at
 * up, which may have changed or be gone. A snapshot whose digest differs
 * from the one recorded is loaded with a warning (symlinks are snapshotted
 * as the files they point to, so their digests differ).
 */
int cr_state_scenario_load(cr_scenario **out, cr_state *st, const cr_load_opts *opts);

/* Events are written and read by events.h, their one owner. */

/* Names of ranges with a database under state_dir, sorted (new array of new
 * strings; free each and the array). */
int cr_state_list_ranges(char ***names, size_t *n, const char *state_dir);

/* Moves the range's database to <state>/archive/<range>-<UTC time>.db (the
 * folder made 0700; the file keeps its mode) and removes the range folder.
 * *archived (may be NULL) gets the new path. */
int cr_state_archive(const char *state_dir, const char *range, char **archived);

/* Takes the range's lock (flock on ranges/<range>/lock), or fails with
 * CR_EBUSY naming the range. The lock dies with the process, so a kill -9
 * never leaves a range locked. *fd is closed by cr_range_unlock. */
int cr_range_lock(int *fd, const char *state_dir, const char *range);
void cr_range_unlock(int fd);

/*
 * Opens a database file from anywhere (`crange report FILE.db`: an archived
 * or copied record, perhaps hostile) for reading only. The file is never
 * written: no migration, no journal mode change, no -wal or -shm files left
 * beside it unless it already has a -wal or -journal (then it may be a live
 * range's, read through SQLite's locks). Views and triggers in its schema are
 * refused, not run, extensions cannot load, pages are checked
 * (cell_size_check) and the connection is query_only. A record of an
 * older schema is copied into memory and migrated there. Fails with
 * CR_ENOTFOUND when absent, CR_EINVAL "PATH: not a crange range database
 * (schema version N)" for version 0 (or below), and "PATH: schema version N
 * is newer than this crange knows (M); upgrade crange".
 */
int cr_state_open_file_readonly(cr_state **out, const char *path);

#endif
