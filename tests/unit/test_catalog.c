/*
 * test_catalog.c: the scenario catalog of catalog.h and its CLI glue
 * (cmd_catalog.h) against git repositories the test writes itself with
 * libgit2 (index, tree, commit; no git CLI, no network): adding from file://
 * URLs and plain paths, single- and multi-scenario repositories, pinning to a
 * branch, tag or commit, list and show, update (fast-forward, refusals),
 * remove, resolving catalog:NAME[/SUB] (also --at an older commit),
 * provenance of plain folders, and every bad input, each with its exact
 * one-line message and a catalog left byte-identical.
 *
 * Where the git token may go (cr_catalog_token_verdict) is checked on a table
 * of URLs, then against servers on 127.0.0.1 run by the test itself (killed
 * by PID in teardown): a plain-HTTP one written here that records every
 * Authorization header, and, when python3 and openssl are installed, an
 * HTTPS one with a throwaway certificate, to show the token does go to its
 * own host and not to another host or port, nor across a redirect.
 *
 * The CLI glue is called directly, with the real command table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "catalog.h"
#include "cli.h"
#include "cmd_catalog.h"
#include "err.h"
#include "scenario.h"
#include "testutil.h"
#include "util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <git2.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- Fixture: a temporary root with repos/ and state/ ------------------- */

typedef struct fx {
    char *root;
    char *repos;
    char *state;
    char *cat;
    pid_t server; /* a test's loopback server, killed in teardown; 0 for none */
} fx;

static int setup(void **state)
{
    fx *f = cr_xcalloc(1, sizeof *f);
    f->root = tu_tmpdir();
    f->repos = cr_path_join(f->root, "repos");
    f->state = cr_path_join(f->root, "state");
    f->cat = cr_path_join(f->state, "catalog");
    cr_mkdir_p(f->repos, 0755);
    cr_mkdir_p(f->state, 0755);
    git_libgit2_init();
    cr_error_clear();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    if (f->server > 0) {
        kill(f->server, SIGKILL);
        waitpid(f->server, NULL, 0);
    }
    unsetenv("CRANGE_GIT_TOKEN");
    unsetenv("CRANGE_GIT_TOKEN_HOST");
    unsetenv("CRANGE_GIT_USER");
    git_libgit2_shutdown();
    tu_rmtree(f->root);
    free(f->root);
    free(f->repos);
    free(f->state);
    free(f->cat);
    free(f);
    return 0;
}

/* ---- Writing repositories with libgit2 ----------------------------------- */

/* A file of a commit's tree; link makes a symlink whose target is content. */
typedef struct tfile {
    const char *path;
    const char *content;
    bool link;
} tfile;

#define GIT_OK(call)                                                                                               \
    do {                                                                                                           \
        int _g = (call);                                                                                           \
        if (_g < 0)                                                                                                \
            fail_msg("%s: %d %s", #call, _g, git_error_last() ? git_error_last()->message : "");                  \
    } while (0)

static char *repo_new(const fx *f, const char *name, bool bare)
{
    char *path = cr_path_join(f->repos, name);
    git_repository *r = NULL;
    git_repository_init_options o;
    git_repository_init_options_init(&o, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
    o.flags = GIT_REPOSITORY_INIT_MKPATH | (bare ? GIT_REPOSITORY_INIT_BARE : 0);
    o.initial_head = "main";
    GIT_OK(git_repository_init_ext(&r, path, &o));
    git_repository_free(r);
    return path;
}

static char *file_url(const char *path)
{
    return cr_xasprintf("file://%s", path);
}

/* Distinct commit times, so that equal trees and messages give new commits. */
static git_time_t next_time(void)
{
    static git_time_t t = 1700000000;
    return t += 60;
}

/*
 * Commits exactly FILES (a NULL-path-terminated list) to BRANCH of the bare
 * repository at PATH. Parent: the branch's tip, or with rewrite the given
 * PARENT (NULL: a root commit), and the branch is forced there: history
 * rewritten, as a force push does.
 */
static void commit_files(git_oid *out, const char *path, const char *branch, const tfile *files, const char *msg,
                         bool rewrite, const git_oid *parent)
{
    git_repository *r = NULL;
    git_index *idx = NULL;
    git_tree *tree = NULL;
    git_signature *sig = NULL;
    git_commit *p = NULL;
    git_reference *ref = NULL;
    git_oid tree_id, tip;
    char *refname = cr_xasprintf("refs/heads/%s", branch);
    GIT_OK(git_repository_open(&r, path));
    GIT_OK(git_repository_index(&idx, r));
    GIT_OK(git_index_clear(idx));
    for (const tfile *t = files; t->path; t++) {
        git_index_entry e;
        memset(&e, 0, sizeof e);
        e.mode = t->link ? GIT_FILEMODE_LINK : GIT_FILEMODE_BLOB;
        e.path = t->path;
        GIT_OK(git_index_add_from_buffer(idx, &e, t->content, strlen(t->content)));
    }
    GIT_OK(git_index_write_tree(&tree_id, idx));
    GIT_OK(git_tree_lookup(&tree, r, &tree_id));
    GIT_OK(git_signature_new(&sig, "Author", "author@example.org", next_time(), 540));
    if (rewrite) {
        if (parent)
            GIT_OK(git_commit_lookup(&p, r, parent));
    } else if (git_reference_name_to_id(&tip, r, refname) == 0) {
        GIT_OK(git_commit_lookup(&p, r, &tip));
    }
    const git_commit *parents[1] = {p};
    GIT_OK(git_commit_create(out, r, NULL, sig, sig, NULL, msg, tree, p ? 1 : 0, parents));
    GIT_OK(git_reference_create(&ref, r, refname, out, 1, "test"));
    git_reference_free(ref);
    git_commit_free(p);
    git_signature_free(sig);
    git_tree_free(tree);
    git_index_free(idx);
    git_repository_free(r);
    free(refname);
}

static void tag_annotated(const char *path, const char *name, const git_oid *commit)
{
    git_repository *r = NULL;
    git_object *c = NULL;
    git_signature *sig = NULL;
    git_oid tag;
    GIT_OK(git_repository_open(&r, path));
    GIT_OK(git_object_lookup(&c, r, commit, GIT_OBJECT_COMMIT));
    GIT_OK(git_signature_new(&sig, "Author", "author@example.org", next_time(), 0));
    GIT_OK(git_tag_create(&tag, r, name, c, sig, "release", 0));
    git_signature_free(sig);
    git_object_free(c);
    git_repository_free(r);
}

/* Commits everything in the work tree of the non-bare repository at PATH. */
static void commit_worktree(git_oid *out, const char *path, const char *msg)
{
    git_repository *r = NULL;
    git_index *idx = NULL;
    git_tree *tree = NULL;
    git_signature *sig = NULL;
    git_commit *p = NULL;
    git_oid tree_id, tip;
    GIT_OK(git_repository_open(&r, path));
    GIT_OK(git_repository_index(&idx, r));
    GIT_OK(git_index_add_all(idx, NULL, 0, NULL, NULL));
    GIT_OK(git_index_write(idx));
    GIT_OK(git_index_write_tree(&tree_id, idx));
    GIT_OK(git_tree_lookup(&tree, r, &tree_id));
    GIT_OK(git_signature_new(&sig, "Author", "author@example.org", next_time(), 0));
    if (git_reference_name_to_id(&tip, r, "HEAD") == 0)
        GIT_OK(git_commit_lookup(&p, r, &tip));
    const git_commit *parents[1] = {p};
    GIT_OK(git_commit_create(out, r, "HEAD", sig, sig, NULL, msg, tree, p ? 1 : 0, parents));
    git_commit_free(p);
    git_signature_free(sig);
    git_tree_free(tree);
    git_index_free(idx);
    git_repository_free(r);
}

static char *hex(const git_oid *oid)
{
    char *s = cr_xmalloc(GIT_OID_HEXSZ + 1);
    git_oid_tostr(s, GIT_OID_HEXSZ + 1, oid);
    return s;
}

/* ---- Scenario texts -------------------------------------------------------- */

/* A small valid scenario: one network and one VM of image "tiny". */
static char *scenario_text(const char *id, const char *title_en)
{
    return cr_xasprintf("scenario { id = \"%s\", title = { ja = \"題 %s\", en = \"%s\" },\n"
                        "  description = { ja = \"説明\", en = \"Description\" } }\n"
                        "local lan = network { name = \"lan\", cidr = \"10.0.0.0/24\" }\n"
                        "vm { name = \"box\", image = \"tiny\",\n"
                        "  nics = { { network = lan, address = lan:host(10) } } }\n",
                        id, title_en, title_en);
}

static const char BROKEN[] = "scenario { id = \"broken\", title = { ja = \"壊\", en = \"Broken\" },\n"
                             "  description = { ja = \"説明\", en = \"D\" } }\n"
                             "local = 1\n";

/* A bare repository with one scenario at its root, at refs/heads/main. */
static char *single_repo(const fx *f, const char *name, git_oid *commit)
{
    char *path = repo_new(f, name, true);
    char *text = scenario_text("single", "Single");
    tfile files[] = {{"scenario.lua", text, false}, {"README.md", "v1\n", false}, {NULL, NULL, false}};
    git_oid c;
    commit_files(commit ? commit : &c, path, "main", files, "First version\n\nWith a body.\n", false, NULL);
    free(text);
    return path;
}

/* A bare repository with scenarios/a and scenarios/b (and scenarios/common,
 * which holds no scenario.lua). */
static char *multi_repo(const fx *f, const char *name, git_oid *commit)
{
    char *path = repo_new(f, name, true);
    char *a = scenario_text("alpha", "Alpha"), *b = scenario_text("beta", "Beta");
    tfile files[] = {{"scenarios/a/scenario.lua", a, false},
                     {"scenarios/b/scenario.lua", b, false},
                     {"scenarios/b/files/motd", "hello\n", false},
                     {"scenarios/common/lib.lua", "return {}\n", false},
                     {"README.md", "labs\n", false},
                     {NULL, NULL, false}};
    git_oid c;
    commit_files(commit ? commit : &c, path, "main", files, "Two labs\n", false, NULL);
    free(a);
    free(b);
    return path;
}

/* ---- Observing the catalog -------------------------------------------------- */

static void snapshot_walk(cr_buf *b, const char *root, const char *rel, bool skip_git)
{
    char *dir = *rel ? cr_path_join(root, rel) : cr_xstrdup(root);
    DIR *d = opendir(dir);
    char *names[4096];
    size_t n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) && n < 4096)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            names[n++] = cr_xstrdup(e->d_name);
    if (d)
        closedir(d);
    for (size_t i = 0; i < n; i++)
        for (size_t k = i + 1; k < n; k++)
            if (strcmp(names[k], names[i]) < 0) {
                char *t = names[i];
                names[i] = names[k];
                names[k] = t;
            }
    for (size_t i = 0; i < n; i++) {
        char *child = *rel ? cr_xasprintf("%s/%s", rel, names[i]) : cr_xstrdup(names[i]);
        char *full = cr_path_join(root, child);
        struct stat st;
        bool skip = (!*rel && !strcmp(names[i], ".lock")) || (skip_git && !strcmp(names[i], ".git"));
        if (!skip && lstat(full, &st) == 0) {
            if (S_ISDIR(st.st_mode)) {
                cr_buf_addf(b, "d %s\n", child);
                snapshot_walk(b, root, child, skip_git);
            } else if (S_ISLNK(st.st_mode)) {
                char t[4096];
                ssize_t len = readlink(full, t, sizeof t - 1);
                t[len < 0 ? 0 : len] = '\0';
                cr_buf_addf(b, "l %s -> %s\n", child, t);
            } else {
                char *data = NULL;
                size_t len = 0;
                uint64_t h = 1469598103934665603ull;
                if (cr_read_file(&data, &len, full) == 0)
                    for (size_t k = 0; k < len; k++)
                        h = (h ^ (unsigned char)data[k]) * 1099511628211ull;
                free(data);
                cr_buf_addf(b, "f %s %zu %016llx\n", child, len, (unsigned long long)h);
            }
        }
        free(full);
        free(child);
        free(names[i]);
    }
    free(dir);
}

