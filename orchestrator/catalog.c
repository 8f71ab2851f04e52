/*
 * catalog.c: the scenario catalog and provenance of catalog.h, over libgit2.
 *
 * Relies on: libgit2 (clone, fetch, checkout, status), cr_scenario_load() to
 * validate what a repository holds, jansson for the entry files and util.h
 * for files. The layout and the crash-safety argument are in catalog.h; in
 * short, every change happens in a .tmp folder under an flock and becomes
 * visible with one rename or one atomic write of <name>.json.
 */
#include "catalog.h"

#include "err.h"
#include "log.h"
#include "scenario.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define CATALOG_FORMAT 1

/* ---- Small helpers ------------------------------------------------------ */

const char *cr_ref_kind_name(cr_ref_kind kind)
{
    switch (kind) {
    case CR_REF_BRANCH:
        return "branch";
    case CR_REF_TAG:
        return "tag";
    case CR_REF_COMMIT:
        return "commit";
    }
    return "?";
}

static int ref_kind_parse(cr_ref_kind *out, const char *s)
{
    for (cr_ref_kind k = CR_REF_BRANCH; k <= CR_REF_COMMIT; k++)
        if (s && !strcmp(s, cr_ref_kind_name(k))) {
            *out = k;
            return 0;
        }
    return CR_EINVAL;
}

const char *cr_provenance_kind_name(cr_provenance_kind kind)
{
    switch (kind) {
    case CR_PROV_PATH:
        return "path";
    case CR_PROV_GIT:
        return "git";
    case CR_PROV_CATALOG:
        return "catalog";
    }
    return "?";
}

/* Copies S into OUT as one line: control characters become spaces and
 * trailing blanks go, so a libgit2 message never breaks the one-line rule. */
static void one_line(char *out, size_t size, const char *s)
{
    size_t n = 0;
    for (; s && *s && n + 1 < size; s++)
        out[n++] = (unsigned char)*s < 0x20 ? ' ' : *s;
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
}

/*
 * Sets "<context>: <libgit2's message>" for a failed libgit2 call. GERR is
 * the libgit2 code; the crange code follows from it.
 */
static int git_fail(int gerr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int git_fail(int gerr, const char *fmt, ...)
{
    char context[1024], msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(context, sizeof context, fmt, ap);
    va_end(ap);
    const git_error *e = git_error_last();
    one_line(msg, sizeof msg, e && e->message ? e->message : "unknown libgit2 error");
    int code = gerr == GIT_ENOTFOUND ? CR_ENOTFOUND : gerr == GIT_EEXISTS ? CR_EEXISTS : CR_ERROR;
    return cr_error_set(code, "%s: %s", context, msg);
}

/* (libgit2's *_OPTIONS_INIT macros trip -Wmissing-field-initializers, so
 * options are set up with the equivalent git_*_options_init functions.) */
static int git_begin(void)
{
    if (git_libgit2_init() < 0)
        return cr_error_set(CR_ERROR, "libgit2 cannot be initialised");
    return 0;
}

static char *oid_hex(const git_oid *oid)
{
    char *s = cr_xmalloc(GIT_OID_HEXSZ + 1);
    git_oid_tostr(s, GIT_OID_HEXSZ + 1, oid);
    return s;
}

/* The first 12 hex digits, for messages (full commits are in JSON). */
static const char *short_hex(const char *hex, char buf[13])
{
    snprintf(buf, 13, "%.12s", hex ? hex : "");
    return buf;
}

static char *iso_now(void)
{
    char buf[32];
    cr_iso8601(buf, cr_wall_ms());
    return cr_xstrdup(buf);
}

static int name_check(const char *name)
{
    if (!cr_name_valid(name, CR_NAME_MAX))
        return cr_error_set(CR_EINVAL,
                            "bad catalog name '%s': use a lowercase letter, then lowercase letters, digits or '-' "
                            "(at most %d characters, not ending in '-')",
                            name ? name : "", CR_NAME_MAX);
    return 0;
}

static int not_in_catalog(const char *name)
{
    return cr_error_set(CR_ENOTFOUND, "no scenario repository '%s' in the catalog (see crange scenario list)",
                        name);
}

char *cr_catalog_dir(const char *state_dir)
{
    return cr_path_join(state_dir, "catalog");
}

bool cr_catalog_is_ref(const char *s)
{
    return s && !strncmp(s, "catalog:", 8);
}

/* ---- Entries: memory and JSON -------------------------------------------- */

static void scenario_clear(cr_catalog_scenario *s)
{
    free(s->sub);
    free(s->path);
    free(s->id);
    free(s->title.ja);
    free(s->title.en);
    memset(s, 0, sizeof *s);
}

static void scenarios_free(cr_catalog_scenario *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        scenario_clear(&list[i]);
    free(list);
}

void cr_catalog_entry_free(cr_catalog_entry *e)
{
    if (!e)
        return;
    free(e->name);
    free(e->url);
    free(e->ref);
    free(e->commit);
    free(e->commit_time);
    free(e->commit_message);
    free(e->added_at);
    free(e->updated_at);
    scenarios_free(e->scenarios, e->n_scenarios);
    free(e->dir);
    free(e);
}

void cr_catalog_list_free(cr_catalog_entry **list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        cr_catalog_entry_free(list[i]);
    free(list);
}

static char *scenario_ref(const char *name, const cr_catalog_scenario *s)
{
    return s->sub ? cr_xasprintf("catalog:%s/%s", name, s->sub) : cr_xasprintf("catalog:%s", name);
}

static json_t *entry_to_json(const cr_catalog_entry *e, bool with_dir)
{
    json_t *list = json_array();
    for (size_t i = 0; i < e->n_scenarios; i++) {
        const cr_catalog_scenario *s = &e->scenarios[i];
        char *ref = scenario_ref(e->name, s);
        json_array_append_new(list, json_pack("{s:s, s:s?, s:s, s:s, s:{s:s?, s:s?}}", "ref", ref, "sub", s->sub,
                                              "path", s->path, "id", s->id, "title", "ja", s->title.ja, "en",
                                              s->title.en));
        free(ref);
    }
    json_t *j = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "format", CATALOG_FORMAT, "name",
                          e->name, "url", e->url, "ref", e->ref, "ref_kind", cr_ref_kind_name(e->ref_kind), "commit",
                          e->commit, "commit_time", e->commit_time, "commit_message", e->commit_message,
                          "added_at", e->added_at, "updated_at", e->updated_at, "scenarios", list);
    if (with_dir && e->dir)
        json_object_set_new(j, "dir", json_string(e->dir));
    return j;
}

json_t *cr_catalog_entry_json(const cr_catalog_entry *e)
{
    return entry_to_json(e, true);
}

static char *jdup(json_t *o, const char *key)
{
    return cr_xstrdup(json_string_value(json_object_get(o, key)));
}

/* Reads <cat>/<name>.json. CR_ENOTFOUND (message set) when it is absent. */
static int entry_load(cr_catalog_entry **out, const char *cat, const char *name)
{
    int rc = 0;
    char *file = cr_xasprintf("%s/%s.json", cat, name);
    json_t *j = NULL;
    json_error_t jerr;
    cr_catalog_entry *e = NULL;
    *out = NULL;
    if (!cr_path_exists(file)) {
        rc = not_in_catalog(name);
        goto cleanup;
    }
    if (!(j = json_load_file(file, 0, &jerr))) {
        rc = cr_error_set(CR_ERROR, "%s:%d: %s", file, jerr.line, jerr.text);
        goto cleanup;
    }
    e = cr_xcalloc(1, sizeof *e);
    e->name = jdup(j, "name");
    e->url = jdup(j, "url");
    e->ref = jdup(j, "ref");
    e->commit = jdup(j, "commit");
    e->commit_time = jdup(j, "commit_time");
    e->commit_message = jdup(j, "commit_message");
    e->added_at = jdup(j, "added_at");
    e->updated_at = jdup(j, "updated_at");
    json_t *list = json_object_get(j, "scenarios");
    bool ok = e->name && !strcmp(e->name, name) && e->url && e->ref && e->commit && strlen(e->commit) == 40 &&
              e->commit_time && e->commit_message && e->added_at && e->updated_at && json_is_array(list) &&
              ref_kind_parse(&e->ref_kind, json_string_value(json_object_get(j, "ref_kind"))) == 0;
    if (ok) {
        e->n_scenarios = json_array_size(list);
        e->scenarios = cr_xcalloc(e->n_scenarios + 1, sizeof *e->scenarios);
    }
    for (size_t i = 0; ok && i < e->n_scenarios; i++) {
        json_t *s = json_array_get(list, i), *title = json_object_get(s, "title");
        cr_catalog_scenario *cs = &e->scenarios[i];
        cs->sub = jdup(s, "sub");
        cs->path = jdup(s, "path");
        cs->id = jdup(s, "id");
        cs->title.ja = jdup(title, "ja");
        cs->title.en = jdup(title, "en");
        ok = cs->path && cs->id;
    }
    if (!ok) {
        rc = cr_error_set(CR_ERROR, "%s: not a catalog entry (a field is missing or malformed)", file);
        goto cleanup;
    }
    e->dir = cr_path_join(cat, name);
    *out = e;
    e = NULL;
cleanup:
    cr_catalog_entry_free(e);
    json_decref(j);
    free(file);
    return rc;
}

