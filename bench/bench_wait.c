/*
 * bench_wait.c: the one poller the side-by-side benchmarks use for every
 * tool (crange, vagrant-libvirt, the serial virsh script). It watches the
 * domains whose names start with PREFIX until N of them are running and N
 * guest agents answer, and prints when each milestone was reached.
 *
 * Readiness is the call `virsh qemu-agent-command DOM '{"execute":
 * "guest-ping"}'` makes (virDomainQemuAgentCommand), made from one
 * long-lived process: spawning a virsh per poll would cost more CPU than
 * the guests' boot, on the same 2 cores.
 *
 * At the moment a guest's agent first answers, the CPU time its QEMU
 * process has used so far (utime + stime from /proc/PID/stat, the PID from
 * libvirt's /run/libvirt/qemu/DOM.pid) is its boot CPU time; their sum
 * divided by the cores is the CPU floor of "all agents ready".
 *
 * The machine may be shared: the poller also measures how much CPU went to
 * processes outside its PID namespace while it waited (the system's busy
 * time from /proc/stat less the namespace's own, when it runs inside
 * tests/e2e/netns-run.sh), and gives the floor on the cores that were left.
 *
 * Usage: bench_wait [--connect URI] [--t0 EPOCH_MS] [--timeout S]
 *                   [--straggler S] [--interval MS] PREFIX N
 * Times are seconds since --t0 (default: the poller's start). Prints one
 * JSON object; exits 0 when all N were ready, 1 when it gave up: at the
 * timeout, or when no further agent answered for --straggler seconds
 * (default 120) after the first did (a guest that failed to boot would
 * otherwise hold the run until the timeout).
 */
#include <libvirt/libvirt-qemu.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

typedef struct dom {
    char *name;
    virDomainPtr d;
    double running_s; /* < 0: not seen running yet */
    double ready_s;   /* < 0: agent not answered yet */
    double boot_cpu_s;
} dom;

static double epoch_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void silent(void *data, virErrorPtr err)
{
    (void)data;
    (void)err;
}

/* utime + stime of the domain's QEMU, in seconds; -1 when unknown. */
static double qemu_cpu_s(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "/run/libvirt/qemu/%s.pid", name);
    FILE *f = fopen(path, "r");
    long pid = 0;
    if (!f)
        return -1;
    if (fscanf(f, "%ld", &pid) != 1)
        pid = 0;
    fclose(f);
    if (pid <= 0)
        return -1;
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields after the command name, which may hold spaces: ") S ppid ...". */
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    unsigned long long utime = 0, stime = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* Busy CPU time of the whole machine, in clock ticks. */
static double machine_busy_ticks(void)
{
    unsigned long long v[10] = {0};
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return 0;
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
                   &v[5], &v[6], &v[7], &v[8], &v[9]);
    fclose(f);
    if (n < 8)
        return 0;
    return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]);
}

/* CPU time of every process this /proc shows (in a PID namespace: the
 * namespace's), plus what its init reaped, in clock ticks. */