/* Every path under the catalog with its type and content hash (the lock
 * file aside). skip_git leaves out the clones' .git folders, which a fetch
 * changes even when the catalog refuses the result. */
static char *snapshot(const fx *f, bool skip_git)
{
    cr_buf b = {0};
    cr_buf_add(&b, "");
    snapshot_walk(&b, f->cat, "", skip_git);
    return cr_buf_steal(&b);
}

static char *read_text(const char *dir, const char *rel)
{
    char *path = cr_path_join(dir, rel), *data = NULL;
    size_t len;
    if (cr_read_file(&data, &len, path) < 0)
        fail_msg("%s: %s", path, cr_error_message());
    free(path);
    return data;
}

static cr_catalog_entry *add_ok(const fx *f, const char *source, const char *name, const char *ref)
{
    cr_catalog_entry *e = NULL;
    cr_error_clear();
    if (cr_catalog_add(&e, f->state, source, name, ref) < 0)
        fail_msg("add %s: %s", source, cr_error_message());
    return e;
}

/* The failure of an add: its code, its exact message (one line), and a
 * catalog byte-identical to before. */
static void add_fails(const fx *f, const char *source, const char *name, const char *ref, int code,
                      const char *message)
{
    char *before = snapshot(f, false);
    cr_catalog_entry *e = NULL;
    cr_error_clear();
    int rc = cr_catalog_add(&e, f->state, source, name, ref);
    assert_null(e);
    assert_int_equal(rc, code);
    assert_string_equal(cr_error_message(), message);
    assert_null(strchr(cr_error_message(), '\n'));
    char *after = snapshot(f, false);
    assert_string_equal(before, after);
    free(before);
    free(after);
    cr_error_clear();
}

/* ---- Add -------------------------------------------------------------------- */

static void test_add_from_file_url_pins_the_remote_head_branch(void **state)
{
    fx *f = *state;
    git_oid c;
    char *repo = single_repo(f, "single.git", &c), *url = file_url(repo), *want = hex(&c);
    cr_catalog_entry *e = add_ok(f, url, NULL, NULL);
    assert_string_equal(e->name, "single");
    assert_string_equal(e->url, url);
    assert_string_equal(e->ref, "main");
    assert_int_equal(e->ref_kind, CR_REF_BRANCH);
    assert_string_equal(e->commit, want);
    assert_string_equal(e->commit_message, "First version\n\nWith a body.\n");
    assert_int_equal(strlen(e->commit_time), 20);
    assert_int_equal(e->n_scenarios, 1);
    assert_null(e->scenarios[0].sub);
    assert_string_equal(e->scenarios[0].path, ".");
    assert_string_equal(e->scenarios[0].id, "single");
    assert_string_equal(e->scenarios[0].title.en, "Single");
    assert_string_equal(e->scenarios[0].title.ja, "題 Single");

    /* A normal work tree at the pinned commit, HEAD detached. */
    char *dir = cr_path_join(f->cat, "single");
    assert_string_equal(e->dir, dir);
    char *readme = read_text(dir, "README.md");
    assert_string_equal(readme, "v1\n");
    git_repository *r = NULL;
    git_oid head;
    GIT_OK(git_repository_open(&r, dir));
    assert_int_equal(git_repository_head_detached(r), 1);
    GIT_OK(git_reference_name_to_id(&head, r, "HEAD"));
    assert_true(git_oid_equal(&head, &c));
    git_repository_free(r);
    char *json = cr_path_join(f->cat, "single.json");
    assert_true(cr_path_exists(json));

    free(json);
    free(readme);
    free(dir);
    cr_catalog_entry_free(e);
    free(want);
    free(url);
    free(repo);
}

static void test_add_from_plain_path_of_a_work_tree_records_its_absolute_path(void **state)
{
    fx *f = *state;
    char *repo = repo_new(f, "author-lab", false);
    char *text = scenario_text("lab", "Lab");
    tu_write(repo, "scenario.lua", text);
    git_oid c;
    commit_worktree(&c, repo, "Lab\n");
    /* Uncommitted work is not part of what the catalog takes. */
    tu_write(repo, "README.md", "not committed\n");

    char *cwd = getcwd(NULL, 0);
    assert_int_equal(chdir(f->repos), 0);
    cr_catalog_entry *e = add_ok(f, "./author-lab", NULL, NULL);
    assert_int_equal(chdir(cwd), 0);
    assert_string_equal(e->name, "author-lab");
    assert_string_equal(e->url, repo);
    assert_string_equal(e->ref, "main");
    char *want = hex(&c);
    assert_string_equal(e->commit, want);
    char *readme = cr_path_join(e->dir, "README.md");
    assert_false(cr_path_exists(readme));

    free(readme);
    free(want);
    cr_catalog_entry_free(e);
    free(cwd);
    free(text);
    free(repo);
}

static void test_add_multi_scenario_repository_finds_each_scenario(void **state)
{
    fx *f = *state;
    char *repo = multi_repo(f, "labs.git", NULL), *url = file_url(repo);
    cr_catalog_entry *e = add_ok(f, url, "labs", NULL);
    assert_int_equal(e->n_scenarios, 2);
    assert_string_equal(e->scenarios[0].sub, "a");
    assert_string_equal(e->scenarios[0].path, "scenarios/a");
    assert_string_equal(e->scenarios[0].id, "alpha");
    assert_string_equal(e->scenarios[1].sub, "b");
    assert_string_equal(e->scenarios[1].id, "beta");
    assert_string_equal(e->scenarios[1].title.ja, "題 Beta");
    cr_catalog_entry_free(e);
    free(url);
    free(repo);
}

static void test_add_pins_a_branch_a_tag_or_a_commit(void **state)
{
    fx *f = *state;
    git_oid c1, c2, dev;
    char *repo = single_repo(f, "pins.git", &c1), *url = file_url(repo);
    char *text = scenario_text("single", "Second");
    tfile v2[] = {{"scenario.lua", text, false}, {"README.md", "v2\n", false}, {NULL, NULL, false}};
    commit_files(&c2, repo, "main", v2, "Second\n", false, NULL);
    tfile d[] = {{"scenario.lua", text, false}, {"README.md", "dev\n", false}, {NULL, NULL, false}};
    commit_files(&dev, repo, "dev", d, "Dev\n", false, NULL);
    tag_annotated(repo, "v1", &c1);
    char *h1 = hex(&c1), *hdev = hex(&dev);

    cr_catalog_entry *b = add_ok(f, url, "on-dev", "dev");
    assert_int_equal(b->ref_kind, CR_REF_BRANCH);
    assert_string_equal(b->ref, "dev");
    assert_string_equal(b->commit, hdev);

    cr_catalog_entry *t = add_ok(f, url, "on-tag", "v1");
    assert_int_equal(t->ref_kind, CR_REF_TAG);
    assert_string_equal(t->ref, "v1");
    assert_string_equal(t->commit, h1); /* the annotated tag, peeled */
    char *readme = read_text(t->dir, "README.md");
    assert_string_equal(readme, "v1\n");

    char abbrev[8];
    snprintf(abbrev, sizeof abbrev, "%.7s", h1);
    cr_catalog_entry *c = add_ok(f, url, "on-commit", abbrev);
    assert_int_equal(c->ref_kind, CR_REF_COMMIT);
    assert_string_equal(c->ref, h1);
    assert_string_equal(c->commit, h1);

    free(readme);
    cr_catalog_entry_free(b);
    cr_catalog_entry_free(t);
    cr_catalog_entry_free(c);
    free(h1);
    free(hdev);
    free(text);
    free(url);
    free(repo);
}

/* ---- List and get ------------------------------------------------------------ */

