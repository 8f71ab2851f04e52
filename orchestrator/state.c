/*
 * state.c: the range database of state.h on SQLite: schema migrations keyed
 * by PRAGMA user_version, prepared statements with bound parameters only,
 * the scenario snapshot (saved with the plan, restored for one team's
 * evaluation), and the per-range lock and archive.
 */
#include "state.h"

#include "err.h"
#include "log.h"
#include "paths.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct cr_state {
    sqlite3 *db;
};

/* Migrations, in order: entry i brings the schema from version i to i + 1.
 * Never edit a released entry; append a new one. */
static const char *const migrations[] = {
    /* 0 -> 1: the range, its scenario snapshot, the plan, the event log. */
    "CREATE TABLE range ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  name TEXT NOT NULL,"
    "  scenario_id TEXT NOT NULL,"
    "  scenario_dir TEXT NOT NULL,"
    "  scenario_digest TEXT NOT NULL,"
    "  title_ja TEXT, title_en TEXT,"
    "  teams INTEGER NOT NULL,"
    "  secret BLOB NOT NULL,"
    "  hosts TEXT NOT NULL,"
    "  accel TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL);"
    "CREATE TABLE scenario_files (path TEXT PRIMARY KEY, content BLOB NOT NULL);"
    "CREATE TABLE networks ("
    "  team INTEGER NOT NULL, name TEXT NOT NULL, libvirt_name TEXT NOT NULL,"
    "  bridge TEXT NOT NULL, cidr TEXT NOT NULL, host TEXT NOT NULL,"
    "  PRIMARY KEY (team, name));"
    "CREATE TABLE vms ("
    "  team INTEGER NOT NULL, name TEXT NOT NULL, domain TEXT NOT NULL, host TEXT NOT NULL,"
    "  image TEXT NOT NULL, entry INTEGER NOT NULL, nics TEXT NOT NULL,"
    "  PRIMARY KEY (team, name));"
    "CREATE TABLE vars ("
    "  team INTEGER NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, secret INTEGER NOT NULL,"
    "  PRIMARY KEY (team, name));"
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  time_ms INTEGER NOT NULL,"
    "  team INTEGER NOT NULL,"
    "  vm TEXT,"
    "  kind TEXT NOT NULL,"
    "  data TEXT);"
    "CREATE INDEX events_team_time ON events (team, time_ms);",
    /* 1 -> 2: scoring. An optional dedupe key makes an event insert
     * idempotent (a restarted engine re-sends what it already logged);
     * scores look events up by kind and team; the scenario's objectives and
     * flags, without their answers, so that scoreboards and reports need
     * nothing but this file. */
    "ALTER TABLE events ADD COLUMN dedupe TEXT;"
    "CREATE UNIQUE INDEX events_dedupe ON events (dedupe) WHERE dedupe IS NOT NULL;"
    "CREATE INDEX events_kind_team ON events (kind, team);"
    "CREATE TABLE content ("
    "  id TEXT PRIMARY KEY,"
    "  seq INTEGER NOT NULL,"
    "  kind TEXT NOT NULL CHECK (kind IN ('objective', 'flag')),"
    "  title_ja TEXT, title_en TEXT,"
    "  points INTEGER NOT NULL,"
    "  mode TEXT CHECK (mode IN ('once', 'hold')),"
    "  max_attempts INTEGER NOT NULL DEFAULT 0,"
    "  prereqs TEXT NOT NULL DEFAULT '[]',"
    "  hints TEXT NOT NULL DEFAULT '[]');",
    /* 2 -> 3: where the scenario came from (catalog entry and commit, git
     * work tree, or an uncommitted path and its content hash), as JSON. */
    "ALTER TABLE range ADD COLUMN provenance TEXT;",
    /* 3 -> 4: a VM's action lines by spool and seq. Without it, reading a
     * spool's last seq scanned every action of the VM: measured 62 ms a
     * line, growing with the table, for a guest that switched spool ids on
     * every line (all VMs share the collector's one thread). */
    "CREATE INDEX events_action_spool ON events"
    "  (team, vm, json_extract(data, '$.spool'), json_extract(data, '$.seq'))"
    "  WHERE kind IN ('action.command', 'action.status');",
    /* 4 -> 5: the tags of each objective and flag, JSON arrays of text:
     * the MITRE ATT&CK technique ids and the skills it teaches, so that
     * reports show each team's coverage from this file alone. */
    ("ALTER TABLE content ADD COLUMN attack TEXT NOT NULL DEFAULT '[]';"
     "ALTER TABLE content ADD COLUMN skills TEXT NOT NULL DEFAULT '[]';"),
};