static int entry_save(const cr_catalog_entry *e, const char *cat)
{
    json_t *j = entry_to_json(e, false);
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    char *file = cr_xasprintf("%s/%s.json", cat, e->name);
    cr_buf b = {0};
    cr_buf_add(&b, text ? text : "");
    cr_buf_add(&b, "\n");
    int rc = text ? cr_write_file_atomic(file, b.data, b.len, 0644)
                  : cr_error_set(CR_ERROR, "%s: cannot encode the entry", file);
    cr_buf_free(&b);
    free(file);
    free(text);
    json_decref(j);
    return rc;
}

/* ---- The lock and debris ------------------------------------------------- */

/* Creates the catalog folder and takes its lock; *fd is closed by
 * catalog_unlock. Every reader and writer of clones holds it. */
static int catalog_lock(int *fd, const char *cat)
{
    *fd = -1;
    int rc = cr_mkdir_p(cat, 0755);
    if (rc < 0)
        return rc;
    char *file = cr_path_join(cat, ".lock");
    *fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (*fd < 0) {
        rc = cr_error_set(CR_ERROR, "%s: %s", file, strerror(errno));
    } else {
        int r;
        while ((r = flock(*fd, LOCK_EX)) < 0 && errno == EINTR)
            ;
        if (r < 0) {
            rc = cr_error_set(CR_ERROR, "%s: %s", file, strerror(errno));
            close(*fd);
            *fd = -1;
        }
    }
    free(file);
    return rc;
}

static void catalog_unlock(int fd)
{
    if (fd >= 0)
        close(fd);
}

/* Removes a folder that is only debris or scratch. A failure is logged, and
 * its message forgotten unless one was already pending, so that it cannot
 * stand in for the message of a later, real error. */
static void remove_quietly(const char *path)
{
    bool pending = cr_error_pending();
    if (cr_rm_rf(path) < 0 && !pending) {
        cr_log_warn("catalog: %s", cr_error_message());
        cr_error_clear();
    }
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/*
 * Under the lock, nothing else is in progress, so these are debris of an
 * interrupted operation: .tmp-* folders, clones without an entry file, and
 * materialised commits of entries that are gone. Best effort: a folder that
 * cannot be removed now is tried again next time.
 */
static void catalog_sweep(const char *cat)
{
    DIR *d = opendir(cat);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char *full = cr_path_join(cat, e->d_name);
        char *entry = cr_xasprintf("%s.json", full);
        if (!strncmp(e->d_name, ".tmp-", 5) || (e->d_name[0] != '.' && cr_is_dir(full) && !cr_path_exists(entry))) {
            cr_log_debug("catalog: removing debris %s", full);
            remove_quietly(full);
        }
        free(entry);
        free(full);
    }
    if (d)
        closedir(d);
    char *at = cr_path_join(cat, ".at");
    d = opendir(at);
    while (d && (e = readdir(d))) {
        char *full = cr_path_join(at, e->d_name);
        const char *dash = strrchr(e->d_name, '-');
        char *name = dash ? cr_xstrndup(e->d_name, (size_t)(dash - e->d_name)) : NULL;
        char *entry = name ? cr_xasprintf("%s/%s.json", cat, name) : NULL;
        if (!strncmp(e->d_name, ".tmp-", 5) || (e->d_name[0] != '.' && (!entry || !cr_path_exists(entry)))) {
            cr_log_debug("catalog: removing debris %s", full);
            remove_quietly(full);
        }
        free(entry);
        free(name);
        free(full);
    }
    if (d)
        closedir(d);
    free(at);
}

/* A new empty folder <parent>/.tmp-<label>-XXXXXX. */
static int tmp_folder(char **out, const char *parent, const char *label)
{
    *out = NULL;
    int rc = cr_mkdir_p(parent, 0755);
    if (rc < 0)
        return rc;
    char *t = cr_xasprintf("%s/.tmp-%s-XXXXXX", parent, label);
    if (!mkdtemp(t)) {
        rc = cr_error_set(CR_ERROR, "%s: %s", t, strerror(errno));
        free(t);
        return rc;
    }
    *out = t;
    return 0;
}

/* ---- Remote access: where the token may go ------------------------------ */

/*
 * The token must reach only the host it was issued for, and only inside TLS.
 * What counts is the host libgit2 connects to, so the parser below is strict:
 * an authority a parser could read two ways (several '@', '?', '#', '\',
 * percent-encoding or spaces in it) is never matched, whatever the reading.
 */

/* A host with its port as parsed from HOST[:PORT] or [IPV6][:PORT]. */
typedef struct hostport {
    char host[256]; /* lowercase, without the brackets of an IPv6 literal */
    char text[256]; /* as written, for messages */
    unsigned port;  /* 0 when not written */
} hostport;

static bool host_char(int c, bool ipv6)
{
    if (ipv6)
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
               c == '.';
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '.' ||
           c == '_';
}

/* Parses S[0..n) as HOST[:PORT] or [IPV6][:PORT]: reg-names of letters,
 * digits, '-', '.' and '_' (no percent-encoding, which libgit2 decodes), a
 * port of 1 to 65535. */
static bool hostport_parse(hostport *hp, const char *s, size_t n)
{
    const char *h = s, *end = s + n, *p;
    bool ipv6 = n > 0 && *s == '[';
    memset(hp, 0, sizeof *hp);
    if (n == 0 || n >= sizeof hp->text) /* host is never longer than text */
        return false;
    if (ipv6) {
        const char *close = memchr(s, ']', n);
        if (!close || close == s + 1)
            return false;
        h = s + 1;
        p = close + 1;
        for (const char *c = h; c < close; c++)
            if (!host_char((unsigned char)*c, true))
                return false;
        if (!memchr(h, ':', (size_t)(close - h)))
            return false;
        memcpy(hp->host, h, (size_t)(close - h));
    } else {
        p = s;
        while (p < end && *p != ':')
            if (!host_char((unsigned char)*p++, false))
                return false;
        if (p == s)
            return false;
        memcpy(hp->host, s, (size_t)(p - s));
    }
    if (p < end) {
        if (*p != ':' || ++p == end || end - p > 5)
            return false;
        for (; p < end; p++) {
            if (*p < '0' || *p > '9')
                return false;
            hp->port = hp->port * 10 + (unsigned)(*p - '0');
        }
        if (hp->port == 0 || hp->port > 65535)
            return false;
    }
    for (char *c = hp->host; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    memcpy(hp->text, s, n);
    return true;
}

/* The authority of a SCHEME://AUTHORITY[/...] URL: everything up to the
 * first '/'. NULL when URL has no "://". */
static const char *url_authority(const char *url, size_t *len)
{
    const char *a = strstr(url, "://");
    *len = 0;
    if (!a)
        return NULL;
    a += 3;
    *len = strcspn(a, "/");
    return a;
}

/* The verdict, and in *got the URL's host when it could be parsed. */
static cr_token_verdict token_verdict(hostport *got, const char *url, const char *token_host)
{
    hostport want;
    size_t n;
    memset(got, 0, sizeof *got);
    if (!token_host || !*token_host)
        return CR_TOKEN_NO_HOST;
    if (!hostport_parse(&want, token_host, strlen(token_host)))
        return CR_TOKEN_BAD_HOST;
    if (!url || strncasecmp(url, "https://", 8))
        return CR_TOKEN_NOT_HTTPS;
    const char *a = url_authority(url, &n), *host = a;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)a[i];
        if (c <= ' ' || c >= 0x7f || c == '?' || c == '#' || c == '\\')
            return CR_TOKEN_BAD_URL;
        if (c == '@') {
            if (host != a) /* a second '@': parsers disagree on where the host starts */
                return CR_TOKEN_BAD_URL;
            host = a + i + 1;
        }
    }
    if (!hostport_parse(got, host, n - (size_t)(host - a)))
        return CR_TOKEN_BAD_URL;
    unsigned want_port = want.port ? want.port : 443, got_port = got->port ? got->port : 443;
    if (strcmp(want.host, got->host) || want_port != got_port)
        return CR_TOKEN_OTHER_HOST;
    return CR_TOKEN_OFFER;
}