static void test_list_and_get_return_every_entry_with_its_scenarios(void **state)
{
    fx *f = *state;
    cr_catalog_entry **list = NULL;
    size_t n = 99;
    assert_int_equal(cr_catalog_list(&list, &n, f->state), 0); /* no catalog yet */
    assert_int_equal(n, 0);
    char *r1 = multi_repo(f, "labs.git", NULL), *r2 = single_repo(f, "single.git", NULL);
    char *u1 = file_url(r1), *u2 = file_url(r2);
    cr_catalog_entry_free(add_ok(f, u2, "zeta", NULL));
    cr_catalog_entry_free(add_ok(f, u1, NULL, NULL));

    assert_int_equal(cr_catalog_list(&list, &n, f->state), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0]->name, "labs");
    assert_string_equal(list[0]->url, u1);
    assert_int_equal(list[0]->n_scenarios, 2);
    assert_string_equal(list[1]->name, "zeta");
    assert_string_equal(list[1]->scenarios[0].title.en, "Single");

    json_t *j = cr_catalog_entry_json(list[0]);
    json_t *s1 = json_array_get(json_object_get(j, "scenarios"), 1);
    assert_string_equal(json_string_value(json_object_get(s1, "ref")), "catalog:labs/b");
    assert_string_equal(json_string_value(json_object_get(json_object_get(s1, "title"), "en")), "Beta");
    assert_string_equal(json_string_value(json_object_get(j, "ref_kind")), "branch");
    json_decref(j);

    cr_catalog_entry *e = NULL;
    assert_int_equal(cr_catalog_get(&e, f->state, "zeta"), 0);
    assert_string_equal(e->commit, list[1]->commit);
    cr_catalog_entry_free(e);
    cr_error_clear();
    assert_int_equal(cr_catalog_get(&e, f->state, "nope"), CR_ENOTFOUND);
    assert_string_equal(cr_error_message(), "no scenario repository 'nope' in the catalog (see crange scenario list)");
    cr_error_clear();

    cr_catalog_list_free(list, n);
    free(u1);
    free(u2);
    free(r1);
    free(r2);
}

/* ---- Update -------------------------------------------------------------------- */

static void test_update_fast_forwards_a_branch_pin(void **state)
{
    fx *f = *state;
    git_oid c1, c2;
    char *repo = single_repo(f, "ff.git", &c1), *url = file_url(repo);
    cr_catalog_entry *e = add_ok(f, url, NULL, NULL);
    cr_catalog_entry_free(e);

    char *text = scenario_text("single", "Renamed");
    tfile v2[] = {{"scenario.lua", text, false}, {"README.md", "v2\n", false}, {NULL, NULL, false}};
    commit_files(&c2, repo, "main", v2, "Rename\n", false, NULL);
    char *h1 = hex(&c1), *h2 = hex(&c2), *prev = NULL;
    cr_error_clear();
    if (cr_catalog_update(&e, &prev, f->state, "ff") < 0)
        fail_msg("update: %s", cr_error_message());
    assert_string_equal(prev, h1);
    assert_string_equal(e->commit, h2);
    assert_string_equal(e->commit_message, "Rename\n");
    assert_string_equal(e->scenarios[0].title.en, "Renamed");
    assert_string_equal(e->added_at, e->added_at);
    char *readme = read_text(e->dir, "README.md");
    assert_string_equal(readme, "v2\n");
    cr_catalog_entry_free(e);
    free(prev);

    /* Again: nothing new. */
    assert_int_equal(cr_catalog_update(&e, &prev, f->state, "ff"), 0);
    assert_string_equal(prev, h2);
    assert_string_equal(e->commit, h2);
    cr_catalog_entry *got = NULL;
    assert_int_equal(cr_catalog_get(&got, f->state, "ff"), 0);
    assert_string_equal(got->commit, h2);

    cr_catalog_entry_free(got);
    cr_catalog_entry_free(e);
    free(prev);
    free(readme);
    free(h1);
    free(h2);
    free(text);
    free(url);
    free(repo);
}

static void update_fails(const fx *f, const char *name, int code, const char *message)
{
    char *before = snapshot(f, true);
    cr_catalog_entry *e = NULL;
    char *prev = NULL;
    cr_error_clear();
    assert_int_equal(cr_catalog_update(&e, &prev, f->state, name), code);
    assert_null(e);
    assert_null(prev);
    assert_string_equal(cr_error_message(), message);
    char *after = snapshot(f, true);
    assert_string_equal(before, after);
    free(before);
    free(after);
    cr_error_clear();
}

static void test_update_refuses_tag_and_commit_pins(void **state)
{
    fx *f = *state;
    git_oid c1, c2;
    char *repo = single_repo(f, "fixed.git", &c1), *url = file_url(repo), *h1 = hex(&c1);
    tag_annotated(repo, "v1", &c1);
    cr_catalog_entry_free(add_ok(f, url, "tagged", "v1"));
    cr_catalog_entry_free(add_ok(f, url, "exact", h1));
    char *text = scenario_text("single", "Later");
    tfile v2[] = {{"scenario.lua", text, false}, {NULL, NULL, false}};
    commit_files(&c2, repo, "main", v2, "Later\n", false, NULL);

    char *msg = cr_xasprintf("'tagged' is pinned to tag 'v1' (commit %.12s), which does not move; re-add it with "
                             "another --ref",
                             h1);
    update_fails(f, "tagged", CR_EINVAL, msg);
    free(msg);
    msg = cr_xasprintf("'exact' is pinned to commit %.12s; re-add it with another --ref", h1);
    update_fails(f, "exact", CR_EINVAL, msg);
    free(msg);
    update_fails(f, "ghost", CR_ENOTFOUND, "no scenario repository 'ghost' in the catalog (see crange scenario list)");

    free(text);
    free(h1);
    free(url);
    free(repo);
}

static void test_update_refuses_rewritten_history_naming_both_commits(void **state)
{
    fx *f = *state;
    git_oid c1, c2, c3;
    char *repo = single_repo(f, "rewritten.git", &c1), *url = file_url(repo);
    char *text = scenario_text("single", "Two");
    tfile v2[] = {{"scenario.lua", text, false}, {NULL, NULL, false}};
    commit_files(&c2, repo, "main", v2, "Two\n", false, NULL);
    cr_catalog_entry_free(add_ok(f, url, "rw", NULL));
    /* A force push: main now ends in c3, whose parent is c1, not c2. */
    tfile v3[] = {{"scenario.lua", text, false}, {"NEW", "x\n", false}, {NULL, NULL, false}};
    commit_files(&c3, repo, "main", v3, "Rewritten\n", true, &c1);
    char *h2 = hex(&c2), *h3 = hex(&c3);
    char *msg = cr_xasprintf("cannot update 'rw': branch 'main' of %s was rewritten: the pinned commit %.12s is not an "
                             "ancestor of its new head %.12s; re-add it to accept the new history",
                             url, h2, h3);
    update_fails(f, "rw", CR_EINVAL, msg);
    cr_catalog_entry *e = NULL;
    assert_int_equal(cr_catalog_get(&e, f->state, "rw"), 0);
    assert_string_equal(e->commit, h2);

    cr_catalog_entry_free(e);
    free(msg);
    free(h2);
    free(h3);
    free(text);
    free(url);
    free(repo);
}

static void test_update_refuses_a_new_commit_that_does_not_validate(void **state)
{
    fx *f = *state;
    git_oid c1, c2;
    char *repo = multi_repo(f, "labs.git", &c1), *url = file_url(repo);
    cr_catalog_entry_free(add_ok(f, url, NULL, NULL));
    char *a = scenario_text("alpha", "Alpha");
    tfile v2[] = {{"scenarios/a/scenario.lua", a, false}, {"scenarios/broken/scenario.lua", BROKEN, false},
                  {NULL, NULL, false}};
    commit_files(&c2, repo, "main", v2, "Oops\n", false, NULL);
    update_fails(f, "labs", CR_EINVAL, "scenarios/broken/scenario.lua:3: <name> expected near '='");
    cr_catalog_entry *e = NULL;
    char *h1 = hex(&c1);
    assert_int_equal(cr_catalog_get(&e, f->state, "labs"), 0);
    assert_string_equal(e->commit, h1);
    assert_int_equal(e->n_scenarios, 2);
    cr_catalog_entry_free(e);
    free(h1);
    free(a);
    free(url);
    free(repo);
}

/* ---- Resolve -------------------------------------------------------------------- */

static void test_resolve_names_the_root_or_a_sub_scenario(void **state)
{
    fx *f = *state;
    git_oid c;
    char *r1 = multi_repo(f, "labs.git", &c), *r2 = single_repo(f, "single.git", NULL);
    char *u1 = file_url(r1), *u2 = file_url(r2), *want = hex(&c);
    cr_catalog_entry_free(add_ok(f, u1, NULL, NULL));
    cr_catalog_entry_free(add_ok(f, u2, NULL, NULL));

    char *dir = NULL;
    cr_provenance p = {0};
    assert_int_equal(cr_catalog_resolve(&dir, &p, f->state, "catalog:labs/b", NULL), 0);
    char *expect = cr_xasprintf("%s/labs/scenarios/b", f->cat);
    assert_string_equal(dir, expect);
    assert_int_equal(p.kind, CR_PROV_CATALOG);
    assert_string_equal(p.name, "labs");
    assert_string_equal(p.url, u1);
    assert_string_equal(p.ref, "main");
    assert_string_equal(p.commit, want);
    assert_string_equal(p.subpath, "scenarios/b");
    assert_false(p.dirty);
    char *line = cr_provenance_describe(&p);
    char *line_want = cr_xasprintf("catalog:labs/b at main (%.12s) from %s", want, u1);
    assert_string_equal(line, line_want);
    json_t *j = cr_provenance_json(&p);
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "catalog");
    assert_string_equal(json_string_value(json_object_get(j, "subpath")), "scenarios/b");
    json_decref(j);
    cr_scenario *s = NULL;
    cr_load_opts lo = {0};
    assert_int_equal(cr_scenario_load(&s, dir, &lo), 0);
    assert_string_equal(s->id, "beta");
    cr_scenario_free(s);
    cr_provenance_clear(&p);
    free(dir);

    assert_int_equal(cr_catalog_resolve(&dir, NULL, f->state, "catalog:single", NULL), 0);
    char *expect2 = cr_path_join(f->cat, "single");
    assert_string_equal(dir, expect2);
    free(dir);

    struct {
        const char *ref;
        int code;
        const char *msg;
    } bad[] = {
        {"catalog:labs", CR_EINVAL, "'labs' holds 2 scenarios; name one: catalog:labs/a, catalog:labs/b"},
        {"catalog:labs/zzz", CR_ENOTFOUND, "'labs' has no scenario 'zzz' (it holds catalog:labs/a, catalog:labs/b)"},
        {"catalog:nope", CR_ENOTFOUND, "no scenario repository 'nope' in the catalog (see crange scenario list)"},
        {"catalog:", CR_EINVAL, "bad catalog reference 'catalog:': expected catalog:NAME or catalog:NAME/SUB"},
        {"catalog:labs/a/b", CR_EINVAL,
         "bad catalog reference 'catalog:labs/a/b': expected catalog:NAME or catalog:NAME/SUB"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_error_clear();
        dir = NULL;
        assert_int_equal(cr_catalog_resolve(&dir, &p, f->state, bad[i].ref, NULL), bad[i].code);
        assert_null(dir);
        assert_string_equal(cr_error_message(), bad[i].msg);
    }
    cr_error_clear();
    assert_true(cr_catalog_is_ref("catalog:x"));
    assert_false(cr_catalog_is_ref("scenarios/demo"));

    free(expect2);
    free(line);
    free(line_want);
    free(expect);
    free(want);
    free(u1);
    free(u2);
    free(r1);
    free(r2);
}

