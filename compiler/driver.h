/* driver — helpers shared by the subcommands of the plastcc binary. */
#ifndef PLAST_DRIVER_H
#define PLAST_DRIVER_H

/* Prints USAGE and returns 1 when -h/--help is among the arguments. */
int driver_wants_help(int argc, char **argv, const char *usage);
/* "plastcc: MESSAGE" and the usage on stderr; returns exit status 2. */
int driver_usage_error(const char *usage, const char *fmt, const char *arg);

/* VALUE, the argument of OPTION, as an integer from LO to HI (all of it:
 * "12abc" and "1e3" are not integers): 0, or a usage error's status 2. */
int driver_parse_int(const char *usage, const char *option, const char *value, long long lo, long long hi,
                     long long *out);

/* "N errors" on stderr when diagnostics were printed. */
void driver_report_errors(void);

/* The subcommands. */
int cmd_emit_c(int argc, char **argv);
int cmd_emit_llvm(int argc, char **argv);
int cmd_compile(int argc, char **argv);
int cmd_gradcheck(int argc, char **argv);
int cmd_episode(int argc, char **argv);
int cmd_run(int argc, char **argv);

#endif
