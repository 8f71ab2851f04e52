/*
 * cmd_image.c: `crange image build NAME`, `image list`, `image verify` and
 * `image prune`, the CLI side of the image store (image.h) and of the
 * instant-clone templates kept beside it (template.h), here and on the
 * remote hosts (ship.h).
 */
#include "cli.h"
#include "commands.h"
#include "err.h"
#include "hosts.h"
#include "image.h"
#include "ship.h"
#include "template.h"
#include "virt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cr_cmd_image_build(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = cr_cli_find("image build");
    bool force = false;
    cr_optspec specs[] = {{"force", NULL, &force, NULL}, {0}};
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, argc, argv, specs, pos, &npos, 1, 1, "expected one image NAME");
    if (go != CR_CLI_GO)
        return go;
    char *store = cr_config_images(cfg);
    bool rebuilt = false;
    int rc = cr_image_build(store, pos[0], force, &rebuilt);
    cr_image *img = NULL;
    if (rc == 0)
        rc = cr_image_open(&img, store, pos[0]);
    free(store);
    if (rc < 0)
        return cr_cli_fail(cfg);
    if (cfg->json)
        cr_cli_print_json(json_pack("{s:s, s:b, s:s, s:s, s:I, s:s}", "image", img->name, "rebuilt", rebuilt, "dir",
                                    img->dir, "recipe_hash", img->recipe_hash, "size", (json_int_t)img->size,
                                    "built_at", img->built_at));
    else
        printf("image %s %s: %s (%.1f MiB, recipe %.12s, built %s)\n", img->name,
               rebuilt ? "built" : "is up to date", img->dir, img->size / 1048576.0, img->recipe_hash, img->built_at);
    cr_image_free(img);
    return CR_EXIT_OK;
}

int cr_cmd_image_list(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = cr_cli_find("image list");
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, argc, argv, NULL, pos, &npos, 0, 0, "takes no arguments");
    if (go != CR_CLI_GO)
        return go;
    char *store = cr_config_images(cfg);
    json_t *list = cr_image_list(store);
    free(store);
    if (cfg->json) {
        cr_cli_print_json(list);
        return CR_EXIT_OK;
    }
    printf("%-14s %-10s %10s  %-14s %s\n", "IMAGE", "STATE", "SIZE", "RECIPE HASH", "BUILT");
    size_t i;
    json_t *r;
    bool layers = false;
    json_array_foreach(list, i, r)
    {
        if (!strcmp(json_string_value(json_object_get(r, "kind")), "layer")) {
            /* Role layers follow the images, in a table of their own. */
            if (!layers)
                printf("\n%-14s %-10s %10s  %-14s %-20s %s\n", "LAYER (ROLE)", "STATE", "SIZE", "KEY", "BUILT",
                       "ON IMAGE");
            layers = true;
            char lsize[32];
            snprintf(lsize, sizeof lsize, "%.1f MiB", json_integer_value(json_object_get(r, "size")) / 1048576.0);
            printf("%-14s %-10s %10s  %-14.12s %-20s %s\n", json_string_value(json_object_get(r, "name")),
                   json_string_value(json_object_get(r, "state")), lsize, json_string_value(json_object_get(r, "key")),
                   json_string_value(json_object_get(r, "built_at")), json_string_value(json_object_get(r, "image")));
            continue;
        }
        const char *hash = json_string_value(json_object_get(r, "recipe_hash"));
        const char *built = json_string_value(json_object_get(r, "built_at"));
        char size[32] = "-";
        if (json_object_get(r, "size"))
            snprintf(size, sizeof size, "%.1f MiB", json_integer_value(json_object_get(r, "size")) / 1048576.0);
        printf("%-14s %-10s %10s  %-14.12s %s\n", json_string_value(json_object_get(r, "name")),
               json_string_value(json_object_get(r, "state")), size, hash ? hash : "-", built ? built : "-");
    }
    json_decref(list);
    return CR_EXIT_OK;
}

int cr_cmd_image_verify(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = cr_cli_find("image verify");
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, argc, argv, NULL, pos, &npos, 1, 1, "expected one image NAME");
    if (go != CR_CLI_GO)
        return go;
    char *store = cr_config_images(cfg);
    int rc = cr_image_verify(store, pos[0]);
    free(store);
    if (rc < 0)
        return cr_cli_fail(cfg);
    if (cfg->json)
        cr_cli_print_json(json_pack("{s:s, s:b}", "image", pos[0], "intact", 1));
    else
        printf("image %s: every file matches its checksum\n", pos[0]);
    return CR_EXIT_OK;
}

