/* SPDX-License-Identifier: MIT */
/*
 * flowrun: load, check and run a flow graph.
 *
 * Exit status: 0 ok, 1 a node failed, 2 usage or graph error, 124 timed
 * out, 128+N stopped by signal N.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flow/flow.h"

#define MAX_SETS 256

/* Most --plugin-path options (all passed on to the tasks of a Slurm run). */
#define MAX_PATHS 64

/*
 * Standard descriptors closed by whoever started flowrun (`>&-`) would be
 * the first ones the run opens, and a node writing "standard output" would
 * write into a socket or a pipe of the run. Each closed one is opened on
 * /dev/null the wrong way round (as gnulib's stdopen does): using it
 * fails with EBADF, as it would have, and nothing else lands there.
 */
static void
hold_std_fds(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        /* Without /dev/null (a bare chroot), the descriptor stays closed:
         * nothing better can be done. The lowest free one is `fd`. */
        int held = open("/dev/null", (fd == 0 ? O_WRONLY : O_RDONLY));
        if (held >= 0 && held != fd)
            close(held);
    }
}

static void
usage(FILE *out)
{
    fputs("usage: flowrun [OPTION]... GRAPH.ini\n"
          "       flowrun --check | --dot GRAPH.ini\n"
          "       flowrun --list-nodes | --describe TYPE\n"
          "       flowrun --new-key | --version | --help\n",
          out);
}

static void
help(FILE *out)
{
    usage(out);
    fputs("\n"
          "Run the dataflow graph GRAPH.ini: one process per node instance,\n"
          "wired with ZeroMQ. The graph's output goes to standard output;\n"
          "logs, progress and statistics go to standard error.\n"
          "\n"
          "Graph:\n"
          "  --set NAME=VALUE       override graph parameter NAME\n"
          "  --set NODE.KEY=VALUE   override parameter KEY (or instances) "
          "of NODE\n"
          "  --check                validate the graph and exit\n"
          "  --dot                  print the graph as Graphviz DOT and exit\n"
          "  --plugin-path DIR      look for node plugins (TYPE.so) in DIR "
          "first\n"
          "  --list-nodes           list the node types found\n"
          "  --describe TYPE        show a node type's ports and parameters\n"
          "\n"
          "Running:\n"
          "  --timeout SECONDS      stop the run after SECONDS (exit 124)\n"
          "  --grace SECONDS        after a failure, a signal or a timeout,\n"
          "                         wait this long between SIGTERM and "
          "SIGKILL\n"
          "                         (default 0.5)\n"
          "\n"
          "Observing:\n"
          "  --stats                at exit, print a table per node instance "
          "and\n"
          "                         port: messages, items, bytes, busy, "
          "blocked,\n"
          "                         waiting, wall and CPU time, peak RSS, "
          "the\n"
          "                         credit window of a demand input\n"
          "  --stats-json FILE      write the same statistics as JSON to FILE\n"
          "  --dot-stats FILE       after the run, write the DOT graph to "
          "FILE\n"
          "                         with per-link message and item counts\n"
          "  --progress             a live progress line on standard error\n"
          "                         (not with --quiet)\n"
          "  --no-progress          none (default: on when standard error is "
          "a\n"
          "                         terminal, standard output is not that\n"
          "                         terminal, --quiet is not given and\n"
          "                         FLOW_STATS is not 0)\n"
          "  --log-level LEVEL      error, warning, info (default) or debug;\n"
          "                         a node's log_level key overrides it\n"
          "  --quiet                no messages but errors (nodes' too,\n"
          "                         unless --log-level is given)\n"
          "\n"
          "Across machines (docs/cluster.md):\n"
          "  --transport tcp        links over TCP instead of ipc\n"
          "  --bind ADDR            TCP: the address (IPv4, or IPv6 such as\n"
          "                         ::1 or [fd00::2]; or an interface, or a\n"
          "                         host name) to bind and advertise\n"
          "                         (default 127.0.0.1; with --instance, the\n"
          "                         address that reaches the rendezvous; with\n"
          "                         --rendezvous-only or --launcher slurm,\n"
          "                         every IPv4 interface)\n"
          "  --rendezvous-only      serve only the rendezvous: print its\n"
          "                         address, wait for every instance\n"
          "  --instance NODE:I --rendezvous tcp://HOST:PORT\n"
          "                         run only instance I of NODE\n"
          "  --launcher slurm       run every instance in one srun step\n"
          "                         (FLOW_SRUN_ARGS adds srun options; the\n"
          "                         node keys cpus and slurm_constraint\n"
          "                         place instances)\n"
          "  --slurm-task --rendezvous tcp://HOST:PORT\n"
          "                         run the instance of Slurm task\n"
          "                         $SLURM_PROCID (what --launcher slurm\n"
          "                         starts)\n"
          "  --secure               encrypt and authenticate every TCP\n"
          "                         connection with the key in FLOW_KEY,\n"
          "                         which every process of the run needs\n"
          "                         (--transport tcp and --launcher slurm\n"
          "                         make one when it is unset)\n"
          "  --new-key              print a fresh key for FLOW_KEY and exit\n"
          "  --liveness SECONDS     with --rendezvous-only or --launcher\n"
          "                         slurm: an instance, or the rendezvous,\n"
          "                         silent this long is lost and the run\n"
          "                         fails (default 10; 0: never)\n",
          out);
    fputs("\n"
          "Examples:\n"
          "  flowrun graphs/palindromes.ini --set words=1000000 "
          "--set workers=auto\n"
          "  flowrun --check graphs/sieve.ini\n"
          "  flowrun --dot graphs/sieve.ini | dot -Tsvg > sieve.svg\n"
          "  flowrun graphs/sieve.ini --set output=count --stats\n"
          "  flowrun graphs/sieve.ini --stats-json s.json --dot-stats s.dot "
          ">/dev/null\n"
          "  flowrun --describe words\n"
          "\n"
          "Exit status:\n"
          "  0      every node instance exited 0\n"
          "  1      a node failed (its name, instance, pid and status are "
          "printed)\n"
          "         or could not be started (fork, ulimit -u)\n"
          "  2      bad usage or graph (errors name FILE:LINE), or a run\n"
          "         that cannot start here (--bind, ulimit -n,\n"
          "         no run directory, not even in /tmp)\n"
          "  124    --timeout expired\n"
          "  128+N  stopped by signal N (130 for Ctrl-C)\n"
          "\n"
          "Environment:\n"
          "  FLOW_PLUGIN_PATH  colon-separated directories searched for "
          "plugins\n"
          "                    after --plugin-path and before the built-in "
          "ones,\n"
          "                    which are in DIR/" FLOW_PLUGIN_REL_DIR "\n"
          "                    where DIR is the directory of this flowrun\n"
          "  XDG_RUNTIME_DIR, TMPDIR\n"
          "                    where the private run directory for the ipc://\n"
          "                    endpoints is made: XDG_RUNTIME_DIR if it is a\n"
          "                    writable directory, else TMPDIR, else /tmp\n"
          "  FLOW_AUTO_INSTANCES\n"
          "                    what instances = auto stands for (default:\n"
          "                    the online CPUs; --launcher slurm passes its\n"
          "                    own count to its tasks)\n"
          "  FLOW_KEY          the key of a secured TCP run (--secure,\n"
          "                    --new-key): every process of the run needs\n"
          "                    the same\n"
          "\n"
          "Graph format: docs/graph-format.md; statistics: "
          "docs/observability.md;\n"
          "manual: man flowrun.\n",
          out);
}