static int db_error(sqlite3 *db, const char *what)
{
    return cr_error_set(CR_ERROR, "state database: %s: %s", what, sqlite3_errmsg(db));
}

static int exec_sql(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = cr_error_set(CR_ERROR, "state database: %s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

static int migrate(sqlite3 *db)
{
    sqlite3_stmt *q = NULL;
    int version = 0;
    if (sqlite3_prepare_v3(db, "PRAGMA user_version", -1, 0, &q, NULL) != SQLITE_OK)
        return db_error(db, "user_version");
    if (sqlite3_step(q) == SQLITE_ROW)
        version = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);

    int target = (int)(sizeof migrations / sizeof *migrations);
    if (version > target)
        return cr_error_set(CR_EINVAL,
                            "state database has schema version %d, newer than this crange knows (%d); upgrade crange",
                            version, target);
    for (; version < target; version++) {
        int rc = exec_sql(db, "BEGIN IMMEDIATE");
        if (rc == 0)
            rc = exec_sql(db, migrations[version]);
        if (rc == 0) {
            char pragma[64];
            snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", version + 1);
            rc = exec_sql(db, pragma);
        }
        if (rc == 0)
            rc = exec_sql(db, "COMMIT");
        if (rc < 0) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
    }
    return 0;
}

char *cr_range_dir(const char *state_dir, const char *range)
{
    return cr_xasprintf("%s/ranges/%s", state_dir, range);
}

char *cr_range_db_path(const char *state_dir, const char *range)
{
    return cr_xasprintf("%s/ranges/%s/range.db", state_dir, range);
}

/* ranges/ and ranges/<range>/, 0700 when made here: nothing QEMU opens lives
 * under them (overlays are in <state>/overlays/<range>, config.h), and they
 * hold the range databases. */
static int range_dir_make(const char *state_dir, const char *range)
{
    char *ranges = cr_path_join(state_dir, "ranges");
    char *dir = cr_range_dir(state_dir, range);
    int rc = cr_dir_make(state_dir, CR_STATE_DIR_MODE);
    if (rc == 0)
        rc = cr_dir_make(ranges, CR_PRIVATE_DIR_MODE);
    if (rc == 0)
        rc = cr_dir_make(dir, CR_PRIVATE_DIR_MODE);
    free(ranges);
    free(dir);
    return rc;
}

int cr_state_open_file(cr_state **out, const char *path, bool create)
{
    *out = NULL;
    if (!create && !cr_path_exists(path))
        return cr_error_set(CR_ENOTFOUND, "%s: no such state database", path);
    if (create) {
        /* SQLite would create the file 0644 (less the umask), and it gives
         * the -wal and -shm it makes later the database file's mode: made
         * 0600 first, none of the three is ever readable by others. An
         * existing file keeps its mode (`crange doctor` warns). */
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, CR_SECRET_FILE_MODE);
        if (fd >= 0)
            close(fd);
        else if (errno != EEXIST)
            return cr_error_set(CR_ERROR, "%s: %s", path, strerror(errno));
    }
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        int rc = cr_error_set(CR_ERROR, "%s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
        sqlite3_close_v2(db);
        return rc;
    }
    sqlite3_busy_timeout(db, 10000);
    int rc = exec_sql(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON");
    if (rc == 0)
        rc = migrate(db);
    if (rc < 0) {
        sqlite3_close_v2(db);
        return rc;
    }
    cr_state *st = cr_xcalloc(1, sizeof *st);
    st->db = db;
    *out = st;
    return 0;
}

int cr_state_open(cr_state **out, const char *state_dir, const char *range, bool create)
{
    *out = NULL;
    char *dir = cr_range_dir(state_dir, range);
    char *path = cr_range_db_path(state_dir, range);
    int rc = 0;
    if (!create && !cr_path_exists(path))
        rc = cr_error_set(CR_ENOTFOUND, "no range '%s' in %s", range, state_dir);
    else if (create)
        rc = range_dir_make(state_dir, range);
    if (rc == 0)
        rc = cr_state_open_file(out, path, create);
    free(dir);
    free(path);
    return rc;
}

void cr_state_close(cr_state *st)
{
    if (!st)
        return;
    sqlite3_close_v2(st->db);
    free(st);
}

sqlite3 *cr_state_db(cr_state *st)
{
    return st->db;
}

int cr_state_begin(cr_state *st)
{
    return exec_sql(st->db, "BEGIN IMMEDIATE");
}

int cr_state_commit(cr_state *st)
{
    return exec_sql(st->db, "COMMIT");
}

void cr_state_rollback(cr_state *st)
{
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

void cr_range_row_free(cr_range_row *r)
{
    if (!r)
        return;
    free(r->name);
    free(r->scenario_id);
    free(r->scenario_dir);
    free(r->scenario_digest);
    free(r->title_ja);
    free(r->title_en);
    free(r->hosts);
    free(r->accel);
    free(r->status);
    free(r->provenance);
    memset(r, 0, sizeof *r);
}

static char *col_text(sqlite3_stmt *q, int i)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    return t ? cr_xstrdup((const char *)t) : NULL;
}

int cr_state_get_range(cr_state *st, cr_range_row *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *q = NULL;
    const char *sql = "SELECT name, scenario_id, scenario_dir, scenario_digest, title_ja, title_en, teams,"
                      " secret, hosts, accel, status, created_ms, updated_ms, provenance FROM range WHERE id = 1";
    if (sqlite3_prepare_v3(st->db, sql, -1, 0, &q, NULL) != SQLITE_OK)
        return db_error(st->db, "read range");
    int rc = sqlite3_step(q);
    if (rc != SQLITE_ROW) {
        rc = rc == SQLITE_DONE ? cr_error_set(CR_ENOTFOUND, "state database holds no range")
                               : db_error(st->db, "read range");
        sqlite3_finalize(q);
        return rc;
    }
    /* Every team's values and login tokens derive from the secret: one of
     * another length (a damaged or hand-made file) would leave them derived
     * from a zero key, the same for every such range. */
    const void *secret = sqlite3_column_blob(q, 7);
    int secret_len = sqlite3_column_bytes(q, 7);
    if (!secret || secret_len != CR_SECRET_LEN) {
        const char *file = sqlite3_db_filename(st->db, "main");
        rc = cr_error_set(CR_EINVAL, "%s: the range secret is %d bytes, not %d; refusing a damaged range database",
                          file && *file ? file : "state database", secret_len, CR_SECRET_LEN);
        sqlite3_finalize(q);
        return rc;
    }
    out->name = col_text(q, 0);
    out->scenario_id = col_text(q, 1);
    out->scenario_dir = col_text(q, 2);
    out->scenario_digest = col_text(q, 3);
    out->title_ja = col_text(q, 4);
    out->title_en = col_text(q, 5);
    out->teams = sqlite3_column_int(q, 6);
    memcpy(out->secret, secret, CR_SECRET_LEN);
    out->hosts = col_text(q, 8);
    out->accel = col_text(q, 9);
    out->status = col_text(q, 10);
    out->created_ms = sqlite3_column_int64(q, 11);
    out->updated_ms = sqlite3_column_int64(q, 12);
    out->provenance = col_text(q, 13);
    sqlite3_finalize(q);
    return 0;
}

int cr_state_put_range(cr_state *st, const cr_range_row *r)
{
    sqlite3_stmt *q = NULL;
    const char *sql = "INSERT INTO range (id, name, scenario_id, scenario_dir, scenario_digest, title_ja, title_en,"
                      " teams, secret, hosts, accel, status, created_ms, updated_ms, provenance)"
                      " VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                      " ON CONFLICT (id) DO UPDATE SET name = excluded.name, scenario_id = excluded.scenario_id,"
                      " scenario_dir = excluded.scenario_dir, scenario_digest = excluded.scenario_digest,"
                      " title_ja = excluded.title_ja, title_en = excluded.title_en, teams = excluded.teams,"
                      " secret = excluded.secret, hosts = excluded.hosts, accel = excluded.accel,"
                      " status = excluded.status, updated_ms = excluded.updated_ms, provenance = excluded.provenance";
    if (sqlite3_prepare_v3(st->db, sql, -1, 0, &q, NULL) != SQLITE_OK)
        return db_error(st->db, "write range");
    sqlite3_bind_text(q, 1, r->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, r->scenario_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, r->scenario_dir, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, r->scenario_digest, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, r->title_ja, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 6, r->title_en, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 7, r->teams);
    sqlite3_bind_blob(q, 8, r->secret, CR_SECRET_LEN, SQLITE_STATIC);
    sqlite3_bind_text(q, 9, r->hosts, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 10, r->accel, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 11, r->status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 12, r->created_ms ? r->created_ms : cr_wall_ms());
    sqlite3_bind_int64(q, 13, cr_wall_ms());
    sqlite3_bind_text(q, 14, r->provenance, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q) == SQLITE_DONE ? 0 : db_error(st->db, "write range");
    sqlite3_finalize(q);
    return rc;
}

int cr_state_set_status(cr_state *st, const char *status)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v3(st->db, "UPDATE range SET status = ?, updated_ms = ? WHERE id = 1", -1, 0, &q, NULL) !=
        SQLITE_OK)
        return db_error(st->db, "set status");
    sqlite3_bind_text(q, 1, status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, cr_wall_ms());
    int rc = sqlite3_step(q) == SQLITE_DONE ? 0 : db_error(st->db, "set status");
    sqlite3_finalize(q);
    return rc;
}