cr_token_verdict cr_catalog_token_verdict(const char *url, const char *token_host)
{
    hostport got;
    return token_verdict(&got, url, token_host);
}

/* The one line that says why the token was not offered for URL. */
static void token_refusal(char *msg, size_t size, const char *url, const char *token_host)
{
    hostport got;
    const char *pre = "authentication required: the git token is offered only over https to CRANGE_GIT_TOKEN_HOST";
    char scheme[17] = "ssh"; /* user@host:path has none */
    const char *sep = url ? strstr(url, "://") : NULL;
    if (sep && (size_t)(sep - url) < sizeof scheme) {
        for (size_t i = 0; url + i < sep; i++)
            scheme[i] = (char)(url[i] >= 'A' && url[i] <= 'Z' ? url[i] - 'A' + 'a' : url[i]);
        scheme[sep - url] = '\0';
    }
    switch (token_verdict(&got, url, token_host)) {
    case CR_TOKEN_NO_HOST:
        snprintf(msg, size, "%s (unset)", pre);
        break;
    case CR_TOKEN_BAD_HOST:
        snprintf(msg, size, "%s, which is not HOST, HOST:PORT or [IPV6]:PORT: '%s'", pre, token_host);
        break;
    case CR_TOKEN_NOT_HTTPS:
        snprintf(msg, size, "%s (%s), not over %s", pre, token_host, scheme);
        break;
    case CR_TOKEN_BAD_URL:
        snprintf(msg, size, "%s (%s), and the host of this URL is ambiguous", pre, token_host);
        break;
    case CR_TOKEN_OTHER_HOST:
    case CR_TOKEN_OFFER: /* not called for it */
        snprintf(msg, size, "%s (%s), not to %s", pre, token_host, got.text);
        break;
    }
}

/* ---- Remote access: credentials ----------------------------------------- */

/*
 * libgit2 calls the credential callback again after every refusal, so each
 * method is offered at most once per connection; after that the callback
 * gives up with a message saying what to configure. The token goes only
 * where cr_catalog_token_verdict() allows, judged on the URL libgit2 passes
 * (the remote's URL after insteadOf rewriting).
 */
typedef struct cred_state {
    bool tried_agent, tried_username, tried_token;
} cred_state;

static int credentials_cb(git_credential **out, const char *url, const char *username_from_url,
                          unsigned int allowed, void *payload)
{
    cred_state *cs = payload;
    const char *user = username_from_url && *username_from_url ? username_from_url : "git";
    if ((allowed & GIT_CREDENTIAL_SSH_KEY) && !cs->tried_agent) {
        cs->tried_agent = true;
        return git_credential_ssh_key_from_agent(out, user);
    }
    if ((allowed & GIT_CREDENTIAL_USERNAME) && !cs->tried_username) {
        cs->tried_username = true;
        return git_credential_username_new(out, user);
    }
    const char *token = getenv("CRANGE_GIT_TOKEN"), *tuser = getenv("CRANGE_GIT_USER");
    const char *thost = getenv("CRANGE_GIT_TOKEN_HOST");
    bool have_token = token && *token;
    bool may_offer = have_token && cr_catalog_token_verdict(url, thost) == CR_TOKEN_OFFER;
    if (!tuser || !*tuser)
        tuser = "x-access-token";
    if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && !cs->tried_token && may_offer) {
        cs->tried_token = true;
        return git_credential_userpass_plaintext_new(out, tuser, token);
    }
    char msg[1024];
    if (allowed & GIT_CREDENTIAL_SSH_KEY) {
        git_error_set_str(GIT_ERROR_SSH, "authentication failed: ssh-agent offered no key the server accepts "
                                         "(is SSH_AUTH_SOCK set and the key loaded with ssh-add?)");
    } else if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && cs->tried_token) {
        snprintf(msg, sizeof msg,
                 "authentication failed: the server refused user '%s' with the token in CRANGE_GIT_TOKEN", tuser);
        git_error_set_str(GIT_ERROR_HTTP, msg);
    } else if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && have_token) {
        token_refusal(msg, sizeof msg, url, thost);
        git_error_set_str(GIT_ERROR_HTTP, msg);
    } else if (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) {
        git_error_set_str(GIT_ERROR_HTTP, "authentication required: set CRANGE_GIT_TOKEN and CRANGE_GIT_TOKEN_HOST "
                                          "(and CRANGE_GIT_USER when the user is not x-access-token)");
    } else
        git_error_set_str(GIT_ERROR_NET, "authentication failed: the server asks for a method crange does not offer");
    return GIT_EAUTH;
}

static void fetch_callbacks_set(git_fetch_options *fo, cred_state *cs)
{
    const char *token = getenv("CRANGE_GIT_TOKEN");
    fo->callbacks.credentials = credentials_cb;
    fo->callbacks.payload = cs;
    /* Tags are refs a user may pin to, even on commits no branch reaches. */
    fo->download_tags = GIT_REMOTE_DOWNLOAD_TAGS_ALL;
    /* libgit2 1.5 asks for credentials with the URL it was redirected to,
     * but later versions pass the URL they were given (the smart transport's,
     * set once at connect), so a redirect to another host would carry the
     * token there. While a token is set, no redirect may leave the host
     * (redirects within it still work; libgit2 never follows https to http). */
    if (token && *token)
        fo->follow_redirects = GIT_REMOTE_REDIRECT_NONE;
}

/* ---- Sources -------------------------------------------------------------- */

/* A URL has a scheme or is scp-like ([user@]host:path, a ':' before any '/');
 * anything else is a local path. */
static bool source_is_url(const char *s)
{
    const char *colon = strchr(s, ':'), *slash = strchr(s, '/');
    return strstr(s, "://") || (colon && (!slash || colon < slash));
}

/* The ':' before a non-empty password in SCHEME://USER:PASSWORD@HOST/...,
 * or NULL; *at is then the '@' that ends the user information. */
static const char *url_password(const char *url, const char **at)
{
    size_t n;
    const char *a = url_authority(url, &n), *colon;
    *at = NULL;
    for (size_t i = 0; a && i < n; i++)
        if (a[i] == '@')
            *at = a + i;
    if (!*at || !(colon = memchr(a, ':', (size_t)(*at - a))) || colon + 1 == *at)
        return NULL;
    return colon;
}

/* *url: what to clone and record: URLs as given, local paths made absolute
 * after checking they are repositories (so the entry still works from any
 * folder, and the error says what is wrong rather than "unsupported URL").
 * A URL with a password is refused: the URL is written to <name>.json, the
 * clone's configuration and every range's provenance, and printed. */