static double visible_ticks(void)
{
    double sum = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char path[300], buf[4096];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        char *p = strrchr(buf, ')');
        unsigned long long ut = 0, st = 0, cut = 0, cst = 0;
        if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu", &ut, &st, &cut,
                         &cst) != 4)
            continue;
        sum += (double)(ut + st);
        if (!strcmp(e->d_name, "1"))
            sum += (double)(cut + cst);
    }
    if (d)
        closedir(d);
    return sum;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *uri = getenv("CRANGE_CONNECT") ? getenv("CRANGE_CONNECT") : "qemu:///system";
    double t0 = epoch_ms();
    int timeout_s = 1800, interval_ms = 200, straggler_s = 120;
    int i = 1;
    for (; i + 1 < argc && !strncmp(argv[i], "--", 2); i += 2) {
        if (!strcmp(argv[i], "--connect"))
            uri = argv[i + 1];
        else if (!strcmp(argv[i], "--t0"))
            t0 = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--timeout"))
            timeout_s = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--straggler"))
            straggler_s = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--interval"))
            interval_ms = atoi(argv[i + 1]);
        else
            break;
    }
    if (argc - i != 2) {
        fprintf(stderr, "usage: bench_wait [--connect URI] [--t0 EPOCH_MS] [--timeout S] [--interval MS] PREFIX N\n");
        return 2;
    }
    const char *prefix = argv[i];
    size_t want = (size_t)atol(argv[i + 1]);
    size_t plen = strlen(prefix);

    virSetErrorFunc(NULL, silent);
    virConnectPtr c = virConnectOpen(uri);
    if (!c) {
        fprintf(stderr, "bench_wait: cannot connect to %s: %s\n", uri, virGetLastErrorMessage());
        return 2;
    }
    dom *doms = calloc(want ? want : 1, sizeof *doms);
    size_t n = 0, n_running = 0, n_ready = 0;
    double all_running_s = -1, all_ready_s = -1, last_ready_s = -1;
    long polls = 0;
    double busy0 = machine_busy_ticks(), ours0 = visible_ticks(), start_ms = epoch_ms();
    double busy1 = busy0, ours1 = ours0, end_ms = start_ms;

    while (n_ready < want && (epoch_ms() - t0) / 1000.0 < timeout_s &&
           (last_ready_s < 0 || (epoch_ms() - t0) / 1000.0 - last_ready_s < straggler_s)) {
        if (n < want) {
            virDomainPtr *list = NULL;
            int nl = virConnectListAllDomains(c, &list, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
            for (int k = 0; k < nl; k++) {
                const char *name = virDomainGetName(list[k]);
                bool known = false;
                for (size_t j = 0; j < n && !known; j++)
                    known = !strcmp(doms[j].name, name);
                if (!known && n < want && name && !strncmp(name, prefix, plen)) {
                    doms[n] = (dom){strdup(name), list[k], -1, -1, -1};
                    n++;
                    continue;
                }
                virDomainFree(list[k]);
            }
            free(list);
        }
        for (size_t j = 0; j < n; j++) {
            dom *x = &doms[j];
            if (x->running_s < 0) {
                int state = 0, reason = 0;
                if (virDomainGetState(x->d, &state, &reason, 0) == 0 && state == VIR_DOMAIN_RUNNING) {
                    x->running_s = (epoch_ms() - t0) / 1000.0;
                    if (++n_running == want)
                        all_running_s = x->running_s;
                }
            }
            if (x->running_s < 0 || x->ready_s >= 0)
                continue;
            char *reply = virDomainQemuAgentCommand(x->d, "{\"execute\":\"guest-ping\"}", 1, 0);
            polls++;
            if (reply) {
                x->ready_s = (epoch_ms() - t0) / 1000.0;
                x->boot_cpu_s = qemu_cpu_s(x->name);
                last_ready_s = x->ready_s;
                if (++n_ready == want) {
                    all_ready_s = x->ready_s;
                    busy1 = machine_busy_ticks();
                    ours1 = visible_ticks();
                    end_ms = epoch_ms();
                }
                free(reply);
            }
        }
        if (n_ready < want)
            usleep((useconds_t)interval_ms * 1000);
    }

    double cpu_sum = 0;
    size_t cpu_known = 0;
    double *cpus = calloc(n ? n : 1, sizeof *cpus);
    for (size_t j = 0; j < n; j++)
        if (doms[j].boot_cpu_s >= 0) {
            cpu_sum += doms[j].boot_cpu_s;
            cpus[cpu_known++] = doms[j].boot_cpu_s;
        }
    qsort(cpus, cpu_known, sizeof *cpus, cmp_double);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (end_ms == start_ms) { /* not all answered: up to now */
        busy1 = machine_busy_ticks();
        ours1 = visible_ticks();
        end_ms = epoch_ms();
    }
    double others = (busy1 - busy0 - (ours1 - ours0)) / (double)sysconf(_SC_CLK_TCK) / ((end_ms - start_ms) / 1000.0);
    if (others < 0)
        others = 0;
    double left = (double)cores - others > 0.1 ? (double)cores - others : 0.1;
    printf("{\"prefix\":\"%s\",\"n\":%zu,\"running\":%zu,\"ready\":%zu,\"all_running_s\":%.3f,"
           "\"all_ready_s\":%.3f,\"last_ready_s\":%.3f,\"boot_cpu_s_sum\":%.2f,\"boot_cpu_s_p50\":%.2f,\"boot_cpu_s_max\":%.2f,"
           "\"cores\":%ld,\"cpu_floor_s\":%.2f,\"others_cores\":%.2f,\"cpu_floor_shared_s\":%.2f,"
           "\"pings\":%ld}\n",
           prefix, want, n_running, n_ready, all_running_s, all_ready_s, last_ready_s, cpu_sum,
           cpu_known ? cpus[(cpu_known - 1) / 2] : -1.0, cpu_known ? cpus[cpu_known - 1] : -1.0, cores,
           cpu_sum / (double)cores, others, cpu_sum / left, polls);
    for (size_t j = 0; j < n; j++) {
        virDomainFree(doms[j].d);
        free(doms[j].name);
    }
    free(doms);
    free(cpus);
    virConnectClose(c);
    return n_ready == want ? 0 : 1;
}