static void
add_builtin_path(flow_registry_t *reg)
{
    char exe[PATH_MAX], dir[PATH_MAX + 64];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

    if (n <= 0)
        return;
    exe[n] = '\0';
    snprintf(dir, sizeof(dir), "%s/%s", dirname(exe), FLOW_PLUGIN_REL_DIR);
    flow_registry_add_path(reg, dir);
}

static int
error_diag(const flow_diag_t *diag)
{
    char buf[1024];

    fprintf(stderr, "flowrun: error: %s\n",
            flow_diag_format(diag, buf, sizeof(buf)));
    return 2;
}

/* Parse a --log-level name into flow_log_level_t + 1 (0 on error). */
static int
parse_log_level(const char *s)
{
    int level = flow_log_level_parse(s);

    if (level >= 0)
        return level + 1;
    fprintf(stderr,
            "flowrun: error: --log-level '%s': expected error, warning, info "
            "or debug\n",
            s);
    return 0;
}

/*
 * Block the stop signals that the run reads (flow_graph_run's list), but
 * those this process ignores, until flowrun exits. The run restores the
 * mask it found when it ends: with them unblocked there, one that came
 * between the run's end and the exit (timeout(1)'s second copy of its
 * signal, a late Ctrl-C) killed flowrun by its default action instead of
 * being dropped, the run's result standing.
 */
/* Add `sig` to `m` unless this process ignores it. */
static void
add_held(sigset_t *m, int sig)
{
    struct sigaction sa;

    if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler != SIG_IGN)
        sigaddset(m, sig);
}