/* Stores the scenario folder's files as cr_scenario_files_list gives them,
 * so that its link rules and size caps bound what range.db takes. A link is
 * stored as a copy of its file under the link's name; a link to nothing
 * (which the listing allows) has nothing to store and is left out. */
static int snapshot_files(sqlite3 *db, sqlite3_stmt *ins, const char *dir)
{
    cr_scenario_files fl;
    int rc = cr_scenario_files_list(&fl, dir);
    for (size_t i = 0; rc == 0 && i < fl.n; i++) {
        const cr_scenario_file *f = &fl.files[i];
        char *data = NULL;
        size_t len = 0;
        if (!f->has_content)
            continue;
        rc = cr_scenario_file_read(&data, &len, dir, f);
        if (rc == 0) {
            sqlite3_reset(ins);
            sqlite3_bind_text(ins, 1, f->path, -1, SQLITE_STATIC);
            /* len is within CR_SCENARIO_MAX_FILE_BYTES: it fits an int. */
            sqlite3_bind_blob(ins, 2, data, (int)len, SQLITE_STATIC);
            if (sqlite3_step(ins) != SQLITE_DONE)
                rc = db_error(db, "snapshot scenario");
        }
        free(data);
    }
    cr_scenario_files_clear(&fl);
    return rc;
}

