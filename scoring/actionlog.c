/*
 * actionlog.c: one VM's action log (actionlog.h): lines split, checked,
 * placed in their spool's sequence, stored or dropped and counted.
 */
#include "actionlog.h"

#include "err.h"
#include "events.h"
#include "log.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const cr_actionlog_limits CR_ACTIONLOG_DEFAULTS = {
    .max_line = 65536,
    .rate = 10,
    .burst = 100,
    .budget = 4 << 20,
    .flush_ms = 10000,
};

/* A seq beyond this is refused: a guest could otherwise jump its spool
 * close to LONG_MAX and make next + 1 overflow. */
#define MAX_SEQ 1000000000000LL

enum { DROP_OVERSIZED, DROP_MALFORMED, DROP_MISSING, DROP_RATE, DROP_BUDGET, N_DROPS };
static const char *const drop_names[N_DROPS] = {"oversized", "malformed", "missing", "rate", "budget"};

struct cr_actionlog {
    cr_state *st; /* borrowed */
    int team;
    char *vm;
    cr_actionlog_limits lim;
    cr_buf line;      /* the line being read, up to max_line bytes */
    size_t over;      /* its bytes beyond max_line, not kept */
    bool first;       /* the next line is the first since the channel opened */
    char spool[64];   /* the spool being read; "" before the first line */
    long next;        /* next seq expected from that spool */
    bool from_db;     /* next was read from the database, no line placed since */
    double tokens;
    int64_t refill_ms;
    int64_t used;     /* bytes of this VM's lines stored, ever */
    size_t stored;
    struct {
        size_t lines;
        int64_t bytes;
    } drop[N_DROPS];
    int64_t flushed_ms;
};

cr_actionlog *cr_actionlog_new(cr_state *st, int team, const char *vm, const cr_actionlog_limits *limits)
{
    cr_actionlog *l = cr_xcalloc(1, sizeof *l);
    l->st = st;
    l->team = team;
    l->vm = cr_xstrdup(vm);
    l->lim = limits ? *limits : CR_ACTIONLOG_DEFAULTS;
    l->first = true;
    l->tokens = l->lim.burst;
    cr_buf_addn(&l->line, "", 0);
    if (cr_events_action_bytes(st, team, vm, &l->used) < 0) {
        cr_log_warn("team %d %s: %s", team, vm, cr_error_message());
        cr_error_clear();
    }
    return l;
}

void cr_actionlog_free(cr_actionlog *l)
{
    if (!l)
        return;
    cr_buf_free(&l->line);
    free(l->vm);
    free(l);
}

static void count_drop(cr_actionlog *l, int why, size_t lines, int64_t bytes)
{
    l->drop[why].lines += lines;
    l->drop[why].bytes += bytes;
}

/* A copy of s with every byte that does not start a valid UTF-8 sequence
 * replaced by U+FFFD, or NULL when s is valid. */
static char *utf8_repair(const char *s, size_t n, size_t *out_len)
{
    const unsigned char *u = (const unsigned char *)s;
    cr_buf b = {0};
    size_t done = 0, i = 0;
    while (i < n) {
        uint32_t cp;
        size_t len = cr_utf8_decode(u, n, i, &cp);
        if (len) {
            i += len;
            continue;
        }
        cr_buf_addn(&b, s + done, i - done);
        cr_buf_add(&b, "\xef\xbf\xbd");
        i++;
        done = i;
    }
    if (!b.data)
        return NULL;
    cr_buf_addn(&b, s + done, n - done);
    *out_len = b.len;
    return cr_buf_steal(&b);
}

static bool spool_ok(const char *s, size_t n)
{
    if (n == 0 || n >= sizeof ((cr_actionlog *)0)->spool)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '-' || s[i] == '_'))
            return false;
    return true;
}

/* The spool and seq of a line that is no action line, read from its start
 * as the helpers write it: {"seq":N,"spool":"ID", ... Returns false when
 * they cannot be read. */
static bool read_prefix(const char *s, size_t n, char spool[64], long *seq)
{
    static const char a[] = "{\"seq\":", b[] = ",\"spool\":\"";
    if (n < sizeof a - 1 || memcmp(s, a, sizeof a - 1))
        return false;
    size_t i = sizeof a - 1;
    long long v = 0;
    size_t digits = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9' && digits < 13) {
        v = v * 10 + (s[i++] - '0');
        digits++;
    }
    if (!digits || v < 1 || v > MAX_SEQ || n - i < sizeof b - 1 || memcmp(s + i, b, sizeof b - 1))
        return false;
    i += sizeof b - 1;
    const char *q = memchr(s + i, '"', n - i);
    if (!q || !spool_ok(s + i, (size_t)(q - (s + i))))
        return false;
    memcpy(spool, s + i, (size_t)(q - (s + i)));
    spool[q - (s + i)] = '\0';
    *seq = (long)v;
    return true;
}