static void test_resolve_at_an_older_commit_materialises_it_without_moving_the_pin(void **state)
{
    fx *f = *state;
    git_oid c1, c2;
    char *repo = single_repo(f, "hist.git", &c1), *url = file_url(repo);
    cr_catalog_entry_free(add_ok(f, url, NULL, NULL));
    char *text = scenario_text("single", "Newer");
    tfile v2[] = {{"scenario.lua", text, false}, {"README.md", "v2\n", false}, {NULL, NULL, false}};
    commit_files(&c2, repo, "main", v2, "Newer\n", false, NULL);
    cr_catalog_entry *e = NULL;
    char *prev = NULL;
    assert_int_equal(cr_catalog_update(&e, &prev, f->state, "hist"), 0);
    char *h1 = hex(&c1), *h2 = hex(&c2);

    char abbrev[10], *old = NULL, *cur = NULL;
    snprintf(abbrev, sizeof abbrev, "%.9s", h1);
    cr_provenance p = {0};
    cr_error_clear();
    if (cr_catalog_resolve(&old, &p, f->state, "catalog:hist", abbrev) < 0)
        fail_msg("resolve --at: %s", cr_error_message());
    char *expect = cr_xasprintf("%s/.at/hist-%s", f->cat, h1);
    assert_string_equal(old, expect);
    assert_string_equal(p.commit, h1);
    assert_string_equal(p.ref, abbrev);
    char *r_old = read_text(old, "README.md");
    assert_string_equal(r_old, "v1\n");
    char *git_dir = cr_path_join(old, ".git");
    assert_false(cr_path_exists(git_dir));
    cr_scenario *s = NULL;
    cr_load_opts lo = {0};
    assert_int_equal(cr_scenario_load(&s, old, &lo), 0);
    assert_string_equal(s->title.en, "Single");
    cr_scenario_free(s);
    cr_provenance_clear(&p);

    /* The pin did not move; the current folder still has the new content. */
    assert_int_equal(cr_catalog_resolve(&cur, &p, f->state, "catalog:hist", NULL), 0);
    assert_string_equal(p.commit, h2);
    char *r_cur = read_text(cur, "README.md");
    assert_string_equal(r_cur, "v2\n");
    cr_provenance_clear(&p);

    /* Cached: a second --at reuses the folder. */
    char *again = NULL;
    assert_int_equal(cr_catalog_resolve(&again, NULL, f->state, "catalog:hist", h1), 0);
    assert_string_equal(again, old);
    free(again);
    /* --at the pinned commit itself: a full copy too (the clone's HEAD is
     * already there, which must not make checkout skip any file). */
    assert_int_equal(cr_catalog_resolve(&again, NULL, f->state, "catalog:hist", h2), 0);
    char *r_same = read_text(again, "README.md"), *same_lua = cr_path_join(again, "scenario.lua");
    assert_string_equal(r_same, "v2\n");
    assert_true(cr_path_exists(same_lua));
    free(same_lua);
    free(r_same);
    free(again);
    cr_error_clear();
    assert_int_equal(cr_catalog_resolve(&again, NULL, f->state, "catalog:hist", "0000000"), CR_ENOTFOUND);
    assert_string_equal(cr_error_message(),
                        "'hist' has no commit '0000000' (crange scenario update hist fetches newer commits)");
    cr_error_clear();

    free(git_dir);
    free(r_old);
    free(r_cur);
    free(expect);
    free(old);
    free(cur);
    free(h1);
    free(h2);
    free(prev);
    cr_catalog_entry_free(e);
    free(text);
    free(url);
    free(repo);
}

static void test_resolve_checks_out_the_pin_again_after_hand_edits(void **state)
{
    fx *f = *state;
    char *repo = single_repo(f, "edited.git", NULL), *url = file_url(repo);
    cr_catalog_entry *e = add_ok(f, url, NULL, NULL);
    tu_write(e->dir, "README.md", "edited by hand\n");
    tu_write(e->dir, "stray.txt", "x\n");
    char *dir = NULL;
    assert_int_equal(cr_catalog_resolve(&dir, NULL, f->state, "catalog:edited", NULL), 0);
    char *readme = read_text(dir, "README.md");
    assert_string_equal(readme, "v1\n");
    char *stray = cr_path_join(dir, "stray.txt");
    assert_false(cr_path_exists(stray));
    free(stray);
    free(readme);
    free(dir);
    cr_catalog_entry_free(e);
    free(url);
    free(repo);
}

/* ---- Remove ---------------------------------------------------------------------- */

static void test_remove_deletes_entry_clone_and_materialised_commits(void **state)
{
    fx *f = *state;
    git_oid c1;
    char *r1 = single_repo(f, "gone.git", &c1), *r2 = single_repo(f, "kept.git", NULL);
    char *u1 = file_url(r1), *u2 = file_url(r2), *h1 = hex(&c1);
    cr_catalog_entry_free(add_ok(f, u1, NULL, NULL));
    cr_catalog_entry_free(add_ok(f, u2, NULL, NULL));
    char *dir = NULL;
    assert_int_equal(cr_catalog_resolve(&dir, NULL, f->state, "catalog:gone", h1), 0);
    assert_true(cr_is_dir(dir));

    assert_int_equal(cr_catalog_remove(f->state, "gone"), 0);
    char *json = cr_path_join(f->cat, "gone.json"), *clone = cr_path_join(f->cat, "gone");
    assert_false(cr_path_exists(json));
    assert_false(cr_path_exists(clone));
    assert_false(cr_path_exists(dir));
    cr_catalog_entry **list = NULL;
    size_t n = 0;
    assert_int_equal(cr_catalog_list(&list, &n, f->state), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0]->name, "kept");
    cr_catalog_list_free(list, n);

    cr_error_clear();
    assert_int_equal(cr_catalog_remove(f->state, "gone"), CR_ENOTFOUND);
    assert_string_equal(cr_error_message(), "no scenario repository 'gone' in the catalog (see crange scenario list)");
    cr_error_clear();
    /* The name is free again. */
    cr_catalog_entry_free(add_ok(f, u1, NULL, NULL));

    free(json);
    free(clone);
    free(dir);
    free(h1);
    free(u1);
    free(u2);
    free(r1);
    free(r2);
}

/* ---- Provenance of plain folders ---------------------------------------------------- */

static void test_provenance_inside_a_git_work_tree_is_clean_then_dirty(void **state)
{
    fx *f = *state;
    char *repo = repo_new(f, "work", false);
    char *a = scenario_text("alpha", "Alpha"), *b = scenario_text("beta", "Beta");
    tu_write(repo, "scenarios/a/scenario.lua", a);
    tu_write(repo, "scenarios/ab/scenario.lua", b);
    git_oid c;
    commit_worktree(&c, repo, "Labs\n");
    char *want = hex(&c), *dir = cr_path_join(repo, "scenarios/a");

    cr_provenance p = {0};
    assert_int_equal(cr_provenance_for_path(&p, dir, "00ff"), 0);
    assert_int_equal(p.kind, CR_PROV_GIT);
    assert_string_equal(p.commit, want);
    assert_string_equal(p.subpath, "scenarios/a");
    assert_string_equal(p.ref, "main");
    assert_null(p.url);
    assert_false(p.dirty);
    assert_string_equal(p.content_hash, "00ff");
    cr_provenance_clear(&p);

    /* A change next door (even in a folder whose name starts the same) is
     * not a change of this folder. */
    tu_write(repo, "scenarios/ab/scenario.lua", "-- edited\n");
    tu_write(repo, "README.md", "untracked\n");
    git_repository *r = NULL;
    git_remote *origin = NULL;
    GIT_OK(git_repository_open(&r, repo));
    GIT_OK(git_remote_create(&origin, r, "origin", "https://example.org/labs.git"));
    git_remote_free(origin);
    git_repository_free(r);
    assert_int_equal(cr_provenance_for_path(&p, dir, NULL), 0);
    assert_false(p.dirty);
    assert_string_equal(p.url, "https://example.org/labs.git");
    assert_null(p.content_hash);
    cr_provenance_clear(&p);

    /* A modified file, then an untracked one, inside the folder. */
    tu_write(repo, "scenarios/a/scenario.lua", "-- edited\n");
    assert_int_equal(cr_provenance_for_path(&p, dir, NULL), 0);
    assert_true(p.dirty);
    char *line = cr_provenance_describe(&p);
    char *line_want = cr_xasprintf("git https://example.org/labs.git, commit %.12s on main, folder scenarios/a, with "
                                   "uncommitted changes",
                                   want);
    assert_string_equal(line, line_want);
    json_t *j = cr_provenance_json(&p);
    assert_true(json_is_true(json_object_get(j, "dirty")));
    json_decref(j);
    cr_provenance_clear(&p);
    tu_write(repo, "scenarios/a/scenario.lua", a);
    assert_int_equal(cr_provenance_for_path(&p, dir, NULL), 0);
    assert_false(p.dirty);
    cr_provenance_clear(&p);
    tu_write(repo, "scenarios/a/files/new.txt", "new\n");
    assert_int_equal(cr_provenance_for_path(&p, dir, NULL), 0);
    assert_true(p.dirty);
    cr_provenance_clear(&p);

    /* The work tree's root is the folder ".". */
    assert_int_equal(cr_provenance_for_path(&p, repo, NULL), 0);
    assert_string_equal(p.subpath, ".");
    assert_true(p.dirty);
    cr_provenance_clear(&p);

    free(line);
    free(line_want);
    free(dir);
    free(want);
    free(a);
    free(b);
    free(repo);
}