static int source_resolve(char **url, const char *source)
{
    int rc = 0;
    git_repository *repo = NULL;
    char *real = NULL;
    const char *colon, *at;
    *url = NULL;
    if (source_is_url(source) && (colon = url_password(source, &at))) {
        rc = cr_error_set(CR_EINVAL,
                          "%.*s:***%s: a password in the URL would be recorded in the catalog and printed; put the "
                          "token in CRANGE_GIT_TOKEN and its host in CRANGE_GIT_TOKEN_HOST instead",
                          (int)(colon - source), source, at);
        goto cleanup;
    }
    if (source_is_url(source)) {
        *url = cr_xstrdup(source);
        goto cleanup;
    }
    if (!(real = cr_realpath(source)) || !cr_is_dir(real)) {
        rc = cr_error_set(CR_ENOTFOUND, "'%s': no such directory", source);
        goto cleanup;
    }
    if (git_repository_open_ext(&repo, real, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0) {
        rc = cr_error_set(CR_EINVAL, "'%s' is not a git repository", source);
        goto cleanup;
    }
    *url = real;
    real = NULL;
cleanup:
    git_repository_free(repo);
    free(real);
    return rc;
}

/* The last path component of a URL or path, without ".git". */
static char *default_name(const char *url)
{
    char *s = cr_xstrdup(url);
    size_t n = strlen(s);
    while (n > 1 && s[n - 1] == '/')
        s[--n] = '\0';
    if (has_suffix(s, ".git"))
        s[n -= 4] = '\0';
    while (n > 1 && s[n - 1] == '/') /* ".../repo/.git" names repo */
        s[--n] = '\0';
    const char *base = s;
    for (const char *p = s; *p; p++)
        if (*p == '/' || *p == ':')
            base = p + 1;
    char *name = cr_xstrdup(base);
    free(s);
    return name;
}

/* ---- Commits and trees ---------------------------------------------------- */

/* A fresh clone without HEAD: the repository is empty, or (often with
 * `git init --bare` and a push of another branch) its HEAD names a branch
 * that does not exist. */
static int head_missing(git_repository *repo, const char *url)
{
    git_branch_iterator *it = NULL;
    git_reference *b = NULL;
    git_branch_t type;
    cr_buf names = {0};
    if (git_branch_iterator_new(&it, repo, GIT_BRANCH_REMOTE) == 0)
        while (git_branch_next(&b, &type, it) == 0) {
            const char *n = git_reference_shorthand(b);
            if (!strncmp(n, "origin/", 7) && strcmp(n, "origin/HEAD"))
                cr_buf_addf(&names, "%s%s", names.len ? ", " : "", n + 7);
            git_reference_free(b);
        }
    git_branch_iterator_free(it);
    int rc = names.len ? cr_error_set(CR_EINVAL, "%s: its HEAD names no existing branch; choose one with --ref (%s)",
                                      url, names.data)
                       : cr_error_set(CR_EINVAL, "%s has no commits", url);
    cr_buf_free(&names);
    return rc;
}

/*
 * Finds what REF names in a fresh clone: the remote HEAD's branch when REF
 * is NULL, else (in this order) a branch of origin, a tag, or a full or
 * abbreviated commit. *name is what the entry records.
 */
static int ref_resolve(git_oid *commit, cr_ref_kind *kind, char **name, git_repository *repo, const char *ref,
                       const char *url)
{
    int rc = 0, g;
    git_reference *r = NULL;
    git_object *obj = NULL;
    char *refname = NULL;
    *name = NULL;

    if (!ref) {
        g = git_repository_head(&r, repo);
        if (g == GIT_EUNBORNBRANCH || g == GIT_ENOTFOUND) {
            rc = head_missing(repo, url);
            goto cleanup;
        }
        if (g < 0) {
            rc = git_fail(g, "%s", url);
            goto cleanup;
        }
        if (git_repository_head_detached(repo) == 1 || !git_reference_is_branch(r)) {
            rc = cr_error_set(CR_EINVAL, "%s: its HEAD is not a branch; choose a ref with --ref", url);
            goto cleanup;
        }
        if ((g = git_reference_peel(&obj, r, GIT_OBJECT_COMMIT)) < 0) {
            rc = git_fail(g, "%s", url);
            goto cleanup;
        }
        git_oid_cpy(commit, git_object_id(obj));
        *kind = CR_REF_BRANCH;
        *name = cr_xstrdup(git_reference_shorthand(r));
        goto cleanup;
    }

    const char *plain = ref;
    bool want_branch = true, want_tag = true;
    if (!strncmp(ref, "refs/heads/", 11)) {
        plain = ref + 11;
        want_tag = false;
    } else if (!strncmp(ref, "refs/tags/", 10)) {
        plain = ref + 10;
        want_branch = false;
    }
    refname = cr_xasprintf("refs/remotes/origin/%s", plain);
    if (want_branch && *plain && git_reference_lookup(&r, repo, refname) == 0 &&
        git_reference_peel(&obj, r, GIT_OBJECT_COMMIT) == 0) {
        *kind = CR_REF_BRANCH;
        goto found;
    }
    git_reference_free(r);
    r = NULL;
    free(refname);
    refname = cr_xasprintf("refs/tags/%s", plain);
    if (want_tag && *plain && git_reference_lookup(&r, repo, refname) == 0 &&
        git_reference_peel(&obj, r, GIT_OBJECT_COMMIT) == 0) {
        *kind = CR_REF_TAG;
        goto found;
    }
    size_t len = strlen(ref);
    bool hex = len >= 4 && len <= GIT_OID_HEXSZ && strspn(ref, "0123456789abcdef") == len;
    git_oid prefix;
    if (hex && git_oid_fromstrn(&prefix, ref, len) == 0) {
        g = git_object_lookup_prefix(&obj, repo, &prefix, len, GIT_OBJECT_COMMIT);
        if (g == GIT_EAMBIGUOUS) {
            rc = cr_error_set(CR_EINVAL, "%s: commit prefix '%s' is ambiguous; give more digits", url, ref);
            goto cleanup;
        }
        if (g == 0) {
            *kind = CR_REF_COMMIT;
            git_oid_cpy(commit, git_object_id(obj));
            *name = oid_hex(commit);
            goto cleanup;
        }
    }
    rc = cr_error_set(CR_ENOTFOUND, "%s has no branch, tag or commit '%s'", url, ref);
    goto cleanup;

found:
    git_oid_cpy(commit, git_object_id(obj));
    *name = cr_xstrdup(plain);
cleanup:
    git_object_free(obj);
    git_reference_free(r);
    free(refname);
    return rc;
}

/* Makes the clone's own work tree and index match COMMIT and detaches HEAD
 * there; anything else in the work tree is discarded (it is crange's). */
static int worktree_checkout(git_repository *repo, const git_oid *commit, const char *label)
{
    int rc = 0, g;
    git_commit *c = NULL;
    git_checkout_options co;
    git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
    co.checkout_strategy = GIT_CHECKOUT_FORCE | GIT_CHECKOUT_RECREATE_MISSING | GIT_CHECKOUT_REMOVE_UNTRACKED;
    if ((g = git_commit_lookup(&c, repo, commit)) < 0 ||
        (g = git_checkout_tree(repo, (const git_object *)c, &co)) < 0 ||
        (g = git_repository_set_head_detached(repo, commit)) < 0)
        rc = git_fail(g, "%s: cannot check out the pinned commit", label);
    git_commit_free(c);
    return rc;
}

/* Writes COMMIT's tree into DIR (an empty folder) without touching the
 * clone's own work tree, index or HEAD. */
static int tree_materialise(git_repository *repo, const git_oid *commit, const char *dir, const char *label)
{
    int rc = 0, g;
    git_commit *c = NULL;
    git_checkout_options co;
    git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
    co.checkout_strategy = GIT_CHECKOUT_FORCE | GIT_CHECKOUT_RECREATE_MISSING | GIT_CHECKOUT_DONT_UPDATE_INDEX;
    co.target_directory = dir;
    if ((g = git_commit_lookup(&c, repo, commit)) < 0 || (g = git_checkout_tree(repo, (const git_object *)c, &co)) < 0)
        rc = git_fail(g, "%s: cannot check out a commit", label);
    git_commit_free(c);
    return rc;
}

/* HEAD is at COMMIT and git status shows nothing. */
static bool worktree_matches(git_repository *repo, const git_oid *commit)
{
    git_oid head;
    if (git_reference_name_to_id(&head, repo, "HEAD") < 0 || !git_oid_equal(&head, commit))
        return false;
    git_status_options so;
    git_status_options_init(&so, GIT_STATUS_OPTIONS_VERSION);
    so.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS;
    git_status_list *st = NULL;
    bool clean = git_status_list_new(&st, repo, &so) == 0 && git_status_list_entrycount(st) == 0;
    git_status_list_free(st);
    return clean;
}

static void commit_facts(cr_catalog_entry *e, git_repository *repo, const git_oid *commit)
{
    git_commit *c = NULL;
    char when[32] = "";
    const char *msg = "";
    if (git_commit_lookup(&c, repo, commit) == 0) {
        cr_iso8601(when, (int64_t)git_commit_time(c) * 1000);
        msg = git_commit_message(c) ? git_commit_message(c) : "";
    }
    free(e->commit);
    free(e->commit_time);
    free(e->commit_message);
    e->commit = oid_hex(commit);
    e->commit_time = cr_xstrdup(when);
    e->commit_message = cr_xstrdup(msg);
    git_commit_free(c);
}

/* ---- Checking a tree ------------------------------------------------------ */

/* 0 for a link that stays inside, else CR_EINVAL naming LINK and what is
 * wrong with its TARGET; WHAT names the root. */
static int link_refuse(const char *link, const char *target, cr_link_verdict v, const char *what)
{
    switch (v) {
    case CR_LINK_INSIDE:
        break;
    case CR_LINK_OUTSIDE:
        return cr_error_set(CR_EINVAL, "%s: symlink to '%s' points outside the %s", link, target, what);
    case CR_LINK_INTO_GIT:
        return cr_error_set(CR_EINVAL, "%s: symlink to '%s' points into .git/", link, target);
    case CR_LINK_LOOPS:
        return cr_error_set(CR_EINVAL, "%s: symlink to '%s' loops (more than %d links to follow)", link, target,
                            CR_LINK_MAX_HOPS);
    }
    return 0;
}

/* Refuses a tree with a symlink that cr_scenario_link_check (scenario.h)
 * does not find inside ROOT: absolute, leaving it, into a .git folder, or
 * looping. REL is the folder being walked ("" for the root); .git at the
 * root is the clone's own and is skipped. WHAT names ROOT in messages. The
 * walk is the catalog's own: a repository is not a scenario folder (its dot
 * folders are checked too, and the scenario caps do not apply to it). */
static int tree_check_links(const char *root, const char *rel, const char *what)
{
    int rc = 0;
    char *dir = *rel ? cr_path_join(root, rel) : cr_xstrdup(root);
    DIR *d = opendir(dir);
    struct dirent *e;
    if (!d) {
        rc = cr_error_set(CR_ERROR, "%s: %s", dir, strerror(errno));
        goto cleanup;
    }
    while (rc == 0 && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || (!*rel && !strcmp(e->d_name, ".git")))
            continue;
        char *child = *rel ? cr_xasprintf("%s/%s", rel, e->d_name) : cr_xstrdup(e->d_name);
        char *full = cr_path_join(root, child);
        struct stat st;
        if (lstat(full, &st) < 0) {
            rc = cr_error_set(CR_ERROR, "%s: %s", full, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            rc = tree_check_links(root, child, what);
        } else if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t len = readlink(full, target, sizeof target - 1);
            if (len < 0) {
                rc = cr_error_set(CR_ERROR, "%s: %s", full, strerror(errno));
            } else {
                target[len] = '\0';
                rc = link_refuse(child, target, cr_scenario_link_check(root, child, target), what);
            }
        }
        free(full);
        free(child);
    }
cleanup:
    if (d)
        closedir(d);
    free(dir);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_scenario_folder(const char *dir)
{
    char *file = cr_path_join(dir, "scenario.lua");
    struct stat st;
    bool yes = stat(file, &st) == 0 && S_ISREG(st.st_mode);
    free(file);
    return yes;
}

/*
 * Finds the scenarios of the tree at ROOT: scenario.lua at the root, and
 * scenarios/<sub>/scenario.lua. Only finds; scenarios_validate loads them.
 * LABEL names the repository in the message when there are none.
 */
static int scenarios_find(cr_catalog_scenario **out, size_t *n, const char *root, const char *label)
{
    int rc = 0;
    char **subs = NULL;
    size_t nsubs = 0, cap = 0;
    char *dir = cr_path_join(root, "scenarios");
    DIR *d = opendir(dir);
    struct dirent *e;
    cr_catalog_scenario *list = NULL;
    *out = NULL;
    *n = 0;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *sub = cr_path_join(dir, e->d_name);
        if (is_scenario_folder(sub)) {
            cr_grow(&subs, &cap, nsubs + 1, sizeof *subs);
            subs[nsubs++] = cr_xstrdup(e->d_name);
        }
        free(sub);
    }
    if (subs)
        qsort(subs, nsubs, sizeof *subs, cmp_str);
    bool root_one = is_scenario_folder(root);
    size_t total = nsubs + (root_one ? 1 : 0);
    if (total == 0) {
        rc = cr_error_set(CR_EINVAL,
                          "%s holds no scenario: expected scenario.lua at its root or scenarios/NAME/scenario.lua",
                          label);
        goto cleanup;
    }
    list = cr_xcalloc(total, sizeof *list);
    size_t k = 0;
    if (root_one)
        list[k++].path = cr_xstrdup(".");
    for (size_t i = 0; rc == 0 && i < nsubs; i++) {
        if (!cr_name_valid(subs[i], CR_NAME_MAX)) {
            rc = cr_error_set(CR_EINVAL,
                              "scenarios/%s: a scenario folder's name must be a lowercase letter, then lowercase "
                              "letters, digits or '-' (at most %d characters), so that catalog:NAME/SUB can name it",
                              subs[i], CR_NAME_MAX);
            break;
        }
        list[k].sub = cr_xstrdup(subs[i]);
        list[k++].path = cr_xasprintf("scenarios/%s", subs[i]);
    }
    if (rc == 0) {
        *out = list;
        *n = total;
        list = NULL;
    }
cleanup:
    scenarios_free(list, total);
    for (size_t i = 0; i < nsubs; i++)
        free(subs[i]);
    free(subs);
    if (d)
        closedir(d);
    free(dir);
    return rc;
}

