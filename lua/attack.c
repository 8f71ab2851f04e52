/*
 * attack.c: the ATT&CK technique table of attack.h. The embedded TSV is
 * split once into a sorted array of (id, name) and searched with bsearch;
 * the array and its strings live until the process ends. A line the
 * format does not allow is skipped rather than fatal: the file is checked
 * by test_attack.c, and a scenario naming a technique on such a line gets
 * the plain "unknown technique" error.
 */
#include "attack.h"

#include "embedded.h"
#include "util.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct technique {
    char *id;
    char *name;
} technique;

static technique *table;
static size_t n_table;
static pthread_once_t once = PTHREAD_ONCE_INIT;

bool cr_attack_id_shape(const char *id)
{
    if (!id || id[0] != 'T')
        return false;
    for (int i = 1; i <= 4; i++)
        if (!isdigit((unsigned char)id[i]))
            return false;
    if (id[5] == '\0')
        return true;
    if (id[5] != '.')
        return false;
    for (int i = 6; i <= 8; i++)
        if (!isdigit((unsigned char)id[i]))
            return false;
    return id[9] == '\0';
}

static int cmp_technique(const void *a, const void *b)
{
    return strcmp(((const technique *)a)->id, ((const technique *)b)->id);
}

static void load(void)
{
    const cr_embedded_file *f = NULL;
    for (const cr_embedded_file *e = cr_embedded_files; e->name; e++)
        if (!strcmp(e->name, "attack-techniques"))
            f = e;
    if (!f)
        return;
    size_t cap = 0;
    const char *p = f->data, *end = f->data + f->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        const char *tab = memchr(p, '\t', (size_t)(eol - p));
        if (*p != '#' && tab && tab + 1 < eol) {
            char *id = cr_xstrndup(p, (size_t)(tab - p));
            if (cr_attack_id_shape(id)) {
                cr_grow(&table, &cap, n_table + 1, sizeof *table);
                table[n_table++] = (technique){.id = id, .name = cr_xstrndup(tab + 1, (size_t)(eol - tab - 1))};
            } else {
                free(id);
            }
        }
        p = eol + 1;
    }
    qsort(table, n_table, sizeof *table, cmp_technique);
}

const char *cr_attack_name(const char *id)
{
    if (!cr_attack_id_shape(id))
        return NULL;
    pthread_once(&once, load);
    technique key = {.id = (char *)id};
    const technique *t = n_table ? bsearch(&key, table, n_table, sizeof *table, cmp_technique) : NULL;
    return t ? t->name : NULL;
}

size_t cr_attack_count(void)
{
    pthread_once(&once, load);
    return n_table;
}