static void
hold_stop_signals(void)
{
    /* SIGUSR1 too: the run reads it as a stop (it is the launcher's own
     * notice to its instances, not in flow__stop_signals_add's list, and
     * added to the run's mask by itself). Not held here, one that came
     * before the run or after it killed flowrun by its default action. */
    static const int stops[] = { SIGINT,  SIGTERM, SIGHUP,    SIGALRM,
                                 SIGUSR1, SIGUSR2, SIGVTALRM, SIGPROF,
                                 SIGPWR,  SIGIO,   SIGSTKFLT };
    sigset_t m;

    sigemptyset(&m);
    for (size_t i = 0; i < sizeof(stops) / sizeof(*stops); i++)
        add_held(&m, stops[i]);
    for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
        add_held(&m, sig);
    sigprocmask(SIG_BLOCK, &m, NULL);
}

/* Whether FLOW_KEY holds a key (an empty one is none, as for the
 * library). */
static bool
key_set(void)
{
    const char *k = getenv("FLOW_KEY");

    return k && *k;
}

static int
parse_seconds(const char *opt, const char *s, double *out)
{
    double v = 0;

    if (flow_parse_double(s, strlen(s), &v) || !(v > 0) || v > 1e7) {
        fprintf(
            stderr,
            "flowrun: error: %s '%s': expected seconds, > 0 and at most 1e7\n",
            opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* --liveness SECONDS: 0 turns the check off (liveness_s < 0). */
static int
parse_liveness(const char *s, double *out)
{
    double v = 0;

    /* Under 1 s, a loaded host's healthy instance may miss its answers. */
    if (flow_parse_double(s, strlen(s), &v) ||
        !(v == 0 || (v >= 1 && v <= 6553))) {
        fprintf(stderr,
                "flowrun: error: --liveness '%s': expected seconds, from 1 "
                "to 6553, or 0 for no liveness check\n",
                s);
        return -1;
    }
    *out = v == 0 ? -1 : v;
    return 0;
}

/* Parse the decimal environment variable `name` into `*out`. */
static int
env_unsigned(const char *name, unsigned *out)
{
    const char *v = getenv(name);
    char *end;
    unsigned long u;

    if (!v || !*v)
        return -1;
    errno = 0;
    u = strtoul(v, &end, 10);
    if (errno || *end || u > UINT_MAX)
        return -1;
    *out = (unsigned)u;
    return 0;
}

/* --slurm-task: the instance of task $SLURM_PROCID of the launcher's
 * heterogeneous step (flow_graph_slurm_task). */
static int
run_slurm_task(flow_graph_t *g, const char *rendezvous, const char *instance,
               const flow_run_opts_t *ro)
{
    unsigned task, ntasks, inst;
    const char *node;
    flow_diag_t diag;
    int status;

    if (!rendezvous || instance) {
        fprintf(stderr, "flowrun: error: --slurm-task needs --rendezvous "
                        "tcp://HOST:PORT and no --instance\n");
        return 2;
    }
    if (env_unsigned("SLURM_PROCID", &task) ||
        env_unsigned("SLURM_NTASKS", &ntasks)) {
        fprintf(stderr, "flowrun: error: --slurm-task: SLURM_PROCID and "
                        "SLURM_NTASKS are not set: not a task of a Slurm "
                        "step\n");
        return 2;
    }
    if (ntasks != flow_graph_process_count(g) ||
        flow_graph_slurm_task(g, task, &node, &inst)) {
        fprintf(stderr,
                "flowrun: error: --slurm-task: task %u of %u, but graph "
                "'%s' runs %u processes\n",
                task, ntasks, flow_graph_name(g), flow_graph_process_count(g));
        return 2;
    }
    status = flow_graph_run_instance_opts(g, node, inst, rendezvous, ro, &diag);
    if (status == 2 && diag.msg[0])
        error_diag(&diag);
    return status;
}


/* When the value `arg` given to an option is one of the `opts` (as
 * "--name" or "--name=..."), that option's name as written, else NULL. */
static const char *
option_taken_as_value(const struct option *opts, const char *arg)
{
    if (strncmp(arg, "--", 2))
        return NULL;
    for (const struct option *o = opts; o->name; o++) {
        size_t len = strlen(o->name);
        if (!strncmp(arg + 2, o->name, len) &&
            (arg[2 + len] == '\0' || arg[2 + len] == '='))
            return arg;
    }
    return NULL;
}

/* `status`, or 1 after saying so if what was printed on standard output
 * could not be written (a full disk, a closed pipe with SIGPIPE ignored). */
static int
stdout_status(int status)
{
    int e;

    errno = 0;
    if (fflush(stdout) == 0 && !ferror(stdout))
        return status;
    e = errno ? errno : EIO; /* an error of an earlier write: not kept */
    fprintf(stderr, "flowrun: error: cannot write to standard output: %s\n",
            strerror(e));
    return status ? status : 1;
}

/* Whether standard output is the terminal standard error is: the graph's
 * output would land in the middle of the progress line (which is erased
 * before flowrun's own lines only). */
static bool
stdout_on_stderr(void)
{
    struct stat o, e;

    return isatty(STDOUT_FILENO) && !fstat(STDOUT_FILENO, &o) &&
           !fstat(STDERR_FILENO, &e) && o.st_rdev == e.st_rdev;
}

int
main(int argc, char **argv)
{
    enum {
        O_SET = 256,
        O_CHECK,
        O_TIMEOUT,
        O_GRACE,
        O_PLUGIN_PATH,
        O_LIST,
        O_DESCRIBE,
        O_QUIET,
        O_DOT,
        O_STATS,
        O_STATS_JSON,
        O_DOT_STATS,
        O_PROGRESS,
        O_NO_PROGRESS,
        O_LOG_LEVEL,
        O_TRANSPORT,
        O_BIND,
        O_INSTANCE,
        O_RENDEZVOUS,
        O_RDV_ONLY,
        O_LAUNCHER,
        O_SLURM_TASK,
        O_LIVENESS,
        O_SECURE,
        O_NEW_KEY,
        O_VERSION,
        O_HELP
    };
    static const struct option opts[] = {
        { "set", required_argument, NULL, O_SET },
        { "check", no_argument, NULL, O_CHECK },
        { "timeout", required_argument, NULL, O_TIMEOUT },
        { "grace", required_argument, NULL, O_GRACE },
        { "plugin-path", required_argument, NULL, O_PLUGIN_PATH },
        { "list-nodes", no_argument, NULL, O_LIST },
        { "describe", required_argument, NULL, O_DESCRIBE },
        { "quiet", no_argument, NULL, O_QUIET },
        { "dot", no_argument, NULL, O_DOT },
        { "stats", no_argument, NULL, O_STATS },
        { "stats-json", required_argument, NULL, O_STATS_JSON },
        { "dot-stats", required_argument, NULL, O_DOT_STATS },
        { "progress", no_argument, NULL, O_PROGRESS },
        { "no-progress", no_argument, NULL, O_NO_PROGRESS },
        { "log-level", required_argument, NULL, O_LOG_LEVEL },
        { "transport", required_argument, NULL, O_TRANSPORT },
        { "bind", required_argument, NULL, O_BIND },
        { "instance", required_argument, NULL, O_INSTANCE },
        { "rendezvous", required_argument, NULL, O_RENDEZVOUS },
        { "rendezvous-only", no_argument, NULL, O_RDV_ONLY },
        { "launcher", required_argument, NULL, O_LAUNCHER },
        { "slurm-task", no_argument, NULL, O_SLURM_TASK },
        { "liveness", required_argument, NULL, O_LIVENESS },
        { "secure", no_argument, NULL, O_SECURE },
        { "new-key", no_argument, NULL, O_NEW_KEY },
        { "version", no_argument, NULL, O_VERSION },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    const char *sets[MAX_SETS];
    size_t nsets = 0;
    const char *describe = NULL;
    const char *instance = NULL, *rendezvous = NULL, *paths[MAX_PATHS];
    size_t npaths = 0;
    bool rdv_only = false, slurm = false, slurm_task = false, secure = false;
    bool check = false, list = false, dot = false;
    int progress = -1; /* -1: on if stderr is a terminal and not --quiet */
    flow_run_opts_t ro;
    flow_registry_t *reg;
    flow_graph_t *g;
    flow_diag_t diag;
    int c, rc, signo = 0, status, early = -1;

    hold_std_fds();
    memset(&ro, 0, sizeof(ro));
    reg = flow_registry_new();
    const char *arg;

    /* flowrun's own output (help, node lists, DOT) leaves in one write at
     * the end where it fits in 64 KiB: a failure to write it is then seen
     * by the last flush, with its errno (an earlier implicit flush loses
     * it). The graph's output is its nodes', on the descriptor. */
    static char outbuf[1 << 16]; /* glibc ignores the size of its own */
    setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
    opterr = 0; /* said below, as "flowrun:", not as the path it ran as */
    while (early < 0 &&
           (c = getopt_long(argc, argv, ":hV", opts, NULL)) != -1) {
        const char *missing = optarg && optind > 1 && argv[optind - 1] == optarg
                                  ? option_taken_as_value(opts, optarg)
                                  : NULL;
        if (missing) {
            /* `--describe --plugin-path DIR TYPE`: the value forgotten */
            fprintf(stderr,
                    "flowrun: error: option '%s' needs a value: '%s' is an "
                    "option\n",
                    argv[optind - 2], missing);
            early = 2;
            break;
        }
        switch (c) {
        case O_SET:
            if (nsets == MAX_SETS) {
                fprintf(stderr, "flowrun: error: too many --set (at most %d)\n",
                        MAX_SETS);
                early = 2;
                break;
            }
            sets[nsets++] = optarg;
            break;
        case O_CHECK:
            check = true;
            break;
        case O_TIMEOUT:
            if (parse_seconds("--timeout", optarg, &ro.timeout_s))
                early = 2;
            break;
        case O_GRACE:
            if (parse_seconds("--grace", optarg, &ro.grace_s))
                early = 2;
            break;
        case O_PLUGIN_PATH: {
            /* A directory named on purpose must be there (entries of
             * FLOW_PLUGIN_PATH that are missing are skipped, as in PATH). */
            struct stat st;
            const char *why = NULL;
            if (stat(optarg, &st) < 0)
                why = strerror(errno);
            else if (!S_ISDIR(st.st_mode))
                why = "not a directory";
            if (why) {
                fprintf(stderr, "flowrun: error: --plugin-path '%s': %s\n",
                        optarg, why);
                early = 2;
            }
            if (npaths == MAX_PATHS) {
                fprintf(stderr,
                        "flowrun: error: too many --plugin-path "
                        "(at most %d)\n",
                        MAX_PATHS);
                early = 2;
                break;
            }
            flow_registry_add_path(reg, optarg);
            paths[npaths++] = optarg;
            break;
        }
        case O_TRANSPORT:
            if (!strcmp(optarg, "tcp") || !strcmp(optarg, "ipc")) {
                ro.tcp = !strcmp(optarg, "tcp");
            } else {
                fprintf(stderr,
                        "flowrun: error: --transport '%s': expected ipc or "
                        "tcp\n",
                        optarg);
                early = 2;
            }
            break;
        case O_BIND:
            ro.bind = optarg;
            if (!*optarg) { /* an unset shell variable: not "any" */
                fputs("flowrun: error: --bind '': give an address or an "
                      "interface name (leave --bind out for the default)\n",
                      stderr);
                early = 2;
            }
            break;
        case O_INSTANCE:
            instance = optarg;
            break;
        case O_RENDEZVOUS:
            rendezvous = optarg;
            break;
        case O_RDV_ONLY:
            rdv_only = true;
            break;
        case O_LAUNCHER:
            if (!strcmp(optarg, "slurm") || !strcmp(optarg, "local")) {
                slurm = !strcmp(optarg, "slurm");
            } else {
                fprintf(stderr,
                        "flowrun: error: --launcher '%s': expected local or "
                        "slurm\n",
                        optarg);
                early = 2;
            }
            break;
        case O_SLURM_TASK:
            slurm_task = true;
            break;
        case O_LIVENESS:
            if (parse_liveness(optarg, &ro.liveness_s))
                early = 2;
            break;
        case O_SECURE:
            secure = true;
            break;
        case O_NEW_KEY: {
            char key[FLOW_KEY_SIZE];
            if (flow_key_new(key)) {
                fputs("flowrun: error: --new-key: this libzmq has no CURVE "
                      "security (built without libsodium)\n",
                      stderr);
                early = 1;
            } else {
                printf("%s\n", key);
                early = 0;
            }
            break;
        }
        case O_LIST:
            list = true;
            break;
        case O_DESCRIBE:
            describe = optarg;
            break;
        case O_QUIET:
            ro.quiet = 1;
            break;
        case O_DOT:
            dot = true;
            break;
        case O_STATS:
            ro.stats = 1;
            break;
        case O_STATS_JSON:
            ro.stats_json = optarg;
            break;
        case O_DOT_STATS:
            ro.dot_stats = optarg;
            break;
        case O_PROGRESS:
            progress = 1;
            break;
        case O_NO_PROGRESS:
            progress = 0;
            break;
        case O_LOG_LEVEL:
            ro.log_level = parse_log_level(optarg);
            if (!ro.log_level)
                early = 2;
            break;
        case 'V':
        case O_VERSION:
            printf("flowrun %s (libflow %s, node ABI %d)\n",
                   FLOW_VERSION_STRING, flow_version(), FLOW_NODE_ABI);
            early = 0;
            break;
        case 'h':
        case O_HELP:
            help(stdout);
            early = 0;
            break;
        default:
            arg = argv[optind - 1];
            if (c == ':')
                fprintf(stderr, "flowrun: error: option '%s' needs a value\n",
                        arg);
            else if (strncmp(arg, "--", 2))
                fprintf(stderr, "flowrun: error: unknown option '-%c'\n",
                        optopt > ' ' && optopt < 127 ? optopt : '?');
            else if (strchr(arg, '=') && optopt)
                /* a known long option (optopt is its code) given a value */
                fprintf(stderr,
                        "flowrun: error: option '%.*s' takes no "
                        "value\n",
                        (int)(strchr(arg, '=') - arg), arg);
            else
                fprintf(stderr,
                        "flowrun: error: unknown or ambiguous option "
                        "'%s'\n",
                        arg);
            usage(stderr);
            fputs("Try 'flowrun --help' for more information.\n", stderr);
            early = 2;
            break;
        }
    }
    if (early < 0 && check + dot + list + (describe != NULL) > 1) {
        /* One would silently win. */
        fputs("flowrun: error: --check, --dot, --list-nodes and --describe "
              "exclude each other\n",
              stderr);
        early = 2;
    } else if (early < 0 && (list || describe) && optind < argc) {
        fprintf(stderr, "flowrun: error: %s takes no graph file ('%s')\n",
                list ? "--list-nodes" : "--describe", argv[optind]);
        early = 2;
    }
    if (early < 0 && rdv_only + slurm + slurm_task + (instance != NULL) > 1) {
        /* One would silently win. */
        fputs("flowrun: error: --rendezvous-only, --launcher slurm, "
              "--instance and --slurm-task exclude each other\n",
              stderr);
        early = 2;
    } else if (early < 0 && ro.liveness_s != 0 && !rdv_only && !slurm) {
        /* The rendezvous's: its instances take it from its heartbeats. A
         * local launcher supervises its children itself. */
        fputs("flowrun: error: --liveness goes with --rendezvous-only or "
              "--launcher slurm (the rendezvous's instances learn it from "
              "the rendezvous)\n",
              stderr);
        early = 2;
    } else if (early < 0 && ro.bind && !ro.tcp && !rdv_only && !slurm &&
               !slurm_task && !instance) {
        /* A run over ipc binds no address: one thought tested over TCP
         * was not. */
        fputs("flowrun: error: --bind goes with --transport tcp, "
              "--rendezvous-only, --launcher slurm, --instance or "
              "--slurm-task (a local run over ipc binds no address)\n",
              stderr);
        early = 2;
    } else if (early < 0 && secure && !ro.tcp && !rdv_only && !slurm &&
               !slurm_task && !instance) {
        /* Over ipc nothing leaves the host: the run directory is the
         * user's alone. One thought secured would not be. */
        fputs("flowrun: error: --secure goes with --transport tcp, "
              "--rendezvous-only, --launcher slurm, --instance or "
              "--slurm-task (a local run over ipc has no TCP connection to "
              "secure)\n",
              stderr);
        early = 2;
    } else if (early < 0 && secure && (rdv_only || slurm_task || instance) &&
               !key_set()) {
        /* The processes of such a run are started apart: each needs the
         * same key, which none of them can make for the others. */
        fputs("flowrun: error: --secure: FLOW_KEY is not set; every process "
              "of the run needs the same key in its environment: make one "
              "with 'flowrun --new-key' (export FLOW_KEY=\"$(flowrun "
              "--new-key)\") and give it to each\n",
              stderr);
        early = 2;
    } else if (early < 0 && rendezvous && (rdv_only || slurm)) {
        fputs("flowrun: error: --rendezvous goes with --instance or "
              "--slurm-task (it names the rendezvous they join)\n",
              stderr);
        early = 2;
    } else if (early < 0 && (rdv_only || slurm || slurm_task || instance) &&
               (ro.stats || ro.stats_json || ro.dot_stats)) {
        /* Only the local launcher gathers them: a file asked for would be
         * left empty. */
        fprintf(stderr,
                "flowrun: error: %s: statistics are gathered by local runs "
                "only, not with --rendezvous-only, --launcher slurm, "
                "--instance or --slurm-task\n",
                ro.stats_json  ? "--stats-json"
                : ro.dot_stats ? "--dot-stats"
                               : "--stats");
        early = 2;
    }
    if (early >= 0) {
        flow_registry_destroy(&reg);
        return early ? early : stdout_status(0);
    }
    if (ro.quiet && !ro.log_level)
        ro.log_level = FLOW_LOG_ERROR + 1; /* the nodes' lines too */
    flow_registry_add_path_list(reg, getenv("FLOW_PLUGIN_PATH"));
    add_builtin_path(reg);

    if (list) {
        memset(&diag, 0, sizeof(diag));
        rc = flow_registry_load_all(reg, &diag);
        for (size_t i = 0; i < flow_registry_count(reg); i++) {
            const char *origin;
            const flow_node_desc_t *d = flow_registry_at(reg, i, &origin);
            printf("%-14s %s\n%-14s (%s)\n", d->name, d->summary, "", origin);
        }
        /* every plugin that failed, not only the first */
        for (size_t i = 0; i < flow_registry_error_count(reg); i++)
            error_diag(flow_registry_error(reg, i));
        flow_registry_destroy(&reg);
        return stdout_status(rc ? 2 : 0);
    }
    if (describe) {
        const flow_node_desc_t *d = flow_registry_find(reg, describe, &diag);
        if (!d) {
            rc = error_diag(&diag);
            flow_registry_destroy(&reg);
            return rc;
        }
        flow_node_desc_print(d, stdout);
        flow_registry_destroy(&reg);
        return stdout_status(0);
    }
    if (optind != argc - 1) {
        if (optind == argc)
            fputs("flowrun: error: no graph file given\n", stderr);
        else
            fprintf(stderr, "flowrun: error: more than one graph file: '%s'\n",
                    argv[optind + 1]);
        usage(stderr);
        flow_registry_destroy(&reg);
        return 2;
    }
    g = flow_graph_load(argv[optind], reg, sets, nsets, &diag);
    if (!g) {
        rc = error_diag(&diag);
        if (instance && rendezvous && !slurm_task) {
            /* It would wait for this instance for ever (srun ends the
             * step of a --slurm-task that exits 2). */
            char buf[1024], why[1100];
            snprintf(why, sizeof(why), "cannot load the graph: %s",
                     flow_diag_format(&diag, buf, sizeof(buf)));
            flow_rendezvous_tell_unloaded(rendezvous, instance, why);
        }
        flow_registry_destroy(&reg);
        return rc;
    }
    /* Once, where the run is started or checked: not by each instance
     * started apart. */
    for (size_t i = 0; !ro.quiet && !instance && !slurm_task &&
                       i < flow_graph_warning_count(g);
         i++)
        fprintf(stderr, "flowrun: warning: %s\n", flow_graph_warning(g, i));
    /* The counter files are written when the run ends: a path that cannot
     * be written, the graph file, or one file for both or for a node too
     * (one would overwrite the other), is a usage error now, not a lost
     * report then. */
    for (int i = 0; i < 2; i++) {
        const char *path = i ? ro.dot_stats : ro.stats_json;
        const char *opt = i ? "--dot-stats" : "--stats-json";
        struct stat st;
        if (path && !strcmp(path, "-")) {
            /* Not a file named "-" in the working directory. */
            fprintf(stderr,
                    "flowrun: error: %s -: standard output carries the "
                    "graph's output; give a file name (/dev/stderr for "
                    "standard error)\n",
                    opt);
            flow_graph_destroy(&g);
            flow_registry_destroy(&reg);
            return 2;
        }
        if (path && !stat(path, &st) && S_ISDIR(st.st_mode)) {
            fprintf(stderr,
                    "flowrun: error: %s '%s' is a directory: give a file "
                    "name\n",
                    opt, path);
            flow_graph_destroy(&g);
            flow_registry_destroy(&reg);
            return 2;
        }
        if (path && flow_graph_claim_file(g, opt, path, &diag)) {
            fprintf(stderr, "flowrun: error: %s\n", diag.msg);
            flow_graph_destroy(&g);
            flow_registry_destroy(&reg);
            return 2;
        }
    }
    if (check) {
        if (!ro.quiet)
            fprintf(stderr, "flowrun: graph '%s' is valid: %u processes\n",
                    flow_graph_name(g), flow_graph_process_count(g));
        flow_graph_destroy(&g);
        flow_registry_destroy(&reg);
        return 0;
    }
    if (dot) {
        rc = flow_graph_write_dot(g, stdout);
        if (rc)
            fprintf(stderr, "flowrun: error: cannot write DOT: %s\n",
                    flow_strerror(rc));
        flow_graph_destroy(&g);
        flow_registry_destroy(&reg);
        return rc ? 1 : 0;
    }
    for (int i = 0; i < 2; i++) { /* then make them: nothing when refused */
        const char *path = i ? ro.dot_stats : ro.stats_json;
        struct stat st;
        FILE *f;
        if (!path || (!stat(path, &st) && !S_ISREG(st.st_mode)))
            continue; /* a FIFO or a device: opened when written */
        f = fopen(path, "a");
        if (!f) {
            fprintf(stderr, "flowrun: error: cannot write '%s': %s\n", path,
                    strerror(errno));
            flow_graph_destroy(&g);
            flow_registry_destroy(&reg);
            return 2;
        }
        fclose(f);
    }
    /* Not by default under FLOW_STATS=0 either: the counters it turns off
     * stay on for a run that shows them, and a progress line nobody asked
     * for kept them on in tools/bench/stats_cost.sh run from a terminal. */
    if (progress < 0)
        progress =
            !ro.quiet && isatty(STDERR_FILENO) && !stdout_on_stderr() &&
            !(getenv("FLOW_STATS") && !strcmp(getenv("FLOW_STATS"), "0"));
    ro.progress = progress;
    if (secure && !key_set()) {
        /* A run that starts its instances itself (a local one, or srun's
         * step): a key of its own, which they inherit, srun's tasks in
         * the environment srun passes on. */
        char key[FLOW_KEY_SIZE];
        if (flow_key_new(key) || setenv("FLOW_KEY", key, 1)) {
            fputs("flowrun: error: --secure: cannot make a key (this libzmq "
                  "has no CURVE security)\n",
                  stderr);
            flow_graph_destroy(&g);
            flow_registry_destroy(&reg);
            return 2;
        }
    }
    if (slurm_task) {
        status = run_slurm_task(g, rendezvous, instance, &ro);
        flow_graph_destroy(&g);
        flow_registry_destroy(&reg);
        return status;
    }
    if (instance || rendezvous) {
        char node[256];
        unsigned inst = 0;
        const char *colon = instance ? strrchr(instance, ':') : NULL;
        char *end = NULL;
        unsigned long ul = 0;
        if (colon && colon[1] >= '0' && colon[1] <= '9') {
            errno = 0;
            ul = strtoul(colon + 1, &end, 10);
        }
        if (!instance || !rendezvous) {
            fprintf(stderr, "flowrun: error: --instance NODE:I and "
                            "--rendezvous tcp://HOST:PORT go together\n");
            status = 2;
        } else if (!colon || colon == instance ||
                   (size_t)(colon - instance) >= sizeof(node)) {
            fprintf(stderr,
                    "flowrun: error: --instance '%s': expected NODE:I, a "
                    "node's name and an instance number (seg:0)\n",
                    instance);
            status = 2;
        } else if (!end || *end || errno || ul > UINT_MAX) {
            fprintf(stderr,
                    "flowrun: error: --instance '%s': the instance '%s' is "
                    "not a number 0, 1, 2, ...\n",
                    instance, colon + 1);
            status = 2;
        } else {
            inst = (unsigned)ul;
            memcpy(node, instance, (size_t)(colon - instance));
            node[colon - instance] = '\0';
            status = flow_graph_run_instance_opts(g, node, inst, rendezvous,
                                                  &ro, &diag);
            if (status == 2 && diag.msg[0])
                error_diag(&diag);
        }
        flow_graph_destroy(&g);
        flow_registry_destroy(&reg);
        return status;
    }
    hold_stop_signals();
    if (rdv_only) {
        rc = flow_graph_serve(g, ro.bind ? ro.bind : "*", stdout, &ro, &signo);
    } else if (slurm) {
        char exe[PATH_MAX], graph[PATH_MAX];
        const char *prefix[2 * MAX_SETS + 2 * MAX_PATHS + 7];
        size_t np = 0;
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n <= 0 || !realpath(argv[optind], graph)) {
            fprintf(stderr, "flowrun: error: cannot resolve paths for srun\n");
            flow_graph_destroy(&g);
            flow_registry_destroy(&reg);
            return 1;
        }
        exe[n] = '\0';
        prefix[np++] = exe;
        prefix[np++] = graph;
        for (size_t i = 0; i < nsets; i++) {
            prefix[np++] = "--set";
            prefix[np++] = sets[i];
        }
        for (size_t i = 0; i < npaths; i++) {
            prefix[np++] = "--plugin-path";
            prefix[np++] = paths[i];
        }
        if (secure) /* a task without the key fails, saying why */
            prefix[np++] = "--secure";
        if (ro.log_level) { /* the tasks' nodes log as asked here */
            prefix[np++] = "--log-level";
            prefix[np++] = flow_log_level_name(ro.log_level - 1);
        }
        prefix[np] = NULL;
        rc = flow_graph_run_slurm(g, &ro, prefix, &signo);
    } else {
        rc = flow_graph_run(g, &ro, &signo);
    }
    if (rc == 0) {
        status = 0;
    } else if (rc == FLOW_ETIMEDOUT) {
        status = 124;
    } else if (rc == FLOW_EINTR) {
        status = 128 + signo;
    } else if (rc == FLOW_ENODE) {
        status = 1;
    } else if (rc == FLOW_EUSAGE) {
        status = 2; /* said */
    } else {
        fprintf(stderr, "flowrun: error: cannot run graph '%s': %s\n",
                flow_graph_name(g), flow_strerror(rc));
        status = 1;
    }
    flow_graph_destroy(&g);
    flow_registry_destroy(&reg);
    return status;
}
