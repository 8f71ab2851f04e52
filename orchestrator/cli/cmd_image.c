/*
 * cmd_image.c: `crange image build NAME`, `image list`, `image verify` and
 * `image prune`, the CLI side of the image store (image.h) and of the
 * instant-clone templates kept beside it (template.h).
 */
#include "cli.h"
#include "commands.h"
#include "err.h"
#include "image.h"
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

int cr_cmd_image_prune(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = cr_cli_find("image prune");
    bool dry_run = false;
    cr_optspec specs[] = {{"dry-run", NULL, &dry_run, NULL}, {0}};
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, argc, argv, specs, pos, &npos, 0, 0, "expected no arguments");
    if (go != CR_CLI_GO)
        return go;
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
    free(root);
    if (rc < 0)
        return cr_cli_fail(cfg);
    if (cfg->json) {
        json_t *keys = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(keys, json_string(removed[i]));
        cr_cli_print_json(json_pack("{s:o, s:b, s:i}", "templates", keys, "dry_run", dry_run, "half_made_vms_removed",
                                    swept));
    } else {
        for (size_t i = 0; i < n; i++)
            printf("%s template %.12s\n", dry_run ? "would remove" : "removed", removed[i]);
        printf("%zu template%s %s; templates a range uses are kept\n", n, n == 1 ? "" : "s",
               dry_run ? "unused" : "removed");
        if (swept)
            printf("removed %d template VM%s left running by an up that was stopped while making it\n", swept,
                   swept == 1 ? "" : "s");
    }
    for (size_t i = 0; i < n; i++)
        free(removed[i]);
    free(removed);
    return CR_EXIT_OK;
}