static void test_provenance_outside_git_is_an_uncommitted_path(void **state)
{
    fx *f = *state;
    char *dir = cr_path_join(f->root, "plain");
    char *text = scenario_text("plain", "Plain");
    tu_write(dir, "scenario.lua", text);
    cr_provenance p = {0};
    assert_int_equal(cr_provenance_for_path(&p, dir, "abcdef0123456789abcdef"), 0);
    assert_int_equal(p.kind, CR_PROV_PATH);
    assert_null(p.commit);
    assert_null(p.url);
    assert_null(p.subpath);
    assert_string_equal(p.content_hash, "abcdef0123456789abcdef");
    char *line = cr_provenance_describe(&p);
    assert_string_equal(line, "uncommitted path, content abcdef012345");
    json_t *j = cr_provenance_json(&p);
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "path");
    assert_null(json_object_get(j, "dirty"));
    json_decref(j);
    cr_provenance_clear(&p);

    /* A repository without commits has nothing to point at. */
    char *empty = repo_new(f, "empty", false);
    assert_int_equal(cr_provenance_for_path(&p, empty, NULL), 0);
    assert_int_equal(p.kind, CR_PROV_PATH);
    cr_provenance_clear(&p);

    char *missing = cr_path_join(f->root, "missing");
    cr_error_clear();
    assert_int_equal(cr_provenance_for_path(&p, missing, NULL), CR_ENOTFOUND);
    char *msg = cr_xasprintf("'%s': no such directory", missing);
    assert_string_equal(cr_error_message(), msg);
    cr_error_clear();

    free(msg);
    free(missing);
    free(empty);
    free(line);
    free(text);
    free(dir);
}

/* ---- Bad input: one line, catalog unchanged ------------------------------------------ */

/* Each bad-input test starts from a catalog with one entry, so that
 * "unchanged" is about real content. */
static void seed(const fx *f)
{
    char *repo = single_repo(f, "seed.git", NULL), *url = file_url(repo);
    cr_catalog_entry_free(add_ok(f, url, NULL, NULL));
    free(url);
    free(repo);
}

static void test_add_unreachable_urls_are_refused(void **state)
{
    fx *f = *state;
    seed(f);
    add_fails(f, "file:///nonexistent/repo.git", NULL, NULL, CR_ERROR,
              "cannot clone file:///nonexistent/repo.git: failed to resolve path '/nonexistent/repo.git': No such "
              "file or directory");
    add_fails(f, "https://127.0.0.1:9/x.git", NULL, NULL, CR_ERROR,
              "cannot clone https://127.0.0.1:9/x.git: failed to connect to 127.0.0.1: Connection refused");
    add_fails(f, "ssh://git@127.0.0.1:9/x.git", NULL, NULL, CR_ERROR,
              "cannot clone ssh://git@127.0.0.1:9/x.git: failed to connect to 127.0.0.1: Connection refused");
}

static void test_add_path_that_is_not_a_repository_is_refused(void **state)
{
    fx *f = *state;
    seed(f);
    char *plain = cr_path_join(f->root, "plain");
    char *text = scenario_text("plain", "Plain");
    tu_write(plain, "scenario.lua", text);
    char *msg = cr_xasprintf("'%s' is not a git repository", plain);
    add_fails(f, plain, NULL, NULL, CR_EINVAL, msg);
    free(msg);
    char *missing = cr_path_join(f->root, "missing");
    msg = cr_xasprintf("'%s': no such directory", missing);
    add_fails(f, missing, NULL, NULL, CR_ENOTFOUND, msg);
    free(msg);
    char *url = cr_xasprintf("file://%s", plain);
    msg = cr_xasprintf("cannot clone %s: could not find repository from '%s'", url, plain);
    add_fails(f, url, NULL, NULL, CR_ERROR, msg);
    free(msg);
    free(url);
    free(missing);
    free(text);
    free(plain);
}

static void test_add_repository_without_scenario_is_refused(void **state)
{
    fx *f = *state;
    seed(f);
    char *repo = repo_new(f, "docs.git", true), *url = file_url(repo);
    tfile files[] = {{"README.md", "no scenario\n", false}, {"scenarios/x/notes.md", "-\n", false},
                     {NULL, NULL, false}};
    git_oid c;
    commit_files(&c, repo, "main", files, "Docs\n", false, NULL);
    char *msg = cr_xasprintf("%s holds no scenario: expected scenario.lua at its root or scenarios/NAME/scenario.lua",
                             url);
    add_fails(f, url, NULL, NULL, CR_EINVAL, msg);
    free(msg);

    char *empty = repo_new(f, "empty.git", true), *eurl = file_url(empty);
    msg = cr_xasprintf("%s has no commits", eurl);
    add_fails(f, eurl, NULL, NULL, CR_EINVAL, msg);
    free(msg);

    /* `git init --bare` names master; the author pushed main and dev. */
    char *odd = repo_new(f, "odd-head.git", true), *ourl = file_url(odd);
    char *text = scenario_text("odd", "Odd");
    tfile ok[] = {{"scenario.lua", text, false}, {NULL, NULL, false}};
    commit_files(&c, odd, "main", ok, "Main\n", false, NULL);
    commit_files(&c, odd, "dev", ok, "Dev\n", false, NULL);
    git_repository *r = NULL;
    git_reference *head = NULL;
    GIT_OK(git_repository_open(&r, odd));
    GIT_OK(git_reference_symbolic_create(&head, r, "HEAD", "refs/heads/master", 1, "test"));
    git_reference_free(head);
    git_repository_free(r);
    msg = cr_xasprintf("%s: its HEAD names no existing branch; choose one with --ref (dev, main)", ourl);
    add_fails(f, ourl, NULL, NULL, CR_EINVAL, msg);
    free(msg);
    cr_catalog_entry_free(add_ok(f, ourl, NULL, "main"));

    free(text);
    free(ourl);
    free(odd);
    free(eurl);
    free(empty);
    free(url);
    free(repo);
}

static void test_add_unknown_ref_is_refused(void **state)
{
    fx *f = *state;
    seed(f);
    char *repo = single_repo(f, "refs.git", NULL), *url = file_url(repo);
    const char *refs[] = {"nope", "deadbeef", "refs/tags/main", "../main"};
    for (size_t i = 0; i < sizeof refs / sizeof *refs; i++) {
        char *msg = cr_xasprintf("%s has no branch, tag or commit '%s'", url, refs[i]);
        add_fails(f, url, NULL, refs[i], CR_ENOTFOUND, msg);
        free(msg);
    }
    free(url);
    free(repo);
}

static void test_add_scenario_with_a_syntax_error_names_file_and_line(void **state)
{
    fx *f = *state;
    seed(f);
    char *repo = repo_new(f, "broken.git", true), *url = file_url(repo);
    char *a = scenario_text("alpha", "Alpha");
    tfile files[] = {{"scenarios/a/scenario.lua", a, false}, {"scenarios/x/scenario.lua", BROKEN, false},
                     {NULL, NULL, false}};
    git_oid c;
    commit_files(&c, repo, "main", files, "Broken\n", false, NULL);
    add_fails(f, url, NULL, NULL, CR_EINVAL, "scenarios/x/scenario.lua:3: <name> expected near '='");

    /* At the root, the file is just scenario.lua. */
    char *root = repo_new(f, "broken-root.git", true), *rurl = file_url(root);
    tfile rfiles[] = {{"scenario.lua", BROKEN, false}, {NULL, NULL, false}};
    commit_files(&c, root, "main", rfiles, "Broken\n", false, NULL);
    add_fails(f, rurl, NULL, NULL, CR_EINVAL, "scenario.lua:3: <name> expected near '='");

    /* A folder name catalog:NAME/SUB could not name. */
    char *odd = repo_new(f, "odd.git", true), *ourl = file_url(odd);
    tfile ofiles[] = {{"scenarios/My_Lab/scenario.lua", a, false}, {NULL, NULL, false}};
    commit_files(&c, odd, "main", ofiles, "Odd\n", false, NULL);
    add_fails(f, ourl, NULL, NULL, CR_EINVAL,
              "scenarios/My_Lab: a scenario folder's name must be a lowercase letter, then lowercase letters, digits "
              "or '-' (at most 31 characters), so that catalog:NAME/SUB can name it");

    free(ourl);
    free(odd);
    free(rurl);
    free(root);
    free(a);
    free(url);
    free(repo);
}

static void test_add_name_already_used_or_invalid_is_refused(void **state)
{
    fx *f = *state;
    seed(f);
    char *other = single_repo(f, "other.git", NULL), *url = file_url(other);
    char *seed_url = cr_xasprintf("file://%s/seed.git", f->repos);
    char *msg = cr_xasprintf("the catalog already has 'seed' (from %s); remove it first or choose another --name",
                             seed_url);
    add_fails(f, url, "seed", NULL, CR_EEXISTS, msg);
    add_fails(f, seed_url, NULL, NULL, CR_EEXISTS, msg);
    add_fails(f, url, "Bad_Name", NULL, CR_EINVAL,
              "bad catalog name 'Bad_Name': use a lowercase letter, then lowercase letters, digits or '-' (at most 31 "
              "characters, not ending in '-')");
    char *upper = repo_new(f, "Upper_Case.git", true), *uurl = file_url(upper);
    char *umsg = cr_xasprintf("cannot use 'Upper_Case' (from %s) as a catalog name; choose one with --name", uurl);
    add_fails(f, uurl, NULL, NULL, CR_EINVAL, umsg);
    free(umsg);
    free(uurl);
    free(upper);
    free(msg);
    free(seed_url);
    free(url);
    free(other);
}