static void strv_free_null(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* One remote host's prune: its templates, then the images they sat on. */
typedef struct host_prune {
    const cr_host *host;
    bool reached;
    char *error;
    char **templates, **images;
    size_t n_templates, n_images;
} host_prune;

static void prune_host(host_prune *hp, const char *lock_root, bool dry_run)
{
    cr_virt *v = NULL;
    int rc = cr_virt_open(&v, hp->host->uri, 1);
    hp->reached = rc == 0;
    if (rc == 0)
        rc = cr_template_prune_remote(&hp->templates, &hp->n_templates, v, lock_root, dry_run);
    if (rc == 0)
        rc = cr_ship_prune(&hp->images, &hp->n_images, v, dry_run);
    if (rc < 0) {
        hp->error = cr_xstrdup(cr_error_message());
        cr_error_clear();
    }
    cr_virt_close(v);
}

int cr_cmd_image_prune(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = cr_cli_find("image prune");
    bool dry_run = false;
    const char *spec = NULL;
    cr_optspec specs[] = {{"dry-run", NULL, &dry_run, NULL}, {"hosts", &spec, NULL, NULL}, {0}};
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, argc, argv, specs, pos, &npos, 0, 0, "expected no arguments");
    if (go != CR_CLI_GO)
        return go;
    /* The remote hosts first named: a bad --hosts stops before anything
     * is removed. */
    cr_hosts hosts = {0};
    char **uris = NULL;
    size_t n_uris = 0;
    host_prune *hp = NULL;
    size_t n_hp = 0;
    if (spec) {
        int rc = cr_hosts_load(&hosts, cfg->state_dir);
        if (rc == 0)
            rc = cr_hosts_select(&uris, &n_uris, &hosts, spec);
        if (rc < 0) {
            cr_hosts_free(&hosts);
            return cr_cli_fail(cfg);
        }
        hp = cr_xcalloc(n_uris + 1, sizeof *hp);
        for (size_t i = 0; i < n_uris; i++)
            for (size_t k = 0; k < hosts.n; k++)
                if (!strcmp(hosts.v[k].uri, uris[i]) && strcmp(uris[i], cfg->connect))
                    hp[n_hp++].host = &hosts.v[k]; /* the local libvirt is pruned below, as always */
    }
    cr_virt *v = NULL;
    char *root = cr_config_templates(cfg);
    char **removed = NULL;
    size_t n = 0;
    int swept = 0;
    int rc = cr_virt_open(&v, cfg->connect, 1);
    if (rc == 0)
        rc = cr_template_prune(&removed, &n, v, root, dry_run);
    if (rc == 0 && !dry_run)
        rc = swept = cr_template_sweep(v, root);
    if (rc > 0)
        rc = 0;
    cr_virt_close(v);
    if (rc < 0) {
        free(root);
        free(hp);
        cr_strv_free(uris, n_uris);
        cr_hosts_free(&hosts);
        return cr_cli_fail(cfg);
    }
    size_t failed = 0;
    for (size_t i = 0; i < n_hp; i++) {
        if (!cfg->json)
            fprintf(stderr, "pruning host %s (%s)...\n", hp[i].host->name, hp[i].host->uri);
        prune_host(&hp[i], root, dry_run);
        failed += hp[i].error != NULL;
    }
    free(root);
    const char *verb = dry_run ? "would remove" : "removed";
    if (cfg->json) {
        json_t *keys = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(keys, json_string(removed[i]));
        json_t *out = json_pack("{s:o, s:b, s:i}", "templates", keys, "dry_run", dry_run, "half_made_vms_removed",
                                swept);
        if (spec) {
            json_t *ha = json_array();
            for (size_t i = 0; i < n_hp; i++) {
                json_t *t = json_array(), *im = json_array();
                for (size_t k = 0; k < hp[i].n_templates; k++)
                    json_array_append_new(t, json_string(hp[i].templates[k]));
                for (size_t k = 0; k < hp[i].n_images; k++)
                    json_array_append_new(im, json_string(hp[i].images[k]));
                json_t *h = json_pack("{s:s, s:s, s:b, s:o, s:o}", "host", hp[i].host->name, "uri", hp[i].host->uri,
                                      "reachable", hp[i].reached, "templates", t, "images", im);
                if (hp[i].error)
                    json_object_set_new(h, "error", json_string(hp[i].error));
                json_array_append_new(ha, h);
            }
            json_object_set_new(out, "hosts", ha);
        }
        cr_cli_print_json(out);
    } else {
        for (size_t i = 0; i < n; i++)
            printf("%s template %.12s\n", verb, removed[i]);
        printf("%zu template%s %s; templates a range uses are kept\n", n, n == 1 ? "" : "s",
               dry_run ? "unused" : "removed");
        if (swept)
            printf("removed %d template VM%s left running by an up that was stopped while making it\n", swept,
                   swept == 1 ? "" : "s");
        for (size_t i = 0; i < n_hp; i++) {
            for (size_t k = 0; k < hp[i].n_templates; k++)
                printf("%s: %s template %.12s\n", hp[i].host->name, verb, hp[i].templates[k]);
            for (size_t k = 0; k < hp[i].n_images; k++)
                printf("%s: %s image volume %s\n", hp[i].host->name, verb, hp[i].images[k]);
            if (!hp[i].error)
                printf("%s: %zu template%s and %zu image volume%s %s; what its VMs use is kept\n",
                       hp[i].host->name, hp[i].n_templates, hp[i].n_templates == 1 ? "" : "s", hp[i].n_images,
                       hp[i].n_images == 1 ? "" : "s", dry_run ? "unused" : "removed");
        }
    }
    for (size_t i = 0; i < n_hp; i++)
        if (hp[i].error)
            fprintf(stderr, "crange: image prune: host %s: %s\n", hp[i].host->name, hp[i].error);
    for (size_t i = 0; i < n; i++)
        free(removed[i]);
    free(removed);
    for (size_t i = 0; i < n_hp; i++) {
        strv_free_null(hp[i].templates, hp[i].n_templates);
        strv_free_null(hp[i].images, hp[i].n_images);
        free(hp[i].error);
    }
    free(hp);
    cr_strv_free(uris, n_uris);
    cr_hosts_free(&hosts);
    return failed ? CR_EXIT_FAIL : CR_EXIT_OK;
}