/*
 * Loads every scenario found with cr_scenario_load (no image check: images
 * are a property of the host, not of the repository) and records its id
 * and title. A scenario's messages name files relative to its folder; they
 * are made relative to the repository here.
 */
static int scenarios_validate(cr_catalog_scenario *list, size_t n, const char *root)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        cr_scenario *s = NULL;
        cr_load_opts lo = {0};
        char *dir = cr_path_join(root, list[i].path);
        rc = cr_scenario_load(&s, dir, &lo);
        if (rc < 0) {
            char *msg = cr_xstrdup(cr_error_message());
            size_t rl = strlen(root);
            if (!strncmp(msg, root, rl) && msg[rl] == '/')
                cr_error_replace(rc, "%s", msg + rl + 1);
            else if (strcmp(list[i].path, ".") && msg[0] != '/')
                cr_error_replace(rc, "%s/%s", list[i].path, msg);
            free(msg);
        } else {
            list[i].id = cr_xstrdup(s->id);
            list[i].title.ja = cr_xstrdup(s->title.ja);
            list[i].title.en = cr_xstrdup(s->title.en);
        }
        cr_scenario_free(s);
        free(dir);
    }
    return rc;
}

/* Everything a tree must pass before it enters the catalog. */
static int tree_check(cr_catalog_scenario **list, size_t *n, const char *root, const char *label)
{
    int rc = tree_check_links(root, "", "repository");
    if (rc == 0)
        rc = scenarios_find(list, n, root, label);
    if (rc == 0 && (rc = scenarios_validate(*list, *n, root)) < 0) {
        scenarios_free(*list, *n);
        *list = NULL;
        *n = 0;
    }
    return rc;
}

/* ---- Add, list, get, update, remove ---------------------------------------- */