int cr_state_team_hosts(char ***hosts, cr_state *st, size_t n_teams)
{
    *hosts = cr_xcalloc(n_teams ? n_teams : 1, sizeof **hosts);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v3(st->db, "SELECT team, host FROM vms ORDER BY team, rowid", -1, 0, &q, NULL) != SQLITE_OK)
        return cr_error_set(CR_ERROR, "range database: %s", sqlite3_errmsg(st->db));
    int rc = 0, step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        int team = sqlite3_column_int(q, 0);
        const char *host = (const char *)sqlite3_column_text(q, 1);
        if (team >= 1 && (size_t)team <= n_teams && host && !(*hosts)[team - 1])
            (*hosts)[team - 1] = cr_xstrdup(host);
    }
    if (step != SQLITE_DONE)
        rc = cr_error_set(CR_ERROR, "range database: %s", sqlite3_errmsg(st->db));
    sqlite3_finalize(q);
    return rc;
}

int cr_state_save_plan(cr_state *st, const cr_plan *p)
{
    sqlite3 *db = st->db;
    sqlite3_stmt *qf = NULL, *qn = NULL, *qv = NULL, *qr = NULL;
    int rc = exec_sql(db, "DELETE FROM scenario_files; DELETE FROM networks; DELETE FROM vms; DELETE FROM vars");
    if (rc < 0)
        return rc;
    if (sqlite3_prepare_v3(db, "INSERT INTO scenario_files (path, content) VALUES (?, ?)", -1, 0, &qf, NULL) ||
        sqlite3_prepare_v3(db, "INSERT OR IGNORE INTO networks VALUES (?, ?, ?, ?, ?, ?)", -1, 0, &qn, NULL) ||
        sqlite3_prepare_v3(db, "INSERT INTO vms VALUES (?, ?, ?, ?, ?, ?, ?)", -1, 0, &qv, NULL) ||
        sqlite3_prepare_v3(db, "INSERT INTO vars VALUES (?, ?, ?, ?)", -1, 0, &qr, NULL)) {
        rc = db_error(db, "save plan");
        goto cleanup;
    }
    rc = snapshot_files(db, qf, p->scenario->dir);
    for (size_t i = 0; rc == 0 && i < p->n_nets; i++) {
        const cr_plan_net *n = &p->nets[i];
        char addr[16];
        cr_ipv4_format(addr, n->net->addr);
        char *cidr = cr_xasprintf("%s/%d", addr, n->net->prefix);
        sqlite3_reset(qn);
        sqlite3_bind_int(qn, 1, n->team);
        sqlite3_bind_text(qn, 2, n->net->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(qn, 3, n->libvirt_name, -1, SQLITE_STATIC);
        sqlite3_bind_text(qn, 4, n->bridge, -1, SQLITE_STATIC);
        sqlite3_bind_text(qn, 5, cidr, -1, SQLITE_STATIC);
        sqlite3_bind_text(qn, 6, p->hosts[n->host], -1, SQLITE_STATIC);
        if (sqlite3_step(qn) != SQLITE_DONE)
            rc = db_error(db, "save networks");
        free(cidr);
    }
    for (size_t i = 0; rc == 0 && i < p->n_vms; i++) {
        const cr_plan_vm *v = &p->vms[i];
        json_t *nics = json_array();
        for (size_t k = 0; k < v->n_nics; k++) {
            char addr[16] = "";
            if (v->nics[k].nic->addr)
                cr_ipv4_format(addr, v->nics[k].nic->addr);
            json_array_append_new(nics, json_pack("{s:s, s:s, s:s, s:i}", "network", v->nics[k].nic->network, "mac",
                                                  v->nics[k].mac, "address", addr, "prefix",
                                                  v->nics[k].pnet->net->prefix));
        }
        char *nics_text = json_dumps(nics, JSON_COMPACT);
        json_decref(nics);
        sqlite3_reset(qv);
        sqlite3_bind_int(qv, 1, v->team);
        sqlite3_bind_text(qv, 2, v->vm->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(qv, 3, v->domain, -1, SQLITE_STATIC);
        sqlite3_bind_text(qv, 4, p->hosts[v->host], -1, SQLITE_STATIC);
        sqlite3_bind_text(qv, 5, v->vm->image, -1, SQLITE_STATIC);
        sqlite3_bind_int(qv, 6, v->vm->entry);
        sqlite3_bind_text(qv, 7, nics_text, -1, SQLITE_STATIC);
        if (sqlite3_step(qv) != SQLITE_DONE)
            rc = db_error(db, "save vms");
        free(nics_text);
    }
    for (size_t t = 0; rc == 0 && t < p->scenario->n_teams; t++) {
        const cr_team_model *tm = &p->scenario->teams[t];
        for (size_t i = 0; rc == 0 && i < tm->n_vars; i++) {
            sqlite3_reset(qr);
            sqlite3_bind_int(qr, 1, tm->number);
            sqlite3_bind_text(qr, 2, tm->vars[i].name, -1, SQLITE_STATIC);
            sqlite3_bind_text(qr, 3, tm->vars[i].value, -1, SQLITE_STATIC);
            sqlite3_bind_int(qr, 4, tm->vars[i].secret);
            if (sqlite3_step(qr) != SQLITE_DONE)
                rc = db_error(db, "save vars");
        }
    }
cleanup:
    sqlite3_finalize(qf);
    sqlite3_finalize(qn);
    sqlite3_finalize(qv);
    sqlite3_finalize(qr);
    return rc;
}

/* ---- Restoring the snapshot -------------------------------------------- */

/*
 * Why a stored path is refused, or NULL when it is one snapshot_files could
 * have written: relative, components separated by single slashes, none empty
 * or starting with '.' (cr_scenario_files_list skips dot names, so "." and
 * ".." never occur). The table may come from someone else's range.db, so this is what
 * keeps every file inside the restore folder: with no ".." and no leading
 * '/', and no symlink ever created there, a path cannot leave it.
 */
static const char *snapshot_path_problem(const char *path, size_t len)
{
    if (len == 0)
        return "it is empty";
    if (strlen(path) != len)
        return "it holds a NUL byte";
    if (len >= PATH_MAX)
        return "it is too long";
    if (path[0] == '/')
        return "it is absolute";
    for (const char *c = path; *c;) {
        const char *end = strchr(c, '/');
        size_t n = end ? (size_t)(end - c) : strlen(c);
        if (n == 0)
            return "it has an empty component";
        if (n == 2 && c[0] == '.' && c[1] == '.')
            return "it has a '..' component";
        if (c[0] == '.')
            return "it has a component starting with '.'";
        if (n > NAME_MAX)
            return "a component is too long";
        if (!end)
            break;
        c = end + 1;
        if (!*c)
            return "it ends with '/'";
    }
    return NULL;
}

/* PATH as it goes into a one-line message: control bytes become '?'. */
static char *printable(const char *path)
{
    char *p = cr_xstrdup(path);
    for (char *c = p; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    return p;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Creates ROOT/PATH (already checked) with DATA, making its folders. Every
 * step is relative to a folder descriptor and refuses to follow a symlink,
 * so nothing outside ROOT is touched even if the folder were tampered with
 * while we write. */
static int restore_file(int root, const char *path, const void *data, size_t len)
{
    int rc = 0, dfd = root, fd = -1;
    char *rel = cr_xstrdup(path), *comp = rel, *slash;
    const char *what = "open";
    while ((slash = strchr(comp, '/'))) {
        *slash = '\0';
        if (mkdirat(dfd, comp, 0700) < 0 && errno != EEXIST) {
            what = "mkdir";
            goto fail;
        }
        int next = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0)
            goto fail;
        if (dfd != root)
            close(dfd);
        dfd = next;
        comp = slash + 1;
    }
    fd = openat(dfd, comp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        goto fail;
    what = "write";
    if (write_all(fd, data, len) < 0)
        goto fail;
    int closed = close(fd);
    fd = -1;
    if (closed < 0)
        goto fail;
    goto cleanup;
fail: {
    int err = errno;
    char *shown = printable(path);
    rc = cr_error_set(CR_ERROR, "scenario snapshot: %s %s: %s", what, shown, strerror(err));
    free(shown);
}
cleanup:
    if (fd >= 0)
        close(fd);
    if (dfd != root)
        close(dfd);
    free(rel);
    return rc;
}

int cr_state_snapshot_restore(char **dir, cr_state *st, const char *parent)
{
    int rc = 0, root = -1;
    size_t files = 0;
    sqlite3_stmt *q = NULL;
    char *tmp = NULL;
    *dir = NULL;
    if (!parent) {
        parent = getenv("TMPDIR");
        if (!parent || !*parent)
            parent = "/tmp";
    }
    if (sqlite3_prepare_v3(st->db, "SELECT path, content FROM scenario_files ORDER BY path", -1, 0, &q, NULL) !=
        SQLITE_OK) {
        rc = db_error(st->db, "read scenario snapshot");
        goto cleanup;
    }
    /* mkdtemp makes the folder 0700: the snapshot holds the answers. */
    tmp = cr_xasprintf("%s/crange-scenario-XXXXXX", parent);
    if (!mkdtemp(tmp)) {
        rc = cr_error_set(CR_ERROR, "%s: %s", tmp, strerror(errno));
        free(tmp);
        tmp = NULL;
        goto cleanup;
    }
    root = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (root < 0) {
        rc = cr_error_set(CR_ERROR, "%s: %s", tmp, strerror(errno));
        goto cleanup;
    }
    int step = SQLITE_DONE;
    while (rc == 0 && (step = sqlite3_step(q)) == SQLITE_ROW) {
        const char *path = (const char *)sqlite3_column_text(q, 0);
        size_t plen = (size_t)sqlite3_column_bytes(q, 0);
        const void *data = sqlite3_column_blob(q, 1);
        size_t len = (size_t)sqlite3_column_bytes(q, 1);
        const char *problem = path ? snapshot_path_problem(path, plen) : "it is NULL";
        if (problem) {
            char *shown = printable(path ? path : "");
            rc = cr_error_set(CR_EINVAL, "scenario snapshot: refusing the stored path '%s': %s", shown, problem);
            free(shown);
        } else {
            rc = restore_file(root, path, data ? data : "", data ? len : 0);
            files++;
        }
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = db_error(st->db, "read scenario snapshot");
    if (rc == 0 && files == 0)
        rc = cr_error_set(CR_ENOTFOUND, "state database holds no scenario snapshot");
cleanup:
    if (root >= 0)
        close(root);
    sqlite3_finalize(q);
    if (rc < 0 && tmp) {
        /* Leave nothing behind; the message already says what failed. */
        cr_rm_rf(tmp);
        free(tmp);
        tmp = NULL;
    }
    *dir = tmp;
    return rc;
}

int cr_state_scenario_load(cr_scenario **out, cr_state *st, const cr_load_opts *opts)
{
    char *tmp = NULL;
    cr_range_row row;
    *out = NULL;
    int rc = cr_state_get_range(st, &row);
    if (rc == 0)
        rc = cr_state_snapshot_restore(&tmp, st, NULL);
    if (rc == 0)
        rc = cr_scenario_load(out, tmp, opts);
    if (tmp && cr_rm_rf(tmp) < 0) {
        /* A private copy of the answers is left in TMPDIR: say so, without
         * failing the command or touching the message of a failed load. */
        if (rc == 0) {
            cr_log_warn("%s", cr_error_message());
            cr_error_clear();
        } else {
            cr_log_warn("%s: cannot remove the restored scenario snapshot", tmp);
        }
    }
    if (rc == 0) {
        /* The temporary folder is gone: the model names the folder recorded
         * at up, which the snapshot is a copy of. */
        free((*out)->dir);
        (*out)->dir = cr_xstrdup(row.scenario_dir);
        char digest[65];
        cr_hex(digest, (*out)->digest, sizeof (*out)->digest);
        if (strcmp(digest, row.scenario_digest))
            cr_log_warn("range '%s': the scenario snapshot in its database does not match the digest recorded at "
                        "up (a symlink in the folder is stored as the file it points to)",
                        row.name);
    }
    free(tmp);
    cr_range_row_free(&row);
    return rc;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int cr_state_list_ranges(char ***names, size_t *n, const char *state_dir)
{
    *names = NULL;
    *n = 0;
    size_t cap = 0;
    char *dir = cr_path_join(state_dir, "ranges");
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char *db = cr_range_db_path(state_dir, e->d_name);
            if (cr_path_exists(db)) {
                cr_grow(names, &cap, *n + 1, sizeof **names);
                (*names)[(*n)++] = cr_xstrdup(e->d_name);
            }
            free(db);
        }
        closedir(d);
    }
    free(dir);
    if (*n)
        qsort(*names, *n, sizeof **names, cmp_names);
    return 0;
}

int cr_state_archive(const char *state_dir, const char *range, char **archived)
{
    if (archived)
        *archived = NULL;
    char *src = cr_range_db_path(state_dir, range);
    char *rdir = cr_range_dir(state_dir, range);
    char *adir = cr_path_join(state_dir, "archive");
    char when[32];
    cr_iso8601(when, cr_wall_ms());
    for (char *c = when; *c; c++)
        if (*c == ':')
            *c = '-';
    char *dst = cr_xasprintf("%s/%s-%s.db", adir, range, when);
    int rc = 0;
    if (cr_path_exists(src)) {
        /* Fold the WAL into the main file so the archive is one file. */
        cr_state *st = NULL;
        if (cr_state_open_file(&st, src, false) == 0)
            exec_sql(st->db, "PRAGMA wal_checkpoint(TRUNCATE)");
        cr_state_close(st);
        cr_error_clear();
        /* The archive keeps the database's 0600, in a folder only root
         * can enter: it still holds the secret and the answers. */
        rc = cr_dir_make(adir, CR_PRIVATE_DIR_MODE);
        if (rc == 0 && rename(src, dst) < 0)
            rc = cr_error_set(CR_ERROR, "archive %s: %s", src, strerror(errno));
        if (rc == 0 && archived)
            *archived = cr_xstrdup(dst);
    }
    if (rc == 0)
        rc = cr_rm_rf(rdir);
    free(src);
    free(rdir);
    free(adir);
    free(dst);
    return rc;
}

int cr_range_lock(int *fd, const char *state_dir, const char *range)
{
    *fd = -1;
    char *dir = cr_range_dir(state_dir, range);
    int rc = range_dir_make(state_dir, range);
    char *path = cr_path_join(dir, "lock");
    if (rc == 0) {
        int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (f < 0) {
            rc = cr_error_set(CR_ERROR, "%s: %s", path, strerror(errno));
        } else if (flock(f, LOCK_EX | LOCK_NB) < 0) {
            rc = errno == EWOULDBLOCK
                     ? cr_error_set(CR_EBUSY, "range '%s' is busy: another crange up or down is working on it", range)
                     : cr_error_set(CR_ERROR, "%s: %s", path, strerror(errno));
            close(f);
        } else {
            *fd = f;
        }
    }
    free(path);
    free(dir);
    return rc;
}

void cr_range_unlock(int fd)
{
    if (fd >= 0)
        close(fd);
}

/* ---- a database file from anywhere, read-only ------------------------- */

/* "file://" and the absolute path, %-encoded but for unreserved characters
 * and '/', so that a '?', '#' or '%' in a name stays part of the path. */
static char *readonly_uri(const char *abs, bool immutable)
{
    cr_buf b = {0};
    cr_buf_add(&b, "file://");
    for (const char *p = abs; *p; p++) {
        char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("/-._~", c))
            cr_buf_addn(&b, p, 1);
        else
            cr_buf_addf(&b, "%%%02X", (unsigned char)c);
    }
    cr_buf_add(&b, immutable ? "?mode=ro&immutable=1" : "?mode=ro");
    return cr_buf_steal(&b);
}

/*
 * What a hostile file must not get to do: run SQL of its own (views and
 * triggers in its schema are refused, not run), load an extension, or get
 * past the checks on corrupt pages. trusted_schema stays on: our own schema
 * indexes json_extract(), which SQLite 3.40 does not flag innocuous, so
 * with it off every crange database reads as "malformed". crange registers
 * no SQL functions, so a schema can only call SQLite's built-ins, which
 * have no side effects.
 */
static int readonly_harden(sqlite3 *db)
{
    sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, NULL);
    sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL);
    sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
    sqlite3_busy_timeout(db, 10000);
    return exec_sql(db, "PRAGMA cell_size_check = ON");
}

/* Copies db into a new in-memory database (*out) that may be migrated. */
static int readonly_copy(sqlite3 **out, sqlite3 *db, const char *path)
{
    sqlite3 *mem = NULL;
    *out = NULL;
    int rc = 0;
    if (sqlite3_open_v2(":memory:", &mem, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
        rc = cr_error_set(CR_ERROR, "%s: in-memory copy: %s", path, mem ? sqlite3_errmsg(mem) : "cannot open");
        sqlite3_close_v2(mem);
        return rc;
    }
    sqlite3_backup *bk = sqlite3_backup_init(mem, "main", db, "main");
    if (!bk) {
        rc = cr_error_set(CR_ERROR, "%s: in-memory copy: %s", path, sqlite3_errmsg(mem));
    } else {
        int step = sqlite3_backup_step(bk, -1);
        int fin = sqlite3_backup_finish(bk);
        if (step != SQLITE_DONE || fin != SQLITE_OK)
            rc = cr_error_set(CR_ERROR, "%s: in-memory copy: %s", path,
                              sqlite3_errstr(step != SQLITE_DONE ? step : fin));
    }
    if (rc == 0)
        rc = readonly_harden(mem);
    if (rc < 0)
        sqlite3_close_v2(mem);
    else
        *out = mem;
    return rc;
}

int cr_state_open_file_readonly(cr_state **out, const char *path)
{
    *out = NULL;
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    char *uri = NULL, *wal = NULL, *journal = NULL;
    int rc = 0, version = 0;
    int known = (int)(sizeof migrations / sizeof *migrations);
    char *abs = realpath(path, NULL);
    if (!abs) {
        rc = errno == ENOENT || errno == ENOTDIR ? cr_error_set(CR_ENOTFOUND, "%s: no such state database", path)
                                                : cr_error_set(CR_ERROR, "%s: %s", path, strerror(errno));
        goto cleanup;
    }
    /* Without a -wal or -journal beside it, the file is the whole database:
     * read it as immutable, so that SQLite neither locks it nor leaves -shm
     * and -wal files beside it (a read-only WAL reader does). With one, the
     * file may be a live range's, read through SQLite's locks. */
    wal = cr_xasprintf("%s-wal", abs);
    journal = cr_xasprintf("%s-journal", abs);
    uri = readonly_uri(abs, !cr_path_exists(wal) && !cr_path_exists(journal));
    if (sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_FULLMUTEX, NULL) !=
        SQLITE_OK) {
        rc = cr_error_set(CR_ERROR, "%s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
        goto cleanup;
    }
    rc = readonly_harden(db);
    if (rc < 0)
        goto cleanup;
    /* The first statement reads the header and the schema: a file that is
     * not SQLite, or whose schema does not parse, fails here. */
    if (sqlite3_prepare_v3(db, "PRAGMA user_version", -1, 0, &q, NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW) {
        rc = cr_error_set(CR_EINVAL, "%s: %s", path, sqlite3_errmsg(db));
        goto cleanup;
    }
    version = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    q = NULL;
    if (version <= 0) {
        rc = cr_error_set(CR_EINVAL, "%s: not a crange range database (schema version %d)", path, version);
        goto cleanup;
    }
    if (version > known) {
        rc = cr_error_set(CR_EINVAL, "%s: schema version %d is newer than this crange knows (%d); upgrade crange",
                          path, version, known);
        goto cleanup;
    }
    if (version < known) {
        /* An older crange's record: migrated in a copy in memory, never in
         * the file. */
        sqlite3 *mem = NULL;
        rc = readonly_copy(&mem, db, path);
        sqlite3_close_v2(db);
        db = mem;
        if (rc == 0)
            rc = migrate(db);
        if (rc < 0)
            goto cleanup;
    }
    rc = exec_sql(db, "PRAGMA query_only = ON");
cleanup:
    sqlite3_finalize(q);
    if (rc == 0) {
        cr_state *st = cr_xcalloc(1, sizeof *st);
        st->db = db;
        *out = st;
    } else {
        sqlite3_close_v2(db);
    }
    free(uri);
    free(wal);
    free(journal);
    free(abs);
    return rc;
}