static void test_add_symlink_outside_the_repository_into_git_or_looping_is_refused(void **state)
{
    fx *f = *state;
    seed(f);
    char *text = scenario_text("linky", "Links");
    struct {
        const char *name;
        tfile extra[3];
        const char *msg;
    } cases[] = {
        {"abs.git", {{"files/passwd", "/etc/passwd", true}}, "files/passwd: symlink to '/etc/passwd' points outside "
                                                             "the repository"},
        {"up.git", {{"files/up", "../../..", true}}, "files/up: symlink to '../../..' points outside the repository"},
        /* Lexically inside, but d is the root itself, so d/.. is its parent. */
        {"dotdot.git",
         {{"d", ".", true}, {"files/e", "../d/../x", true}},
         "files/e: symlink to '../d/../x' points outside the repository"},
        /* The clone's .git holds its configuration and hooks. */
        {"intogit.git", {{"files/cfg", "../.git/config", true}}, "files/cfg: symlink to '../.git/config' points into "
                                                                  ".git/"},
        {"loop.git", {{"files/self", "self", true}}, "files/self: symlink to 'self' loops (more than 40 links to "
                                                     "follow)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *repo = repo_new(f, cases[i].name, true), *url = file_url(repo);
        tfile files[5] = {{"scenario.lua", text, false}};
        for (int k = 0; k < 3 && cases[i].extra[k].path; k++)
            files[1 + k] = cases[i].extra[k];
        git_oid c;
        commit_files(&c, repo, "main", files, "Links\n", false, NULL);
        add_fails(f, url, NULL, NULL, CR_EINVAL, cases[i].msg);
        free(url);
        free(repo);
    }
    /* Links that stay inside are fine. */
    char *repo = repo_new(f, "inside.git", true), *url = file_url(repo);
    tfile files[] = {{"scenario.lua", text, false},
                     {"files/real.txt", "x\n", false},
                     {"files/alias.txt", "real.txt", true},
                     {"files/loop", "../files/./real.txt", true},
                     {"dangling", "files/not-yet", true},
                     {NULL, NULL, false}};
    git_oid c;
    commit_files(&c, repo, "main", files, "Links\n", false, NULL);
    cr_catalog_entry_free(add_ok(f, url, NULL, NULL));
    free(url);
    free(repo);
    free(text);
}

/* ---- CLI glue -------------------------------------------------------------------------- */

/* Runs a command with stdout and stderr captured into *out and *err. */
static int run_cli(const fx *f, cr_cmd_fn fn, bool json, char **out, char **err, int argc, char **argv)
{
    cr_config cfg = {.state_dir = f->state, .json = json};
    char *po = cr_path_join(f->root, "stdout"), *pe = cr_path_join(f->root, "stderr");
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    int fo = open(po, O_WRONLY | O_CREAT | O_TRUNC, 0644), fe = open(pe, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fo, 1);
    dup2(fe, 2);
    close(fo);
    close(fe);
    cr_error_clear();
    int rc = fn(&cfg, argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    size_t len;
    assert_int_equal(cr_read_file(out, &len, po), 0);
    assert_int_equal(cr_read_file(err, &len, pe), 0);
    free(po);
    free(pe);
    cr_error_clear();
    return rc;
}

static void test_cli_add_list_show_update_remove(void **state)
{
    fx *f = *state;
    char *repo = multi_repo(f, "labs.git", NULL), *url = file_url(repo);
    char *out = NULL, *err = NULL;

    char *add[] = {url, (char *)"--name", (char *)"labs"};
    assert_int_equal(run_cli(f, cr_cmd_scenario_add, false, &out, &err, 3, add), CR_EXIT_OK);
    assert_string_equal(err, "");
    assert_non_null(strstr(out, "added labs: "));
    assert_non_null(strstr(out, "catalog:labs/b"));
    free(out);
    free(err);

    assert_int_equal(run_cli(f, cr_cmd_scenario_list, true, &out, &err, 0, NULL), CR_EXIT_OK);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    assert_non_null(j);
    assert_int_equal(json_array_size(j), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "name")), "labs");
    json_decref(j);
    free(out);
    free(err);

    char *show[] = {(char *)"labs"};
    assert_int_equal(run_cli(f, cr_cmd_scenario_show, false, &out, &err, 1, show), CR_EXIT_OK);
    assert_non_null(strstr(out, "message:  Two labs\n"));
    assert_non_null(strstr(out, "scenarios/a"));
    assert_non_null(strstr(out, "id alpha"));
    free(out);
    free(err);

    assert_int_equal(run_cli(f, cr_cmd_scenario_update, false, &out, &err, 1, show), CR_EXIT_OK);
    assert_non_null(strstr(out, "labs is up to date: main at "));
    free(out);
    free(err);

    /* A failure is one line on stderr, exit 1. */
    assert_int_equal(run_cli(f, cr_cmd_scenario_add, false, &out, &err, 3, add), CR_EXIT_FAIL);
    char *want = cr_xasprintf(
        "crange: the catalog already has 'labs' (from %s); remove it first or choose another --name\n", url);
    assert_string_equal(err, want);
    assert_string_equal(out, "");
    free(want);
    free(out);
    free(err);
    char *bad[] = {(char *)"file:///nonexistent/repo.git"};
    assert_int_equal(run_cli(f, cr_cmd_scenario_add, false, &out, &err, 1, bad), CR_EXIT_FAIL);
    assert_string_equal(err, "crange: cannot clone file:///nonexistent/repo.git: failed to resolve path "
                             "'/nonexistent/repo.git': No such file or directory\n");
    free(out);
    free(err);
    /* Usage errors exit 2. */
    assert_int_equal(run_cli(f, cr_cmd_scenario_show, false, &out, &err, 0, NULL), CR_EXIT_USAGE);
    assert_string_equal(err, "crange scenario show: expected one catalog NAME\nusage: crange scenario show NAME "
                             "[--json]\n");
    free(out);
    free(err);

    assert_int_equal(run_cli(f, cr_cmd_scenario_remove, false, &out, &err, 1, show), CR_EXIT_OK);
    assert_string_equal(out, "removed labs\n");
    free(out);
    free(err);
    assert_int_equal(run_cli(f, cr_cmd_scenario_list, false, &out, &err, 0, NULL), CR_EXIT_OK);
    assert_string_equal(out, "the catalog is empty; add a repository with: crange scenario add URL\n");
    free(out);
    free(err);

    free(url);
    free(repo);
}

/* ---- Where the git token may go ---------------------------------------------------- */

static const char *verdict_name(cr_token_verdict v)
{
    switch (v) {
    case CR_TOKEN_OFFER:
        return "offer";
    case CR_TOKEN_NO_HOST:
        return "no-host";
    case CR_TOKEN_BAD_HOST:
        return "bad-host";
    case CR_TOKEN_NOT_HTTPS:
        return "not-https";
    case CR_TOKEN_BAD_URL:
        return "bad-url";
    case CR_TOKEN_OTHER_HOST:
        return "other-host";
    }
    return "?";
}