int cr_catalog_add(cr_catalog_entry **out, const char *state_dir, const char *source, const char *name,
                   const char *ref)
{
    int rc = 0, g, lock = -1;
    bool git = false;
    char *cat = cr_catalog_dir(state_dir), *url = NULL, *derived = NULL, *tmp = NULL, *final = NULL;
    char *entry_file = NULL;
    git_repository *repo = NULL;
    git_oid commit;
    cr_catalog_entry *e = NULL;
    cred_state cs = {0};
    *out = NULL;

    if ((rc = git_begin()) < 0)
        goto cleanup;
    git = true;
    if ((rc = source_resolve(&url, source)) < 0)
        goto cleanup;
    if (!name) {
        name = derived = default_name(url);
        if (!cr_name_valid(name, CR_NAME_MAX)) {
            rc = cr_error_set(CR_EINVAL, "cannot use '%s' (from %s) as a catalog name; choose one with --name", name,
                              source);
            goto cleanup;
        }
    }
    if ((rc = name_check(name)) < 0 || (rc = catalog_lock(&lock, cat)) < 0)
        goto cleanup;
    catalog_sweep(cat);
    entry_file = cr_xasprintf("%s/%s.json", cat, name);
    if (cr_path_exists(entry_file)) {
        /* Read for the message only; an unreadable entry still takes the name. */
        json_t *old = json_load_file(entry_file, 0, NULL);
        const char *old_url = json_string_value(json_object_get(old, "url"));
        rc = cr_error_set(CR_EEXISTS,
                          "the catalog already has '%s' (from %s); remove it first or choose another --name", name,
                          old_url ? old_url : "?");
        json_decref(old);
        goto cleanup;
    }
    if ((rc = tmp_folder(&tmp, cat, name)) < 0)
        goto cleanup;

    git_clone_options co;
    git_clone_options_init(&co, GIT_CLONE_OPTIONS_VERSION);
    co.checkout_opts.checkout_strategy = GIT_CHECKOUT_NONE; /* the pinned commit is checked out below */
    fetch_callbacks_set(&co.fetch_opts, &cs);
    if ((g = git_clone(&repo, url, tmp, &co)) < 0) {
        rc = git_fail(g, "cannot clone %s", url);
        goto cleanup;
    }
    e = cr_xcalloc(1, sizeof *e);
    if ((rc = ref_resolve(&commit, &e->ref_kind, &e->ref, repo, ref, url)) < 0 ||
        (rc = worktree_checkout(repo, &commit, url)) < 0)
        goto cleanup;
    commit_facts(e, repo, &commit);
    git_repository_free(repo); /* before the folder moves */
    repo = NULL;
    if ((rc = tree_check(&e->scenarios, &e->n_scenarios, tmp, url)) < 0)
        goto cleanup;

    e->name = cr_xstrdup(name);
    e->url = cr_xstrdup(url);
    e->added_at = iso_now();
    e->updated_at = cr_xstrdup(e->added_at);
    final = cr_path_join(cat, name);
    if (rename(tmp, final) < 0) {
        rc = cr_error_set(CR_ERROR, "%s: %s", final, strerror(errno));
        goto cleanup;
    }
    free(tmp);
    tmp = NULL;
    /* The commit point: until <name>.json exists, the clone is debris. */
    if ((rc = entry_save(e, cat)) < 0) {
        remove_quietly(final);
        goto cleanup;
    }
    e->dir = final;
    final = NULL;
    *out = e;
    e = NULL;
cleanup:
    git_repository_free(repo);
    if (tmp)
        remove_quietly(tmp);
    catalog_unlock(lock);
    if (git)
        git_libgit2_shutdown();
    cr_catalog_entry_free(e);
    free(entry_file);
    free(final);
    free(tmp);
    free(derived);
    free(url);
    free(cat);
    return rc;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp((*(cr_catalog_entry *const *)a)->name, (*(cr_catalog_entry *const *)b)->name);
}

int cr_catalog_list(cr_catalog_entry ***out, size_t *n, const char *state_dir)
{
    int rc = 0;
    char *cat = cr_catalog_dir(state_dir);
    cr_catalog_entry **list = NULL;
    size_t count = 0, cap = 0;
    DIR *d = opendir(cat);
    struct dirent *e;
    *out = NULL;
    *n = 0;
    /* Entry files are replaced atomically, so reading needs no lock. */
    while (rc == 0 && d && (e = readdir(d))) {
        if (e->d_name[0] == '.' || !has_suffix(e->d_name, ".json"))
            continue;
        char *name = cr_xstrndup(e->d_name, strlen(e->d_name) - 5);
        if (cr_name_valid(name, CR_NAME_MAX)) {
            cr_catalog_entry *entry = NULL;
            if ((rc = entry_load(&entry, cat, name)) == 0) {
                cr_grow(&list, &cap, count + 1, sizeof *list);
                list[count++] = entry;
            }
        }
        free(name);
    }
    if (d)
        closedir(d);
    if (rc < 0) {
        cr_catalog_list_free(list, count);
    } else {
        if (list)
            qsort(list, count, sizeof *list, cmp_entry);
        *out = list;
        *n = count;
    }
    free(cat);
    return rc;
}

int cr_catalog_get(cr_catalog_entry **out, const char *state_dir, const char *name)
{
    *out = NULL;
    if (!cr_name_valid(name, CR_NAME_MAX))
        return not_in_catalog(name ? name : "");
    char *cat = cr_catalog_dir(state_dir);
    int rc = entry_load(out, cat, name);
    free(cat);
    return rc;
}

int cr_catalog_update(cr_catalog_entry **out, char **previous, const char *state_dir, const char *name)
{
    int rc = 0, g, lock = -1;
    bool git = false;
    char *cat = cr_catalog_dir(state_dir), *refname = NULL, *tmp = NULL, *prev = NULL;
    char a[13], b[13];
    cr_catalog_entry *e = NULL;
    git_repository *repo = NULL;
    git_remote *remote = NULL;
    git_oid old, head;
    cred_state cs = {0};
    cr_catalog_scenario *list = NULL;
    size_t n = 0;
    *out = NULL;
    if (previous)
        *previous = NULL;

    /* No folder or lock for a name that is not there. */
    if ((rc = cr_catalog_get(&e, state_dir, name)) < 0)
        goto cleanup;
    cr_catalog_entry_free(e);
    e = NULL;
    if ((rc = git_begin()) < 0)
        goto cleanup;
    git = true;
    if ((rc = catalog_lock(&lock, cat)) < 0)
        goto cleanup;
    catalog_sweep(cat);
    if ((rc = entry_load(&e, cat, name)) < 0)
        goto cleanup;
    /* Tags and commits do not move: refuse without asking the network. */
    if (e->ref_kind == CR_REF_TAG) {
        rc = cr_error_set(CR_EINVAL, "'%s' is pinned to tag '%s' (commit %s), which does not move; re-add it with "
                                     "another --ref",
                          name, e->ref, short_hex(e->commit, a));
        goto cleanup;
    }
    if (e->ref_kind == CR_REF_COMMIT) {
        rc = cr_error_set(CR_EINVAL, "'%s' is pinned to commit %s; re-add it with another --ref", name,
                          short_hex(e->commit, a));
        goto cleanup;
    }
    prev = cr_xstrdup(e->commit);
    git_oid_fromstr(&old, e->commit);

    if ((g = git_repository_open_ext(&repo, e->dir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL)) < 0 ||
        (g = git_remote_lookup(&remote, repo, "origin")) < 0) {
        rc = git_fail(g, "%s", e->dir);
        goto cleanup;
    }
    git_fetch_options fo;
    git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
    fetch_callbacks_set(&fo, &cs);
    if ((g = git_remote_fetch(remote, NULL, &fo, "crange scenario update")) < 0) {
        rc = git_fail(g, "cannot fetch %s", e->url);
        goto cleanup;
    }
    refname = cr_xasprintf("refs/remotes/origin/%s", e->ref);
    if (git_reference_name_to_id(&head, repo, refname) < 0) {
        rc = cr_error_set(CR_ENOTFOUND, "%s no longer has branch '%s'; re-add '%s' with another --ref", e->url, e->ref,
                          name);
        goto cleanup;
    }
    if (git_oid_equal(&head, &old)) {
        /* Nothing new; still repair a work tree an interruption left behind. */
        if (!worktree_matches(repo, &old))
            rc = worktree_checkout(repo, &old, name);
        goto done;
    }
    char *new_hex = oid_hex(&head);
    g = git_graph_descendant_of(repo, &head, &old);
    if (g != 1) {
        if (g < 0)
            rc = git_fail(g, "%s", name);
        else
            rc = cr_error_set(CR_EINVAL,
                              "cannot update '%s': branch '%s' of %s was rewritten: the pinned commit %s is not an "
                              "ancestor of its new head %s; re-add it to accept the new history",
                              name, e->ref, e->url, short_hex(e->commit, a), short_hex(new_hex, b));
        free(new_hex);
        goto cleanup;
    }
    free(new_hex);

    /* Validate the new commit in a copy before anything moves. */
    if ((rc = tmp_folder(&tmp, cat, name)) < 0 || (rc = tree_materialise(repo, &head, tmp, name)) < 0 ||
        (rc = tree_check(&list, &n, tmp, e->url)) < 0)
        goto cleanup;
    if ((rc = worktree_checkout(repo, &head, name)) < 0)
        goto cleanup;
    commit_facts(e, repo, &head);
    scenarios_free(e->scenarios, e->n_scenarios);
    e->scenarios = list;
    e->n_scenarios = n;
    list = NULL;
    free(e->updated_at);
    e->updated_at = iso_now();
    if ((rc = entry_save(e, cat)) < 0)
        goto cleanup;
done:
    if (rc == 0) {
        *out = e;
        e = NULL;
        if (previous) {
            *previous = prev;
            prev = NULL;
        }
    }
cleanup:
    git_remote_free(remote);
    git_repository_free(repo);
    if (tmp)
        remove_quietly(tmp);
    catalog_unlock(lock);
    if (git)
        git_libgit2_shutdown();
    scenarios_free(list, n);
    cr_catalog_entry_free(e);
    free(prev);
    free(tmp);
    free(refname);
    free(cat);
    return rc;
}

