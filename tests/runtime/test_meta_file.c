/* test_meta_file — meta-state.txt: a saved state loads back bit for bit
 * with its fingerprint, and every hand edit that makes it wrong is refused
 * with the line it is on and what is wrong there (runtime/meta_file.c). */
#include "config.h"
#include "train_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures, edits;
#define CHECK(c) do { if (!(c)) { printf("%s:%d: %s\n", __FILE__, __LINE__, #c); failures++; } } while (0)

enum { N = 2 };
static const char *names[N] = { "theta[0]", "theta[1]" };
static double init[N] = { 0.5, -0.25 };
static unsigned char l1[N], fixed[N];

static char dir[] = "/tmp/test_meta_file.XXXXXX", path[300];

static void write_text(const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static char *read_text(void)
{
    FILE *f = fopen(path, "r");
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* The saved text with line LINE (1-based) replaced by REPLACEMENT (NULL: cut
 * the file before it) must fail to load with ":LINE: " and WANT in the message. */
static void expect_refused(const char *saved, int line, const char *replacement, const char *want,
                           const plast_net *net, const plast_train_opts *o)
{
    char text[8192] = "", err[512] = "";
    const char *p = saved;
    int k = 1;
    for (; *p; k++) {
        const char *end = strchr(p, '\n');
        size_t n = end ? (size_t)(end - p) + 1 : strlen(p);
        if (k == line && !replacement) break;
        if (k == line) { strcat(text, replacement); strcat(text, "\n"); }
        else strncat(text, p, n);
        p += n;
    }
    if (k == line && replacement) { strcat(text, replacement); strcat(text, "\n"); }   /* after the last line */
    write_text(text);
    edits++;
    meta_state S;
    meta_state_init(&S, net, o);
    int rc = meta_state_load(&S, net, dir, err, sizeof err);
    char at[32];
    snprintf(at, sizeof at, ":%d: ", line);
    if (rc == 0 || !strstr(err, at) || !strstr(err, want)) {
        printf("line %d as '%s': rc %d, '%s'; expected '%s' and '%s'\n", line, replacement ? replacement : "(cut)", rc,
               err, at, want);
        failures++;
    }
    meta_state_free(&S, net);
}

int main(void)
{
    plast_rule rule = { 0 };
    plast_net net = { 0 };
    plast_train_opts o = { 0 };
    rule.name = "r"; rule.n_meta = N; rule.init = init; rule.l1 = l1; rule.fixed = fixed; rule.meta_name = names;
    net.rules = &rule; net.n_rules = 1;
    o.lr = 0.1; o.episodes = 10;
    o.fingerprint = "experiment e\nseed 5\n";
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/meta-state.txt", dir);

    /* a state after three episodes, two steps (one skipped), round trip */
    meta_state S, L;
    char err[512];
    meta_state_init(&S, &net, &o);
    S.episode = 3; S.t = 2; S.prev_t = 1; S.has_prev = 1; S.lr_factor = 0.5;
    S.theta[0][0] = 0.1; S.phi[0][0] = 0.2; S.m[0][0] = -1e-3; S.v[0][0] = 1e-6; S.scale[0][0] = 0.5;
    S.theta[0][1] = 1.0 / 3; S.phi[0][1] = 1.0 / 3; S.v[0][1] = 0; S.prev_theta[0][1] = 0.3;
    CHECK(meta_state_save(&S, &net, dir, err, sizeof err) == 0);
    meta_state_init(&L, &net, &o);
    CHECK(meta_state_load(&L, &net, dir, err, sizeof err) == 0);
    CHECK(L.episode == 3 && L.t == 2 && L.prev_t == 1 && L.has_prev == 1 && L.lr_factor == 0.5);
    for (int k = 0; k < N; k++)
        CHECK(L.theta[0][k] == S.theta[0][k] && L.phi[0][k] == S.phi[0][k] && L.m[0][k] == S.m[0][k] &&
              L.v[0][k] == S.v[0][k] && L.scale[0][k] == S.scale[0][k] && L.prev_theta[0][k] == S.prev_theta[0][k]);
    char *fp = NULL;
    CHECK(plast_meta_state_fingerprint(dir, &fp, err, sizeof err) == 0 && fp && !strcmp(fp, o.fingerprint));
    free(fp);
    meta_state_free(&L, &net);

    /* line by line: 1 header, 2 fingerprint 2, 3-4 its lines, 5 episode,
     * 6 adam_steps, 7 lr_factor, 8 previous, 9 rules, 10 rule, 11-12 entries */
    char saved[8192];
    snprintf(saved, sizeof saved, "%s", read_text());
    CHECK(!strncmp(saved, "plast-meta-state 3\nfingerprint 2\nexperiment e\nseed 5\nepisode 3\n", 62));
    expect_refused(saved, 1, "a text file", "not a meta-state file", &net, &o);
    expect_refused(saved, 1, "plast-meta-state 9", "out of range (1 to 3)", &net, &o);
    expect_refused(saved, 2, "fingerprint x", "expected an integer after fingerprint, found 'x'", &net, &o);
    expect_refused(saved, 5, "episode -4", "episode -4 is out of range", &net, &o);
    expect_refused(saved, 5, "episode 99999999999", "episode 99999999999 is out of range", &net, &o);
    expect_refused(saved, 5, "episode abc", "expected an integer after episode, found 'abc'", &net, &o);
    expect_refused(saved, 5, "episode 3 4", "unexpected '4' at the end of the line", &net, &o);
    expect_refused(saved, 6, "adam_steps 7", "adam_steps 7 is out of range (0 to 3)", &net, &o);
    expect_refused(saved, 7, "lr_factor nan", "the value of lr_factor is nan", &net, &o);
    expect_refused(saved, 7, "lr_factor 0", "lr_factor 0 is out of range", &net, &o);
    expect_refused(saved, 7, "lr_factor 2", "lr_factor 2 is out of range", &net, &o);
    expect_refused(saved, 8, "previous 2 1", "previous 2 is out of range (0 to 1)", &net, &o);
    expect_refused(saved, 9, "rules 2", "2 rules, but the experiment has 1", &net, &o);
    expect_refused(saved, 10, "rule other 2", "rule other, but the experiment's rule 1 is r", &net, &o);
    expect_refused(saved, 10, "rule r 3", "rule r has 3 meta-parameters here, but 2 in the experiment", &net, &o);
    expect_refused(saved, 11, "0 nan 0 0 0 1 0 0 0 0", "theta of theta[0] is nan", &net, &o);
    expect_refused(saved, 11, "0 0.1 inf 0 0 1 0 0 0 0", "phi of theta[0] is inf", &net, &o);
    expect_refused(saved, 11, "0 0.1 0.2 0 -1 1 0 0 0 0", "the Adam second moment of theta[0] is -1", &net, &o);
    expect_refused(saved, 11, "0 0.1 0.2 0 0 0 0 0 0 0", "the scale of theta[0] is 0", &net, &o);
    expect_refused(saved, 11, "0 0.1 0.2 0 0 -nan 0 0 0 0", "the scale of theta[0] is -nan", &net, &o);
    expect_refused(saved, 12, "1 0.1 0.2 0 0 1 0 0 0 x", "the Adam second moment of theta[1] is 'x', not a number", &net, &o);
    expect_refused(saved, 12, "1 0.1 0.2 0 0 1 0 0 0 -2", "the Adam second moment of theta[1] is -2", &net, &o);
    expect_refused(saved, 12, "0 0.1 0.2 0 0 1 0 0 0 0", "out of range (1 to 1)", &net, &o);
    expect_refused(saved, 12, "1 0.1 0.2", "the line ends before the Adam first moment of theta[1]", &net, &o);
    expect_refused(saved, 12, NULL, "the file ends here", &net, &o);
    expect_refused(saved, 13, "garbage", "unexpected text after the last rule", &net, &o);

    remove(path);
    rmdir(dir);
    meta_state_free(&S, &net);
    if (failures) printf("meta-file tests FAILED\n");
    else printf("meta-state files: round trip, and %d hand edits refused with their line\n", edits);
    return failures != 0;
}
