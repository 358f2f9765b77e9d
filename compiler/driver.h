/* driver — helpers shared by the subcommands of the plastcc binary. */
#ifndef PLAST_DRIVER_H
#define PLAST_DRIVER_H

#include <stddef.h>

/* Prints USAGE and returns 1 when -h/--help is among the arguments. */
int driver_wants_help(int argc, char **argv, const char *usage);
/* "plastcc: MESSAGE" and the usage on stderr; returns exit status 2. */
int driver_usage_error(const char *usage, const char *fmt, const char *arg);

/* VALUE, the argument of OPTION, as an integer from LO to HI (all of it:
 * "12abc" and "1e3" are not integers): 0, or a usage error's status 2. */
int driver_parse_int(const char *usage, const char *option, const char *value, long long lo, long long hi,
                     long long *out);

/* The name of FILE's only experiment into BUF: 0, or 1 after its
 * diagnostics, or 2 when it has several (listed on stderr). */
int driver_only_experiment(const char *file, char *buf, size_t len);

/* Locks the output folder DIR of a command (HOLDER names it for another
 * command that finds it locked) and returns the lock (-1 after a message).
 * With FORCE >= 0, a fresh start: DIR is created when missing, and when it
 * holds one of the first N_RESULTS of OUTPUTS (a command's results) it is
 * refused, suggesting SUGGEST or --force; with FORCE 1 every file of OUTPUTS
 * is removed first, so that no stale output outlives the new ones.  FORCE
 * -1: a folder whose results are to be continued. */
int driver_take_folder(const char *dir, const char *holder, const char *const *outputs, size_t n_outputs,
                       size_t n_results, int force, const char *what, const char *suggest);

/* "N errors" on stderr when diagnostics were printed. */
void driver_report_errors(void);

/* The subcommands. */
int cmd_emit_c(int argc, char **argv);
int cmd_emit_llvm(int argc, char **argv);
int cmd_compile(int argc, char **argv);
int cmd_gradcheck(int argc, char **argv);
int cmd_episode(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_latents(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_curves(int argc, char **argv);

/* plastcc eval --compare (eval_compare.c): OUT_DIR/compare-accuracy.svg and
 * compare-train-loss.svg, the curves of OUT_DIR's curve.csv (named LABEL, or
 * after the folder when NULL) beside those of DIRS[0..N) (each DIR or
 * NAME=DIR; curves of one name are merged: mean and standard error over
 * them).  0, or -1 with ERR. */
int eval_compare_charts(const char *out_dir, const char *label, const char *const *dirs, int n_dirs, char *err,
                        size_t errlen);

#endif