/* Makes (spool, seq) the line to handle. Returns false for a line already
 * handled (a resend); skipped seqs are counted missing. */
static bool place(cr_actionlog *l, const char *spool, long seq)
{
    if (strcmp(spool, l->spool)) {
        snprintf(l->spool, sizeof l->spool, "%s", spool);
        int64_t max = 0;
        if (cr_events_action_seq_max(l->st, l->team, l->vm, spool, &max) < 0) {
            /* Counted as 0: the guest resends and the dedupe key drops
             * what is stored already. */
            cr_log_warn("team %d %s: %s", l->team, l->vm, cr_error_message());
            cr_error_clear();
        }
        l->next = (long)max + 1;
        l->from_db = true;
    }
    if (seq < l->next)
        return false;
    if (seq > l->next) {
        /* After a restart the database knows only the stored lines: those
         * the last run dropped (and acknowledged) are not resent. */
        if (!l->from_db)
            count_drop(l, DROP_MISSING, (size_t)(seq - l->next), 0);
        cr_log_debug("team %d %s: spool %s jumps from line %ld to %ld", l->team, l->vm, spool, l->next, seq);
        l->next = seq;
    }
    l->from_db = false;
    return true;
}

static bool take_token(cr_actionlog *l, int64_t now_ms)
{
    if (l->refill_ms && now_ms > l->refill_ms) {
        l->tokens += (double)(now_ms - l->refill_ms) / 1000.0 * l->lim.rate;
        if (l->tokens > l->lim.burst)
            l->tokens = l->lim.burst;
    }
    l->refill_ms = now_ms;
    if (l->tokens < 1)
        return false;
    l->tokens -= 1;
    return true;
}

/* A line that is no action line: passed over when its place can be read. */
static bool take_bad(cr_actionlog *l, int why, const char *s, size_t kept, size_t len)
{
    char spool[64];
    long seq = 0;
    if (!read_prefix(s, kept, spool, &seq)) {
        if (l->first)
            /* Most likely the tail of a line cut when the last reader
             * ended; the guest sends the whole line again. */
            cr_log_debug("team %d %s: a partial line after the channel opened (%zu bytes)", l->team, l->vm, len);
        else
            count_drop(l, why, 1, (int64_t)len);
        return false;
    }
    if (place(l, spool, seq)) {
        count_drop(l, why, 1, (int64_t)len);
        l->next++;
    }
    return true;
}

static bool optional_string(json_t *j, const char *key)
{
    json_t *v = json_object_get(j, key);
    return !v || json_is_string(v);
}