static void test_token_is_offered_only_over_https_to_the_configured_host(void **state)
{
    (void)state;
    static const struct {
        const char *url, *host;
        cr_token_verdict want;
    } cases[] = {
        /* The configured host over https; case does not matter, the default port is 443. */
        {"https://git.example.org/labs.git", "git.example.org", CR_TOKEN_OFFER},
        {"https://git.example.org", "git.example.org", CR_TOKEN_OFFER},
        {"HTTPS://Git.Example.ORG/labs.git", "git.example.org", CR_TOKEN_OFFER},
        {"https://git.example.org/labs.git", "GIT.EXAMPLE.ORG", CR_TOKEN_OFFER},
        {"https://git.example.org:443/labs.git", "git.example.org", CR_TOKEN_OFFER},
        {"https://git.example.org/labs.git", "git.example.org:443", CR_TOKEN_OFFER},
        {"https://alice@git.example.org/labs.git", "git.example.org", CR_TOKEN_OFFER},
        {"https://alice:@git.example.org/labs.git", "git.example.org", CR_TOKEN_OFFER},
        {"https://git.example.org/labs.git?x=@evil.example", "git.example.org", CR_TOKEN_OFFER},
        {"https://127.0.0.1:8443/labs.git", "127.0.0.1:8443", CR_TOKEN_OFFER},
        /* Ports: written on one side only means 443 there. */
        {"https://git.example.org:8443/labs.git", "git.example.org:8443", CR_TOKEN_OFFER},
        {"https://git.example.org:08443/labs.git", "git.example.org:8443", CR_TOKEN_OFFER},
        {"https://git.example.org:8443/labs.git", "git.example.org", CR_TOKEN_OTHER_HOST},
        {"https://git.example.org/labs.git", "git.example.org:8443", CR_TOKEN_OTHER_HOST},
        {"https://git.example.org:9443/labs.git", "git.example.org:8443", CR_TOKEN_OTHER_HOST},
        /* Never over anything but https. */
        {"http://git.example.org/labs.git", "git.example.org", CR_TOKEN_NOT_HTTPS},
        {"http://git.example.org:443/labs.git", "git.example.org", CR_TOKEN_NOT_HTTPS},
        {"ssh://git@git.example.org/labs.git", "git.example.org", CR_TOKEN_NOT_HTTPS},
        {"git@git.example.org:labs.git", "git.example.org", CR_TOKEN_NOT_HTTPS},
        {"file:///srv/git/labs.git", "git.example.org", CR_TOKEN_NOT_HTTPS},
        {"httpsx://git.example.org/labs.git", "git.example.org", CR_TOKEN_NOT_HTTPS},
        {NULL, "git.example.org", CR_TOKEN_NOT_HTTPS},
        /* Other hosts, however much they look like it. */
        {"https://other.example/labs.git", "git.example.org", CR_TOKEN_OTHER_HOST},
        {"https://git.example.org.evil.example/labs.git", "git.example.org", CR_TOKEN_OTHER_HOST},
        {"https://evil.example/git.example.org/labs.git", "git.example.org", CR_TOKEN_OTHER_HOST},
        {"https://git.example.org./labs.git", "git.example.org", CR_TOKEN_OTHER_HOST},
        {"https://127.0.0.1/labs.git", "localhost", CR_TOKEN_OTHER_HOST},
        /* User information is not the host. */
        {"https://git.example.org@evil.example/labs.git", "git.example.org", CR_TOKEN_OTHER_HOST},
        {"https://git.example.org:443@evil.example/labs.git", "git.example.org", CR_TOKEN_OTHER_HOST},
        {"https://x:git.example.org@evil.example/", "git.example.org", CR_TOKEN_OTHER_HOST},
        /* Authorities parsers read differently are never matched. */
        {"https://a@git.example.org@evil.example/labs.git", "git.example.org", CR_TOKEN_BAD_URL},
        {"https://evil.example@git.example.org@git.example.org/", "git.example.org", CR_TOKEN_BAD_URL},
        {"https://evil.example#@git.example.org/labs.git", "git.example.org", CR_TOKEN_BAD_URL},
        {"https://evil.example?@git.example.org/labs.git", "git.example.org", CR_TOKEN_BAD_URL},
        {"https://evil.example\\@git.example.org/labs.git", "git.example.org", CR_TOKEN_BAD_URL},
        {"https://git%2eexample.org/labs.git", "git.example.org", CR_TOKEN_BAD_URL},
        {"https://git.example.org%00.evil.example/", "git.example.org", CR_TOKEN_BAD_URL},
        {"https://git.example.org /labs.git", "git.example.org", CR_TOKEN_BAD_URL},
        {"https://git.ex\xc3\xa4mple.org/labs.git", "git.example.org", CR_TOKEN_BAD_URL},
        {"https://git.example.org:/labs.git", "git.example.org", CR_TOKEN_BAD_URL},
        {"https://git.example.org:0/labs.git", "git.example.org", CR_TOKEN_BAD_URL},
        {"https://git.example.org:65536/labs.git", "git.example.org", CR_TOKEN_BAD_URL},
        {"https://git.example.org:443x/labs.git", "git.example.org", CR_TOKEN_BAD_URL},
        {"https:///labs.git", "git.example.org", CR_TOKEN_BAD_URL},
        {"https://alice@/labs.git", "git.example.org", CR_TOKEN_BAD_URL},
        /* IPv6 literals, in brackets on both sides. */
        {"https://[::1]/labs.git", "[::1]", CR_TOKEN_OFFER},
        {"https://[::1]:8443/labs.git", "[::1]:8443", CR_TOKEN_OFFER},
        {"https://alice@[2001:DB8::1]/labs.git", "[2001:db8::1]", CR_TOKEN_OFFER},
        {"https://[::1]:8443/labs.git", "[::1]", CR_TOKEN_OTHER_HOST},
        {"https://[::2]/labs.git", "[::1]", CR_TOKEN_OTHER_HOST},
        {"https://[::1]@evil.example/labs.git", "[::1]", CR_TOKEN_OTHER_HOST},
        {"https://[::1/labs.git", "[::1]", CR_TOKEN_BAD_URL},
        {"https://[::1]x/labs.git", "[::1]", CR_TOKEN_BAD_URL},
        {"https://[fe80::1%25eth0]/labs.git", "[fe80::1]", CR_TOKEN_BAD_URL},
        {"https://[evil.example]/labs.git", "[::1]", CR_TOKEN_BAD_URL},
        /* CRANGE_GIT_TOKEN_HOST unset, empty or not a host: never offered. */
        {"https://git.example.org/labs.git", NULL, CR_TOKEN_NO_HOST},
        {"https://git.example.org/labs.git", "", CR_TOKEN_NO_HOST},
        {"http://git.example.org/labs.git", NULL, CR_TOKEN_NO_HOST},
        {"https://git.example.org/labs.git", "https://git.example.org", CR_TOKEN_BAD_HOST},
        {"https://git.example.org/labs.git", "alice@git.example.org", CR_TOKEN_BAD_HOST},
        {"https://git.example.org/labs.git", "git.example.org/", CR_TOKEN_BAD_HOST},
        {"https://git.example.org/labs.git", "git.example.org:", CR_TOKEN_BAD_HOST},
        {"https://git.example.org/labs.git", "*.example.org", CR_TOKEN_BAD_HOST},
        {"https://[::1]/labs.git", "::1", CR_TOKEN_BAD_HOST},
    };
    cr_buf want = {0}, got = {0};
    cr_buf_add(&want, "");
    cr_buf_add(&got, "");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *url = cases[i].url ? cases[i].url : "(null)", *host = cases[i].host ? cases[i].host : "(null)";
        cr_buf_addf(&want, "%s to %s: %s\n", url, host, verdict_name(cases[i].want));
        cr_buf_addf(&got, "%s to %s: %s\n", url, host,
                    verdict_name(cr_catalog_token_verdict(cases[i].url, cases[i].host)));
    }
    assert_string_equal(got.data, want.data);
    cr_buf_free(&want);
    cr_buf_free(&got);
}

/*
 * A plain-HTTP server on 127.0.0.1 in a child process (f->server): every
 * request gets 401 with a Basic challenge, and LOG gets its request line and
 * its Authorization header, if any. Returns the port.
 */
static int auth_server_start(fx *f, const char *log)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_true(s >= 0);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s, 16), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        static const char reply[] = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"crange-test\"\r\n"
                                    "Content-Length: 0\r\nConnection: close\r\n\r\n";
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        alarm(30); /* never outlives a stuck test */
        for (;;) {
            int c = accept(s, NULL, NULL);
            if (c < 0)
                continue;
            char req[8192];
            size_t n = 0;
            ssize_t r;
            while (n + 1 < sizeof req && (r = read(c, req + n, sizeof req - 1 - n)) > 0) {
                n += (size_t)r;
                req[n] = '\0';
                if (strstr(req, "\r\n\r\n"))
                    break;
            }
            req[n] = '\0';
            FILE *lf = fopen(log, "a");
            if (lf) {
                fprintf(lf, "%.*s\n", (int)strcspn(req, "\r\n"), req);
                for (char *line = strstr(req, "\r\n"); line; line = strstr(line + 2, "\r\n"))
                    if (!strncasecmp(line + 2, "Authorization:", 14))
                        fprintf(lf, "%.*s\n", (int)strcspn(line + 2, "\r\n"), line + 2);
                fclose(lf);
            }
            if (write(c, reply, sizeof reply - 1) < 0) {
                /* the client went away; nothing to tell it */
            }
            close(c);
        }
    }
    close(s);
    f->server = pid;
    return ntohs(a.sin_port);
}

static char *log_read(const char *log)
{
    char *data = NULL;
    size_t len;
    if (cr_read_file(&data, &len, log) < 0) {
        cr_error_clear();
        return cr_xstrdup("");
    }
    return data;
}

static void test_token_is_not_sent_over_plain_http(void **state)
{
    fx *f = *state;
    seed(f);
    char *log = cr_path_join(f->root, "requests.log");
    int port = auth_server_start(f, log);
    char *url = cr_xasprintf("http://127.0.0.1:%d/x.git", port), *host = cr_xasprintf("127.0.0.1:%d", port);
    char *msg;
    setenv("CRANGE_GIT_TOKEN", "s3cret", 1);

    /* No CRANGE_GIT_TOKEN_HOST: the token goes nowhere. */
    unsetenv("CRANGE_GIT_TOKEN_HOST");
    msg = cr_xasprintf("cannot clone %s: authentication required: the git token is offered only over https to "
                       "CRANGE_GIT_TOKEN_HOST (unset)",
                       url);
    add_fails(f, url, NULL, NULL, CR_ERROR, msg);
    free(msg);

    /* The host matches, but this is http. */
    setenv("CRANGE_GIT_TOKEN_HOST", host, 1);
    msg = cr_xasprintf("cannot clone %s: authentication required: the git token is offered only over https to "
                       "CRANGE_GIT_TOKEN_HOST (%s), not over http",
                       url, host);
    add_fails(f, url, NULL, NULL, CR_ERROR, msg);
    free(msg);

    /* The same through `crange scenario add`. */
    char *out = NULL, *err = NULL, *add[] = {url};
    assert_int_equal(run_cli(f, cr_cmd_scenario_add, false, &out, &err, 1, add), CR_EXIT_FAIL);
    msg = cr_xasprintf("crange: cannot clone %s: authentication required: the git token is offered only over "
                       "https to CRANGE_GIT_TOKEN_HOST (%s), not over http\n",
                       url, host);
    assert_string_equal(err, msg);
    free(msg);
    free(out);
    free(err);

    /* No token at all: the message says what to set. */
    unsetenv("CRANGE_GIT_TOKEN");
    msg = cr_xasprintf("cannot clone %s: authentication required: set CRANGE_GIT_TOKEN and CRANGE_GIT_TOKEN_HOST "
                       "(and CRANGE_GIT_USER when the user is not x-access-token)",
                       url);
    add_fails(f, url, NULL, NULL, CR_ERROR, msg);
    free(msg);

    /* The server was asked four times and never saw a credential. */
    char *seen = log_read(log);
    cr_buf w = {0};
    for (int i = 0; i < 4; i++)
        cr_buf_add(&w, "GET /x.git/info/refs?service=git-upload-pack HTTP/1.1\n");
    assert_string_equal(seen, w.data);
    assert_null(strstr(seen, "s3cret"));
    cr_buf_free(&w);
    free(seen);
    free(host);
    free(url);
    free(log);
}

/* An insteadOf rule can turn the https URL given into an http one; the rule
 * is applied to the URL libgit2 connects to. */
