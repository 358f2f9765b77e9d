/* train_impl — what the parts of the meta-trainer share: the meta-state
 * and its optimiser (meta_state.c), the log and progress line (train_log.c).
 * Internal. */
#ifndef PLAST_TRAIN_IMPL_H
#define PLAST_TRAIN_IMPL_H

#include <stdio.h>
#include "plast.h"
#include "task.h"

/* Task G of an experiment as an episode: its initial values drawn from the
 * streams (seed, G), its samples, and the episode's data pointing into them
 * (train.c; the meta-trainer, the probe of term sizes and the evaluator
 * share it, so that task G is the same task everywhere). */
typedef struct task_episode {
    double **init;            /* [n_buf] */
    plast_task task;
    plast_episode_data ed;
} task_episode;
int task_episode_open(task_episode *t, const plast_net *N, const plast_dataset *data, const plast_class_index *ci,
                      const plast_train_opts *o, uint64_t seed, uint64_t g, char *err, size_t errlen);
void task_episode_close(task_episode *t, const plast_net *N);

typedef struct meta_state {
    double **theta, **phi, **m, **v, **scale;   /* [n_rules][n_meta] */
    long t;                                      /* Adam steps taken */
    int episode;                                 /* episodes done */
    double lr_factor;                            /* 0.5^(backtracks so far); 1 without */
    /* before the last meta-step (nonfinite backtrack undoes it): */
    double **prev_theta, **prev_phi, **prev_m, **prev_v;
    long prev_t;
    int has_prev;
    const char *fingerprint;                     /* the experiment (plast_train_opts), saved with the state */
} meta_state;

double **meta_alloc(const plast_net *N);
void meta_zero(const plast_net *N, double **a);
void meta_free(const plast_net *N, double **a);

int meta_state_init(meta_state *S, const plast_net *N, const plast_train_opts *o);
/* Rank 0's meta-state copied to every rank of C (nothing alone): 0, or -1. */
int meta_state_share(meta_state *S, const plast_net *N, const plast_comm *c);
void meta_state_free(meta_state *S, const plast_net *N);
/* DIR/meta-state.txt (meta_file.c): written whole (a temporary, checked and
 * renamed), and loaded only when every line is valid (ERR names the line). */
int meta_state_save(const meta_state *S, const plast_net *N, const char *dir, char *err, size_t errlen);
/* "fingerprint N" and its N lines (shared by meta-state.txt and joint-state.txt). */
void meta_file_write_fingerprint(FILE *f, const char *fp);

/* A line-by-line reader of a state file (meta-state.txt, joint-state.txt):
 * each function returns 0, or -1 with "cannot resume: PATH:LINE: WHAT" in
 * the reader's ERR. */
typedef struct meta_reader {
    FILE *f;
    const char *path;
    int line;
    char text[8192];
    char *at;            /* the next field of text */
    char *err;
    size_t errlen;
} meta_reader;
/* Opens DIR/NAME (PATH: its buffer, of LEN) for reading; a regular file only. */
int meta_reader_open(meta_reader *R, const char *dir, const char *name, char *path, size_t len, char *err,
                     size_t errlen);
int meta_reader_fail(meta_reader *R, const char *fmt, ...);
int meta_reader_line(meta_reader *R, const char *expected);   /* the next line: EXPECTED names what it should be */
char *meta_reader_field(meta_reader *R);                       /* the next field of the line, or NULL */
int meta_reader_end(meta_reader *R);                           /* nothing more on the line */
/* [KEY] then an integer in [LO, HI]. */
int meta_reader_int(meta_reader *R, const char *key, long long lo, long long hi, long long *out);
/* A finite number (WHAT of NAME, for the message). */
int meta_reader_real(meta_reader *R, const char *what, const char *name, double *out);
int meta_reader_lr_factor(meta_reader *R, double *f);          /* "lr_factor F", 0 < F <= 1 */
/* "MAGIC VERSION": plast-meta-state 1-3 or plast-joint-state 1-2. */
int meta_reader_header(meta_reader *R, const char *magic_wanted, int *version);
/* "fingerprint N" and its N lines, into *TEXT (malloc'ed) unless TEXT is NULL. */
int meta_reader_fingerprint(meta_reader *R, char **text);
/* "theta phi m v [scale]" of meta-parameter NAME: finite, v >= 0, scale > 0. */
int meta_reader_entry(meta_reader *R, double *theta, double *phi, double *m, double *v, double *scale, const char *name,
                      int with_scale);
int meta_state_load(meta_state *S, const plast_net *N, const char *dir, char *err, size_t errlen);
/* -1 with WHY when a meta-parameter, phi or Adam moment is NaN or Inf. */
int meta_state_check_finite(const meta_state *S, const plast_net *N, char *why, size_t len);

/* lr * warmup(e) * schedule(e): the learning rate of episode E before the
 * backtracking factor. */
double meta_learning_rate(const plast_train_opts *o, int e);
/* One Adam step from the averaged meta-gradient G (formula in meta_state.c). */
void plast_meta_step(meta_state *S, const plast_net *N, const plast_train_opts *o, double **G, int e,
                     double *grad_norm, int *clipped);
/* Copies the state to prev (before a meta-step) / back from it (backtrack). */
void meta_state_remember(meta_state *S, const plast_net *N);
void meta_state_undo(meta_state *S, const plast_net *N);

/* The report of a training whose first step had a loss but no gradient at
 * all (every gradient exactly 0): a rule whose updates saturate the learner
 * at initialisation, say.  WHEN names the step. */
static inline void train_warn_no_gradient(const char *when, double loss)
{
    fprintf(stderr, "plastcc: warning: at %s the loss (%.9g) has no gradient at all: every gradient is exactly 0, "
            "so nothing can be learned.  The rules' first updates likely saturate the learner (a constant output); "
            "give the rule a smaller output, e.g. `param eta = 1e-3 fixed; dw = eta * ...`, or its mlp "
            "`init output 0;`\n", when, loss);
}

typedef struct train_log {
    int fd, is_open;           /* fd: log.csv, O_APPEND, when is_open (a zeroed log holds nothing) */
    char path[4096];
    int n_layers;
    int alignment, orthonormality;   /* diagnostic columns after the meta-parameters */
    int n_cols;                /* meta-parameter columns */
    int col_rule[256], col_k[256];
} train_log;

/* Opens DIR/log.csv: a new file with its header (written whole), or,
 * resuming at episode FIRST, the old one cut after the rows of episodes
 * before FIRST.  A zeroed train_log may be closed. */
int train_log_open(train_log *L, const plast_net *N, const plast_train_opts *o, int first, char *err, size_t errlen);
/* One row, written whole or not at all (a full disk: -1 with ERR naming the
 * file).  DIAG: alpha_0..alpha_{L-1}, then orth_1..orth_{L-1} (logged when
 * asked for). */
int train_log_row(train_log *L, const meta_state *S, int e, double loss, double acc, double grad_norm,
                  int clipped, double lr, double seconds, const double *diag, char *err, size_t errlen);
void train_log_skip(train_log *L, int e, const char *why);
void train_log_close(train_log *L);

/* The progress line: redrawn in place on a terminal, a plain line every few
 * seconds otherwise, nothing when quiet. */
void train_progress(const plast_train_opts *o, const char *unit, int done, int todo, int item, int total, double loss,
                    double acc, double elapsed);
void train_progress_end(const plast_train_opts *o);

#endif