static bool take_line(cr_actionlog *l, int64_t now_ms)
{
    const char *s = l->line.data;
    size_t kept = l->line.len, len = kept + l->over;
    if (l->over)
        return take_bad(l, DROP_OVERSIZED, s, kept, len);
    size_t fixed_len = 0;
    char *fixed = utf8_repair(s, kept, &fixed_len);
    json_t *j = json_loadb(fixed ? fixed : s, fixed ? fixed_len : kept, JSON_REJECT_DUPLICATES, NULL);
    free(fixed);
    json_t *seqv = json_object_get(j, "seq"), *status = json_object_get(j, "status"), *of = json_object_get(j, "of");
    const char *spool = json_string_value(json_object_get(j, "spool"));
    const char *cmd = json_string_value(json_object_get(j, "command"));
    bool is_status = !json_object_get(j, "command") && json_is_integer(status) && json_is_integer(of);
    bool ok = json_is_object(j) && json_is_integer(seqv) && json_integer_value(seqv) >= 1 &&
              json_integer_value(seqv) <= MAX_SEQ && spool && spool_ok(spool, strlen(spool)) &&
              (cmd || is_status) && optional_string(j, "user") && optional_string(j, "cwd") &&
              (!json_object_get(j, "time") || json_is_integer(json_object_get(j, "time")));
    if (!ok) {
        json_decref(j);
        return take_bad(l, DROP_MALFORMED, s, kept, len);
    }
    long seq = (long)json_integer_value(seqv);
    if (!place(l, spool, seq)) {
        json_decref(j);
        return true;
    }
    if (l->used + (int64_t)len > l->lim.budget) {
        count_drop(l, DROP_BUDGET, 1, (int64_t)len);
        l->next++;
    } else if (!take_token(l, now_ms)) {
        count_drop(l, DROP_RATE, 1, (int64_t)len);
        l->next++;
    } else {
        char dedupe[160];
        snprintf(dedupe, sizeof dedupe, "action:%d:%s:%s:%ld", l->team, l->vm, spool, seq);
        json_t *data = is_status
                           ? json_pack("{s:O?, s:O, s:O, s:s, s:I, s:O?}", "user", json_object_get(j, "user"), "of", of,
                                       "status", status, "spool", spool, "seq", (json_int_t)seq, "guest_time",
                                       json_object_get(j, "time"))
                           : json_pack("{s:O?, s:O?, s:s, s:s, s:I, s:O?}", "user", json_object_get(j, "user"), "cwd",
                                       json_object_get(j, "cwd"), "command", cmd, "spool", spool, "seq",
                                       (json_int_t)seq, "guest_time", json_object_get(j, "time"));
        bool inserted = false;
        if (cr_event_add(l->st, 0, l->team, l->vm, is_status ? "action.status" : "action.command", data, dedupe,
                         &inserted) == 0) {
            l->next++;
            if (inserted) {
                l->stored++;
                l->used += (int64_t)len;
                if (cmd)
                    cr_log_info("team %d %s: %s", l->team, l->vm, cmd);
            }
        } else {
            /* Not acknowledged: the guest sends it again. */
            cr_log_warn("storing an action of team %d %s: %s", l->team, l->vm, cr_error_message());
            cr_error_clear();
        }
        json_decref(data);
    }
    json_decref(j);
    return true;
}

bool cr_actionlog_feed(cr_actionlog *l, const char *data, size_t n, int64_t now_ms)
{
    bool placed = false;
    size_t i = 0;
    while (i < n) {
        const char *nl = memchr(data + i, '\n', n - i);
        size_t chunk = nl ? (size_t)(nl - (data + i)) : n - i;
        size_t room = l->line.len < l->lim.max_line ? l->lim.max_line - l->line.len : 0;
        size_t keep = chunk < room ? chunk : room;
        cr_buf_addn(&l->line, data + i, keep);
        l->over += chunk - keep;
        i += chunk;
        if (!nl)
            break;
        i++;
        placed |= take_line(l, now_ms);
        l->first = false;
        l->line.len = 0;
        l->line.data[0] = '\0';
        l->over = 0;
    }
    return placed;
}

long cr_actionlog_ack(const cr_actionlog *l)
{
    return l->next > 0 ? l->next - 1 : 0;
}

void cr_actionlog_reopened(cr_actionlog *l)
{
    l->line.len = 0;
    l->line.data[0] = '\0';
    l->over = 0;
    l->first = true;
}

void cr_actionlog_flush(cr_actionlog *l, int64_t now_ms, bool force)
{
    size_t lines = 0;
    for (int k = 0; k < N_DROPS; k++)
        lines += l->drop[k].lines;
    if (!lines || (!force && l->flushed_ms && now_ms - l->flushed_ms < l->lim.flush_ms))
        return;
    json_t *data = json_object();
    cr_buf what = {0};
    for (int k = 0; k < N_DROPS; k++) {
        if (!l->drop[k].lines)
            continue;
        json_object_set_new(data, drop_names[k], json_pack("{s:I, s:I}", "lines", (json_int_t)l->drop[k].lines,
                                                            "bytes", (json_int_t)l->drop[k].bytes));
        cr_buf_addf(&what, "%s%zu %s", what.len ? ", " : "", l->drop[k].lines, drop_names[k]);
    }
    if (cr_event_add(l->st, 0, l->team, l->vm, "action.dropped", data, NULL, NULL) == 0) {
        cr_log_warn("team %d %s: action lines dropped: %s", l->team, l->vm, what.data);
        memset(l->drop, 0, sizeof l->drop);
        l->flushed_ms = now_ms;
    } else {
        cr_log_warn("recording dropped actions of team %d %s: %s", l->team, l->vm, cr_error_message());
        cr_error_clear();
    }
    cr_buf_free(&what);
    json_decref(data);
}

size_t cr_actionlog_stored(const cr_actionlog *l)
{
    return l->stored;
}