int cr_catalog_remove(const char *state_dir, const char *name)
{
    int rc = 0, lock = -1;
    char *cat = cr_catalog_dir(state_dir), *file = NULL, *dir = NULL;
    if (!cr_name_valid(name, CR_NAME_MAX)) {
        rc = not_in_catalog(name ? name : "");
        goto cleanup;
    }
    file = cr_xasprintf("%s/%s.json", cat, name);
    if (!cr_path_exists(file)) {
        rc = not_in_catalog(name);
        goto cleanup;
    }
    if ((rc = catalog_lock(&lock, cat)) < 0)
        goto cleanup;
    /* The commit point: without its entry file the rest is debris, which
     * the sweep removes now (or after a crash, next time). */
    if (unlink(file) < 0) {
        rc = errno == ENOENT ? not_in_catalog(name) : cr_error_set(CR_ERROR, "%s: %s", file, strerror(errno));
        goto cleanup;
    }
    catalog_sweep(cat);
    dir = cr_path_join(cat, name);
    if (cr_path_exists(dir))
        rc = cr_rm_rf(dir);
cleanup:
    catalog_unlock(lock);
    free(dir);
    free(file);
    free(cat);
    return rc;
}

/* ---- Resolve and provenance ------------------------------------------------- */

void cr_provenance_clear(cr_provenance *prov)
{
    if (!prov)
        return;
    free(prov->name);
    free(prov->url);
    free(prov->ref);
    free(prov->commit);
    free(prov->subpath);
    free(prov->content_hash);
    memset(prov, 0, sizeof *prov);
}

json_t *cr_provenance_json(const cr_provenance *p)
{
    json_t *j = json_pack("{s:s}", "kind", cr_provenance_kind_name(p->kind));
    if (p->name)
        json_object_set_new(j, "name", json_string(p->name));
    if (p->url)
        json_object_set_new(j, "url", json_string(p->url));
    if (p->ref)
        json_object_set_new(j, "ref", json_string(p->ref));
    if (p->commit)
        json_object_set_new(j, "commit", json_string(p->commit));
    if (p->kind == CR_PROV_GIT)
        json_object_set_new(j, "dirty", json_boolean(p->dirty));
    if (p->subpath)
        json_object_set_new(j, "subpath", json_string(p->subpath));
    if (p->content_hash)
        json_object_set_new(j, "content_hash", json_string(p->content_hash));
    return j;
}

char *cr_provenance_describe(const cr_provenance *p)
{
    char c[13], h[13];
    short_hex(p->commit, c);
    short_hex(p->content_hash, h);
    switch (p->kind) {
    case CR_PROV_CATALOG: {
        char *ref = cr_provenance_catalog_ref(p);
        char *text = cr_xasprintf("%s at %s (%s) from %s", ref, p->ref, c, p->url);
        free(ref);
        return text;
    }
    case CR_PROV_GIT:
        return cr_xasprintf("git %s, commit %s%s%s, folder %s%s", p->url ? p->url : "(no origin)", c,
                            p->ref ? " on " : "", p->ref ? p->ref : "", p->subpath,
                            p->dirty ? ", with uncommitted changes" : "");
    case CR_PROV_PATH:
        return p->content_hash ? cr_xasprintf("uncommitted path, content %s", h) : cr_xstrdup("uncommitted path");
    }
    return cr_xstrdup("?");
}

int cr_provenance_from_json(cr_provenance *p, const json_t *j)
{
    memset(p, 0, sizeof *p);
    const char *kind = json_string_value(json_object_get(j, "kind"));
    if (!kind)
        return cr_error_set(CR_EINVAL, "stored provenance has no kind");
    if (!strcmp(kind, "catalog"))
        p->kind = CR_PROV_CATALOG;
    else if (!strcmp(kind, "git"))
        p->kind = CR_PROV_GIT;
    else if (!strcmp(kind, "path"))
        p->kind = CR_PROV_PATH;
    else
        return cr_error_set(CR_EINVAL, "stored provenance has an unknown kind '%s'", kind);
    p->name = cr_xstrdup(json_string_value(json_object_get(j, "name")));
    p->url = cr_xstrdup(json_string_value(json_object_get(j, "url")));
    p->ref = cr_xstrdup(json_string_value(json_object_get(j, "ref")));
    p->commit = cr_xstrdup(json_string_value(json_object_get(j, "commit")));
    p->dirty = json_is_true(json_object_get(j, "dirty"));
    p->subpath = cr_xstrdup(json_string_value(json_object_get(j, "subpath")));
    p->content_hash = cr_xstrdup(json_string_value(json_object_get(j, "content_hash")));
    return 0;
}

char *cr_provenance_catalog_ref(const cr_provenance *p)
{
    if (p->kind != CR_PROV_CATALOG || !p->name)
        return NULL;
    bool root = !p->subpath || !strcmp(p->subpath, ".");
    const char *sub = root ? NULL : strrchr(p->subpath, '/') ? strrchr(p->subpath, '/') + 1 : p->subpath;
    return sub ? cr_xasprintf("catalog:%s/%s", p->name, sub) : cr_xasprintf("catalog:%s", p->name);
}

#if defined(__SANITIZE_ADDRESS__)
/*
 * libgit2 1.5 (Debian 12) leaks a pcre2 match block each time one of its
 * regular expressions fails to match (git_regexp_match; fixed upstream in
 * libgit2 PR #6382, released in 1.6). Not ours to fix; LeakSanitizer reads
 * this hook in sanitizer builds of every program that links the catalog.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libpcre2-8.so\n";
}
#endif

/* Splits "catalog:NAME[/SUB]". */
static int ref_parse(char **name, char **sub, const char *ref)
{
    *name = *sub = NULL;
    const char *rest = cr_catalog_is_ref(ref) ? ref + 8 : NULL;
    const char *slash = rest ? strchr(rest, '/') : NULL;
    char *n = rest ? (slash ? cr_xstrndup(rest, (size_t)(slash - rest)) : cr_xstrdup(rest)) : NULL;
    char *s = slash ? cr_xstrdup(slash + 1) : NULL;
    if (!n || !cr_name_valid(n, CR_NAME_MAX) || (slash && !cr_name_valid(s, CR_NAME_MAX))) {
        free(n);
        free(s);
        return cr_error_set(CR_EINVAL, "bad catalog reference '%s': expected catalog:NAME or catalog:NAME/SUB",
                            ref ? ref : "");
    }
    *name = n;
    *sub = s;
    return 0;
}

/* Picks the scenario SUB names (NULL: the root one, or the only one). */
static int scenario_pick(const cr_catalog_scenario **out, const cr_catalog_scenario *list, size_t n,
                         const char *name, const char *sub, const char *where)
{
    *out = NULL;
    for (size_t i = 0; i < n; i++)
        if (sub ? list[i].sub && !strcmp(list[i].sub, sub) : !list[i].sub)
            *out = &list[i];
    if (!*out && !sub && n == 1)
        *out = &list[0];
    if (*out)
        return 0;
    cr_buf b = {0};
    for (size_t i = 0; i < n; i++) {
        char *r = scenario_ref(name, &list[i]);
        cr_buf_addf(&b, "%s%s", i ? ", " : "", r);
        free(r);
    }
    int rc = sub ? cr_error_set(CR_ENOTFOUND, "'%s'%s has no scenario '%s' (it holds %s)", name, where, sub, b.data)
                 : cr_error_set(CR_EINVAL, "'%s'%s holds %zu scenarios; name one: %s", name, where, n, b.data);
    cr_buf_free(&b);
    return rc;
}