static void test_token_rule_applies_to_the_url_after_insteadof(void **state)
{
    fx *f = *state;
    seed(f);
    char *log = cr_path_join(f->root, "requests.log"), *global = cr_path_join(f->root, "global");
    int port = auth_server_start(f, log);
    char *config = cr_xasprintf("[url \"http://127.0.0.1:%d/\"]\n\tinsteadOf = https://alias.example/\n", port);
    tu_write(global, ".gitconfig", config);
    assert_int_equal(git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL, global), 0);
    setenv("CRANGE_GIT_TOKEN", "s3cret", 1);
    setenv("CRANGE_GIT_TOKEN_HOST", "alias.example", 1);
    add_fails(f, "https://alias.example/x.git", NULL, NULL, CR_ERROR,
              "cannot clone https://alias.example/x.git: authentication required: the git token is offered only "
              "over https to CRANGE_GIT_TOKEN_HOST (alias.example), not over http");
    assert_int_equal(git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL, NULL), 0);
    char *seen = log_read(log);
    assert_string_equal(seen, "GET /x.git/info/refs?service=git-upload-pack HTTP/1.1\n");
    free(seen);
    free(config);
    free(global);
    free(log);
}

static void test_add_refuses_a_url_with_a_password_without_printing_it(void **state)
{
    fx *f = *state;
    seed(f);
    add_fails(f, "https://alice:s3cret@git.example.org/labs.git", NULL, NULL, CR_EINVAL,
              "https://alice:***@git.example.org/labs.git: a password in the URL would be recorded in the catalog "
              "and printed; put the token in CRANGE_GIT_TOKEN and its host in CRANGE_GIT_TOKEN_HOST instead");
    add_fails(f, "ssh://git:s3cret@git.example.org/labs.git", NULL, NULL, CR_EINVAL,
              "ssh://git:***@git.example.org/labs.git: a password in the URL would be recorded in the catalog "
              "and printed; put the token in CRANGE_GIT_TOKEN and its host in CRANGE_GIT_TOKEN_HOST instead");
}

/* Runs CMD with sh; 0 when it exits 0. */
static int sh_quiet(const char *cmd)
{
    char *full = cr_xasprintf("(%s) >/dev/null 2>&1", cmd);
    int rc = system(full);
    free(full);
    return rc == 0 ? 0 : -1;
}

/* The HTTPS server: 401 with a Basic challenge, except /redir.git, which is
 * sent to https://127.0.0.1:PORT/x.git (another host name, same server). */
static const char https_server_py[] =
    "import http.server, os, signal, ssl, sys\n"
    "cert, key, portfile, log = sys.argv[1:5]\n"
    "signal.alarm(30)\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def do_GET(self):\n"
    "        with open(log, 'a') as f:\n"
    "            f.write('GET %s %s\\n' % (self.path, self.headers.get('Authorization', '-')))\n"
    "        if self.path.startswith('/redir.git/'):\n"
    "            self.send_response(302)\n"
    "            self.send_header('Location', 'https://127.0.0.1:%d/x.git/info/refs?service=git-upload-pack' % "
    "port)\n"
    "        else:\n"
    "            self.send_response(401)\n"
    "            self.send_header('WWW-Authenticate', 'Basic realm=\"crange-test\"')\n"
    "        self.send_header('Content-Length', '0')\n"
    "        self.send_header('Connection', 'close')\n"
    "        self.end_headers()\n"
    "    def log_message(self, *a):\n"
    "        pass\n"
    "srv = http.server.HTTPServer(('127.0.0.1', 0), H)\n"
    "port = srv.server_address[1]\n"
    "ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
    "ctx.load_cert_chain(cert, key)\n"
    "srv.socket = ctx.wrap_socket(srv.socket, server_side=True)\n"
    "with open(portfile + '.tmp', 'w') as f:\n"
    "    f.write(str(port))\n"
    "os.rename(portfile + '.tmp', portfile)\n"
    "srv.serve_forever()\n";

/* Whether the HTTPS server can run: python3 with ssl, and openssl. */
static bool https_tools_present(void)
{
    return sh_quiet("python3 -c 'import ssl'") == 0 && sh_quiet("openssl version") == 0;
}

/* Starts the HTTPS server with a fresh self-signed certificate for
 * localhost (and 127.0.0.1), which libgit2 is told to trust; returns the
 * port. */
static int https_server_start(fx *f, const char *log)
{
    char *cert = cr_path_join(f->root, "cert.pem"), *key = cr_path_join(f->root, "key.pem");
    char *portfile = cr_path_join(f->root, "port"), *script = cr_path_join(f->root, "server.py");
    char *gen = cr_xasprintf("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
                             "-subj /CN=localhost -addext subjectAltName=DNS:localhost,DNS:127.0.0.1,IP:127.0.0.1 "
                             "-keyout '%s' -out '%s'",
                             key, cert);
    assert_int_equal(sh_quiet(gen), 0);
    free(gen);
    tu_write(f->root, "server.py", https_server_py);
    assert_int_equal(git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, cert, NULL), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execlp("python3", "python3", script, cert, key, portfile, log, (char *)NULL);
        _exit(127);
    }
    f->server = pid;
    int port = 0;
    for (int i = 0; i < 500 && !port; i++) { /* up to 10 s */
        char *text = NULL;
        size_t len;
        if (cr_read_file(&text, &len, portfile) == 0)
            port = atoi(text);
        else
            cr_error_clear();
        free(text);
        if (!port) {
            assert_int_equal(waitpid(pid, NULL, WNOHANG), 0); /* still running */
            nanosleep(&(struct timespec){.tv_nsec = 20 * 1000 * 1000}, NULL);
        }
    }
    assert_true(port > 0);
    free(cert);
    free(key);
    free(portfile);
    free(script);
    return port;
}

static void test_token_goes_over_https_to_its_host_only(void **state)
{
    fx *f = *state;
    if (!https_tools_present())
        skip();
    seed(f);
    char *log = cr_path_join(f->root, "requests.log");
    int port = https_server_start(f, log);
    char *url = cr_xasprintf("https://localhost:%d/x.git", port);
    char *redir = cr_xasprintf("https://localhost:%d/redir.git", port);
    char *host = cr_xasprintf("localhost:%d", port), *msg, *seen;
    const char *info = "/x.git/info/refs?service=git-upload-pack";
    setenv("CRANGE_GIT_TOKEN", "s3cret", 1);

    /* Its host and port: offered once, as user x-access-token. */
    setenv("CRANGE_GIT_TOKEN_HOST", host, 1);
    msg = cr_xasprintf("cannot clone %s: authentication failed: the server refused user 'x-access-token' with the "
                       "token in CRANGE_GIT_TOKEN",
                       url);
    add_fails(f, url, NULL, NULL, CR_ERROR, msg);
    free(msg);
    seen = log_read(log);
    msg = cr_xasprintf("GET %s -\nGET %s Basic eC1hY2Nlc3MtdG9rZW46czNjcmV0\n", info, info);
    assert_string_equal(seen, msg);
    free(msg);
    free(seen);
    unlink(log);

    /* The same host name on another port (the variable's means 443). */
    setenv("CRANGE_GIT_TOKEN_HOST", "localhost", 1);
    msg = cr_xasprintf("cannot clone %s: authentication required: the git token is offered only over https to "
                       "CRANGE_GIT_TOKEN_HOST (localhost), not to %s",
                       url, host);
    add_fails(f, url, NULL, NULL, CR_ERROR, msg);
    free(msg);

    /* Another host. */
    setenv("CRANGE_GIT_TOKEN_HOST", "git.example.org", 1);
    msg = cr_xasprintf("cannot clone %s: authentication required: the git token is offered only over https to "
                       "CRANGE_GIT_TOKEN_HOST (git.example.org), not to %s",
                       url, host);
    add_fails(f, url, NULL, NULL, CR_ERROR, msg);
    free(msg);
    seen = log_read(log);
    msg = cr_xasprintf("GET %s -\nGET %s -\n", info, info);
    assert_string_equal(seen, msg);
    free(msg);
    free(seen);
    unlink(log);

    /* A redirect from the token's host to another (127.0.0.1, which the
     * certificate also names) is not followed: libgit2 after 1.5 would ask
     * for credentials there with the first URL, which matches. */
    setenv("CRANGE_GIT_TOKEN_HOST", host, 1);
    msg = cr_xasprintf("cannot clone %s: cannot redirect from 'localhost' to '127.0.0.1'", redir);
    add_fails(f, redir, NULL, NULL, CR_ERROR, msg);
    free(msg);
    seen = log_read(log);
    msg = cr_xasprintf("GET /redir.git/info/refs?service=git-upload-pack -\n");
    assert_string_equal(seen, msg);
    free(msg);
    free(seen);

    free(host);
    free(redir);
    free(url);
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_from_file_url_pins_the_remote_head_branch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_from_plain_path_of_a_work_tree_records_its_absolute_path, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_add_multi_scenario_repository_finds_each_scenario, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_pins_a_branch_a_tag_or_a_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_and_get_return_every_entry_with_its_scenarios, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_fast_forwards_a_branch_pin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_refuses_tag_and_commit_pins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_refuses_rewritten_history_naming_both_commits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_refuses_a_new_commit_that_does_not_validate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve_names_the_root_or_a_sub_scenario, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve_at_an_older_commit_materialises_it_without_moving_the_pin,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve_checks_out_the_pin_again_after_hand_edits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_deletes_entry_clone_and_materialised_commits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_provenance_inside_a_git_work_tree_is_clean_then_dirty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_provenance_outside_git_is_an_uncommitted_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_unreachable_urls_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_path_that_is_not_a_repository_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_repository_without_scenario_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_unknown_ref_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_scenario_with_a_syntax_error_names_file_and_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_name_already_used_or_invalid_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_symlink_outside_the_repository_into_git_or_looping_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_add_list_show_update_remove, setup, teardown),
        cmocka_unit_test(test_token_is_offered_only_over_https_to_the_configured_host),
        cmocka_unit_test_setup_teardown(test_token_is_not_sent_over_plain_http, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_rule_applies_to_the_url_after_insteadof, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_refuses_a_url_with_a_password_without_printing_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_token_goes_over_https_to_its_host_only, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