/* Materialises COMMIT of NAME's clone under .at/ once; *dir is the copy. */
static int at_materialise(char **dir, git_repository *repo, const git_oid *commit, const char *cat,
                          const char *name)
{
    int rc = 0;
    char *at = cr_path_join(cat, ".at"), *hex = oid_hex(commit), *tmp = NULL;
    char *final = cr_xasprintf("%s/%s-%s", at, name, hex);
    *dir = NULL;
    if (!cr_is_dir(final)) {
        if ((rc = tmp_folder(&tmp, at, name)) < 0 || (rc = tree_materialise(repo, commit, tmp, name)) < 0 ||
            (rc = tree_check_links(tmp, "", "repository")) < 0)
            goto cleanup;
        if (rename(tmp, final) < 0) {
            rc = cr_error_set(CR_ERROR, "%s: %s", final, strerror(errno));
            goto cleanup;
        }
    }
    *dir = final;
    final = NULL;
cleanup:
    if (tmp)
        remove_quietly(tmp);
    free(tmp);
    free(final);
    free(hex);
    free(at);
    return rc;
}

int cr_catalog_resolve(char **dir, cr_provenance *prov, const char *state_dir, const char *ref,
                       const char *at_commit)
{
    int rc = 0, g, lock = -1;
    bool git = false;
    char *cat = cr_catalog_dir(state_dir), *name = NULL, *sub = NULL, *base = NULL, *commit_hex = NULL;
    char where[64] = "";
    cr_catalog_entry *e = NULL;
    git_repository *repo = NULL;
    git_object *obj = NULL, *peeled = NULL;
    git_oid pin;
    cr_catalog_scenario *list = NULL;
    size_t n = 0;
    const cr_catalog_scenario *pick = NULL;
    *dir = NULL;
    if (at_commit && !*at_commit)
        at_commit = NULL;

    if ((rc = ref_parse(&name, &sub, ref)) < 0 || (rc = git_begin()) < 0)
        goto cleanup;
    git = true;
    /* No folder or lock for a name that is not there. */
    if ((rc = cr_catalog_get(&e, state_dir, name)) < 0)
        goto cleanup;
    cr_catalog_entry_free(e);
    e = NULL;
    if ((rc = catalog_lock(&lock, cat)) < 0 || (rc = entry_load(&e, cat, name)) < 0)
        goto cleanup;
    if ((g = git_repository_open_ext(&repo, e->dir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL)) < 0) {
        rc = git_fail(g, "%s", e->dir);
        goto cleanup;
    }
    if (!at_commit) {
        git_oid_fromstr(&pin, e->commit);
        if (!worktree_matches(repo, &pin)) {
            cr_log_warn("catalog: %s is not at its pinned commit %.12s; checking it out again", e->dir, e->commit);
            if ((rc = worktree_checkout(repo, &pin, name)) < 0)
                goto cleanup;
        }
        base = cr_xstrdup(e->dir);
        commit_hex = cr_xstrdup(e->commit);
    } else {
        g = git_revparse_single(&obj, repo, at_commit);
        if (g == 0)
            g = git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT);
        if (g == GIT_EAMBIGUOUS) {
            rc = cr_error_set(CR_EINVAL, "'%s': commit '%s' is ambiguous; give more digits", name, at_commit);
            goto cleanup;
        }
        if (g < 0) {
            rc = cr_error_set(CR_ENOTFOUND,
                              "'%s' has no commit '%s' (crange scenario update %s fetches newer commits)", name,
                              at_commit, name);
            goto cleanup;
        }
        if ((rc = at_materialise(&base, repo, git_object_id(peeled), cat, name)) < 0)
            goto cleanup;
        commit_hex = oid_hex(git_object_id(peeled));
        char c[13];
        snprintf(where, sizeof where, " at %s", short_hex(commit_hex, c));
    }
    if ((rc = scenarios_find(&list, &n, base, name)) < 0 ||
        (rc = scenario_pick(&pick, list, n, name, sub, where)) < 0)
        goto cleanup;

    *dir = strcmp(pick->path, ".") ? cr_path_join(base, pick->path) : cr_xstrdup(base);
    if (prov) {
        memset(prov, 0, sizeof *prov);
        prov->kind = CR_PROV_CATALOG;
        prov->name = cr_xstrdup(name);
        prov->url = cr_xstrdup(e->url);
        prov->ref = cr_xstrdup(at_commit ? at_commit : e->ref);
        prov->commit = commit_hex;
        commit_hex = NULL;
        prov->subpath = cr_xstrdup(pick->path);
    }
cleanup:
    git_object_free(peeled);
    git_object_free(obj);
    git_repository_free(repo);
    catalog_unlock(lock);
    if (git)
        git_libgit2_shutdown();
    scenarios_free(list, n);
    cr_catalog_entry_free(e);
    free(commit_hex);
    free(base);
    free(sub);
    free(name);
    free(cat);
    return rc;
}

/* Whether a status entry's path lies in SUB ("." for the whole work tree). */
static bool status_in(const git_status_entry *s, const char *sub)
{
    const git_diff_delta *ds[2] = {s->head_to_index, s->index_to_workdir};
    if (!strcmp(sub, "."))
        return true;
    size_t n = strlen(sub);
    for (int i = 0; i < 2; i++) {
        const char *paths[2] = {ds[i] ? ds[i]->old_file.path : NULL, ds[i] ? ds[i]->new_file.path : NULL};
        for (int k = 0; k < 2; k++)
            if (paths[k] && !strncmp(paths[k], sub, n) && (paths[k][n] == '/' || paths[k][n] == '\0'))
                return true;
    }
    return false;
}

int cr_provenance_for_path(cr_provenance *prov, const char *dir, const char *content_hash)
{
    int rc = 0;
    bool git = false;
    char *real = cr_realpath(dir), *work = NULL;
    git_repository *repo = NULL;
    git_reference *head = NULL;
    git_remote *origin = NULL;
    git_status_list *st = NULL;
    git_oid commit;
    memset(prov, 0, sizeof *prov);
    prov->kind = CR_PROV_PATH;
    prov->content_hash = cr_xstrdup(content_hash);

    if (!real || !cr_is_dir(real)) {
        rc = cr_error_set(CR_ENOTFOUND, "'%s': no such directory", dir ? dir : "");
        goto cleanup;
    }
    if ((rc = git_begin()) < 0)
        goto cleanup;
    git = true;
    /* Anything short of a work tree with a commit (no repository, a bare
     * one, an unborn HEAD, one owned by another user) is a plain path. */
    if (git_repository_open_ext(&repo, real, 0, NULL) < 0 || git_repository_is_bare(repo) ||
        !git_repository_workdir(repo) || !(work = cr_realpath(git_repository_workdir(repo))) ||
        git_reference_name_to_id(&commit, repo, "HEAD") < 0)
        goto cleanup;
    /* realpath() leaves no trailing '/', except for "/" itself. */
    size_t wl = strlen(work);
    if (wl > 1 && strncmp(real, work, wl) == 0 && real[wl] != '\0' && real[wl] != '/')
        goto cleanup;
    const char *rel = !strcmp(real, work) ? "." : real + wl + (wl > 1 ? 1 : 0);
    if (strncmp(real, work, wl) || !strcmp(rel, ".git") || !strncmp(rel, ".git/", 5))
        goto cleanup;

    git_status_options so;
    git_status_options_init(&so, GIT_STATUS_OPTIONS_VERSION);
    so.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS;
    char *spec[1] = {(char *)rel};
    if (strcmp(rel, ".")) {
        /* Limits the walk; status_in() still decides, so that "scenarios/a"
         * never matches "scenarios/ab". */
        so.pathspec.strings = spec;
        so.pathspec.count = 1;
    }
    int g = git_status_list_new(&st, repo, &so);
    if (g < 0) {
        rc = git_fail(g, "%s", real);
        goto cleanup;
    }
    bool dirty = false;
    for (size_t i = 0; !dirty && i < git_status_list_entrycount(st); i++)
        dirty = status_in(git_status_byindex(st, i), rel);

    prov->kind = CR_PROV_GIT;
    prov->commit = oid_hex(&commit);
    prov->subpath = cr_xstrdup(rel);
    prov->dirty = dirty;
    if (git_repository_head(&head, repo) == 0 && git_reference_is_branch(head))
        prov->ref = cr_xstrdup(git_reference_shorthand(head));
    if (git_remote_lookup(&origin, repo, "origin") == 0 && git_remote_url(origin))
        prov->url = cr_xstrdup(git_remote_url(origin));
cleanup:
    git_status_list_free(st);
    git_remote_free(origin);
    git_reference_free(head);
    git_repository_free(repo);
    if (git)
        git_libgit2_shutdown();
    if (rc < 0)
        cr_provenance_clear(prov);
    free(work);
    free(real);
    return rc;
}
