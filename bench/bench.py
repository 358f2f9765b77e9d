#!/usr/bin/python3
"""Side-by-side benchmark: plastcc against PyTorch on the same 003 episodes.

Usage
-----
  /usr/bin/python3 bench/bench.py [--quick] [--plastcc PATH] [--reps N]
                                  [--only w1,w2,w3,w4] [--keep DIR]
                                  [--hat-step PATH]

Workloads (bench/README.md has the table of a full run and the FLOP count):
  w1  one 003 meta-training episode: mlp5 784-170-130-100-70-47 softplus(10),
      random feedback, online steps, the ten-term pool, exact meta-gradient
      through the whole unroll; 1 and 2 threads; fp64 (and fp32 when
      `plastcc episode --precision single` exists);
  w2  the same with term 0 only (feedback alignment, rules/fa.rule fa_sgd);
  w3  w1 on one thread with 50, 250, 1000, 4000 inner steps.
  w4  the meta-learner part of one HAT training step (paper 001): learner
      layer 784 -> 183, batch 50, MLP 3-100-1 on every (pre, w, post)
      triple, mean over the batch, backward to its weights and to w;
      bench/hat_step (plastcc's JIT'ed hat_fwd + hat_adj) against
      bench/torch_hat.py (the paper's 1x1-convolution form), fp32 and fp64,
      1 and 2 threads, and a float64 check of every output.  PyTorch runs
      at a fraction of the batch where the full one would not fit (fp64:
      ~19 GB) and is extrapolated linearly, labelled so.
Each (workload, threads) runs its implementations alternately, A B C A B C,
each run a fresh process: plastcc (`plastcc episode`, bench/workloads.rule),
PyTorch paper form and PyTorch expert form (bench/torch003.py).  Per child:
wall time, CPU time and peak RSS from wait4(2).  With one thread every
child (plastcc and PyTorch alike) runs pinned to core 0 (`taskset -c 0`,
where taskset exists): a process the scheduler moves between cores loses
its private cache, so on a shared machine pinned runs vary less.

plastcc's episode time is the time `plastcc episode` prints for the episode
itself when it does (newer builds), "fixed" the rest of its wall time
(process start, state loading, JIT compilation, with plastcc's JIT cache
off unless $PLASTCC_CACHE is set: a first run's); with an older plastcc, the
median wall time of the T-step episode minus that of a 1-step episode (the
fixed part then includes one step).  Where `plastcc episode` has --repeat,
it runs the episode 3 times and the time is the median of the runs after
the first, which reuse the first's buffers as a meta-training run's
episodes do (and checks that all give the same bits); the first run's time
is printed beside it.  The reference's time is taken the same way (the
median of its episodes after the first).  CPU times are always T-step
minus 1-step process CPU, per episode.  PyTorch's
is measured inside the child around the episode (import and loading
excluded).  Ratios are PyTorch / plastcc; above 1, plastcc is faster or
smaller.  The meta-gradients are compared once per workload (relative
difference, 2-norm).

With --reference FILE (or $BENCH_TORCH_REFERENCE), a standalone PyTorch
program of one 003 episode runs beside the two forms for the workloads of
5 x k steps: torch_003_episode.py, written from the 003 paper's text for
benchmarking (not part of this repository), whose `--impl fused` form (the
nine non-decay terms as one rank-3 product, only W stored per step) is the
fastest PyTorch we know.  It draws its own task and network of the same
sizes, so its meta-gradient is not compared; its time is the median of its
own per-episode times (3 episodes per run, after the first).  The ratios
are against the fastest PyTorch form of the workload.  --torch-malloc LIB
(or $BENCH_TORCH_MALLOC) preloads a malloc into every torch child: with
jemalloc (Debian's libjemalloc2) torch's many small tensors are allocated
faster than by glibc.

plastcc is $PLASTCC, else --plastcc, else build/plastcc under the repo.
OpenMP children run with OMP_WAIT_POLICY=PASSIVE unless it is set: with
the default spinning wait, two threads on a machine shared with other jobs
ran 4 to 8 times slower than one (--wait-policy to change).
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
PY = "/usr/bin/python3"
RULES = os.path.join(HERE, "workloads.rule")
SIZES = [784, 170, 130, 100, 70, 47]
QUERY = 50
SEED = 1


# ------------------------------------------------------ bandwidth ----

# Passes over the matrix set (every layer's W, or every layer's B) per
# inner step of the pool episode, as bench/README.md counts them ("Passes
# over each matrix per step"), for a batch of one: forward error_fwd 1,
# pool_step 2 (the reading and writing of W + dw counted as one; the next
# step's dense_fwd in its second pass); adjoint pool_adj 3, dense_adj 2
# (W, and adj_W), error_adj 2.
POOL_PASSES_FWD = 3
POOL_PASSES_ADJ = 7
TRIAD_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
typedef REAL real;
int main(int argc, char **argv)
{
    size_t n = strtoull(argv[1], 0, 10);
    real *a = aligned_alloc(64, n * sizeof(real) + 64), *b = aligned_alloc(64, n * sizeof(real) + 64),
         *c = aligned_alloc(64, n * sizeof(real) + 64), s = 3;
    for (size_t i = 0; i < n; i++) { a[i] = 0; b[i] = 1; c[i] = 2; }
    double best = 1e30;
    for (int r = 0; r < 200; r++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (int k = 0; k < 10; k++) {
            for (size_t i = 0; i < n; i++) a[i] = b[i] + s * c[i];
            __asm__ volatile("" : : "r"(a) : "memory");
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double t = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
        if (t < best) best = t;
    }
    printf("%f\n", 10.0 * 3 * n * sizeof(real) / best / 1e9);
    return a[n / 2] != 7;
}
"""


def triad_gbs(work, n, prec):
    """A triad a = b + s c over three arrays of N elements each (one
    matrix set: the pool's working set is W, B and adj W), compiled with
    $BENCH_CC or `cc -O3 -march=native`, on one core: GB/s of the bytes read
    and written (3 N elements a pass), the best of 200 runs of 10 passes."""
    real = "float" if prec == "fp32" else "double"
    src = os.path.join(work, "triad-%s.c" % real)
    exe = os.path.join(work, "triad-%s" % real)
    if not os.path.exists(exe):
        with open(src, "w") as f:
            f.write(TRIAD_C)
        cc = os.environ.get("BENCH_CC", "cc -O3 -march=native").split()
        if subprocess.run(cc + ["-DREAL=" + real, "-o", exe, src]).returncode:
            return float("nan")
    r = subprocess.run(["taskset", "-c", "0", exe, str(n)], capture_output=True, text=True)
    return float(r.stdout.strip() or "nan")


def synapses(sizes=SIZES):
    return sum(a * b for a, b in zip(sizes, sizes[1:]))


# ------------------------------------------------------ FLOP count ----

def flops(rule, steps, query=QUERY, sizes=SIZES):
    """Useful FLOPs of one episode (see bench/README.md), per layer in units
    of P = n_pre * n_post, O(n) vector work neglected:
      pool, per step: forward 2P, error 2P, rule 9P (r = W^T y 2P; rank-3
            update plus decay 7P);  adjoint 25P.  = 38P
      fa,   per step: forward 2P, error 2P (not for layer 1), update 2P;
            adjoint 10P (8P for layer 1).  = 16P (12P)
      query set (both): forward 2P and adjoint 4P per sample.
    """
    total = 0.0
    for l in range(1, len(sizes)):
        p = sizes[l - 1] * sizes[l]
        if rule == "pool":
            per_step = 38
        else:
            per_step = 16 if l > 1 else 12
        total += p * (per_step * steps + 6 * query)
    return total


def peak_gflops(threads):
    """fp64 peak = lanes (8 with AVX-512, 4 with AVX2) x 2 (FMA) x FMA units
    ($BENCH_FMA_UNITS, default 2) x cores x clock (cpuinfo MHz, no turbo)."""
    flags, mhz = set(), 0.0
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                flags.update(line.split(":", 1)[1].split())
            elif line.startswith("cpu MHz"):
                mhz = max(mhz, float(line.split(":", 1)[1]))
    lanes = 8 if "avx512f" in flags else 4 if "avx2" in flags else 2
    fma = 2 if "fma" in flags else 1
    units = int(os.environ.get("BENCH_FMA_UNITS", "2"))
    ghz = mhz / 1000.0
    desc = "%d lanes x %d (FMA) x %d units x %d cores x %.2f GHz" % (
        lanes, fma, units, threads, ghz)
    return lanes * fma * units * threads * ghz, desc


# --------------------------------------------------------- children ----

def pinned(argv, threads):
    """argv on core 0 when it runs one thread (module docstring)."""
    if threads == 1 and shutil.which("taskset"):
        return ["taskset", "-c", "0"] + argv
    return argv


def run_child(argv, env, out_file):
    """Runs argv to completion; returns (wall s, cpu s, peak RSS MB, stdout)."""
    with open(out_file, "w") as out:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                             env=env)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
    with open(out_file) as f:
        text = f.read()
    if p.returncode != 0:
        raise SystemExit("failed (%d): %s\n%s" % (p.returncode,
                                                  " ".join(argv), text))
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0, text


class Bench:
    def __init__(self, args, work):
        self.a = args
        self.work = work
        self.env = dict(os.environ)
        if args.wait_policy == "default":     # libgomp's own: spin a while, then sleep
            self.env.pop("OMP_WAIT_POLICY", None)
        else:
            self.env.setdefault("OMP_WAIT_POLICY", args.wait_policy)
        self.tenv = dict(self.env)
        # plastcc compiles its kernels in every run (its JIT cache off, unless
        # PLASTCC_CACHE is set): "fixed" and the peak RSS are a first run's
        self.env.setdefault("PLASTCC_CACHE", "0")
        if args.torch_blas:
            self.tenv["LD_LIBRARY_PATH"] = args.torch_blas + (
                ":" + self.env["LD_LIBRARY_PATH"]
                if self.env.get("LD_LIBRARY_PATH") else "")
        if args.torch_malloc:
            self.tenv["LD_PRELOAD"] = args.torch_malloc
        self.single = self.plastcc_has_single()
        self.repeat = 3 if self.plastcc_has("--repeat") else 1
        self.rows = []          # for the summary table

    def plastcc_has(self, option):
        r = subprocess.run([self.a.plastcc, "episode", "--help"],
                           capture_output=True, text=True)
        return option in r.stdout + r.stderr

    def plastcc_has_single(self):
        return self.plastcc_has("--precision")

    def state(self, rule, steps):
        d = os.path.join(self.work, "state-%s-%d" % (rule, steps))
        if not os.path.isdir(d):
            subprocess.run([PY, os.path.join(HERE, "make_state.py"),
                            "--sizes", ",".join(map(str, SIZES)),
                            "--steps", str(steps), "--query", str(QUERY),
                            "--seed", str(SEED), "--feedback", "random",
                            "--rule", rule, "--out", d], check=True)
        return d

    def plastcc(self, rule, steps, threads, prec, out):
        env = dict(self.env, OMP_NUM_THREADS=str(threads))
        argv = [self.a.plastcc, "episode", RULES, "--experiment",
                "bench_" + rule, "--state", self.state(rule, steps),
                "--out", out]
        if prec == "fp32":
            argv += ["--precision", "single"]
        if self.repeat > 1:
            argv += ["--repeat", str(self.repeat)]
        w, c, m, text = run_child(pinned(argv, threads), env, out + ".log")
        r = {"wall": w, "cpu": c / self.repeat, "rss": m}
        t = re.search(r"\((\d+) run forward", text)
        if t:                   # the forward steps the sweep ran, the inner loop's included
            r["fwd"] = int(t.group(1))
        t = re.search(r", ([0-9.]+) s \(the first run\), ([0-9.]+) s "
                      r"\(median of the (\d+) runs after it", text)
        if t:                   # --repeat: the runs after the first
            r["first"], r["ep"] = float(t.group(1)), float(t.group(2))
            r["fixed"] = w - r["first"] - int(t.group(3)) * r["ep"]
            return r
        t = re.search(r", ([0-9.]+) s\s*$", text)
        if t:                   # newer plastcc prints the episode's own time
            r["ep"] = r["first"] = float(t.group(1))
            r["fixed"] = w - r["ep"]
        return r

    def torch(self, rule, steps, threads, prec, form, out):
        env = dict(self.tenv, OMP_NUM_THREADS=str(threads),
                   OPENBLAS_NUM_THREADS=str(threads))
        argv = [PY, os.path.join(HERE, "torch003.py"), "--state",
                self.state(rule, steps), "--rule", rule, "--form", form,
                "--threads", str(threads), "--out", out, "--dtype",
                "float32" if prec == "fp32" else "float64"]
        w, c, m, text = run_child(pinned(argv, threads), env, out + ".log")
        j = json.loads(text.strip().splitlines()[-1])
        self.blas = j["blas"]
        return {"wall": j["seconds"], "cpu": j["cpu_seconds"], "rss": m,
                "proc_wall": w, "base": j["rss_base_mb"]}

    def reference(self, rule, steps, threads, prec, out):
        """torch_003_episode.py --impl fused: 5-way tasks of steps/5
        training samples each (online steps), fa feedback, the pool's ten
        terms or term 0 alone."""
        env = dict(self.tenv, OMP_NUM_THREADS=str(threads),
                   OPENBLAS_NUM_THREADS=str(threads))
        argv = [PY, self.a.reference, "--impl", "fused", "--dtype",
                "float32" if prec == "fp32" else "float64", "--threads",
                str(threads), "--terms", "all" if rule == "pool" else "0",
                "--feedback", "fa", "--ways", "5", "--m-train",
                str(steps // 5), "--episodes", "3", "--quiet"]
        w, c, m, text = run_child(pinned(argv, threads), env, out + ".log")
        line = [l for l in text.splitlines() if l.startswith("SUMMARY ")][-1]
        j = json.loads(line[len("SUMMARY "):])
        sec = j["sec_per_episode_median"]
        return {"wall": sec, "cpu": sec * c / w, "rss": m, "proc_wall": w}

    # -------------------------------------------------- one workload ----

    def forms_for(self, rule, steps):
        """Paper form only where its stored per-term matrices fit: about
        10 [n_post, n_pre] matrices per layer and step (measured 33 MB per
        step for the pool) must stay under half the available memory."""
        forms = ["expert"]
        per_step = (10 if rule == "pool" else 1) * 8 * sum(
            SIZES[l - 1] * SIZES[l] for l in range(1, len(SIZES))) * 1.4
        if per_step * steps < 0.5 * mem_available() and \
                steps <= self.a.paper_max_steps:
            forms.append("paper")
        return forms

    def measure(self, name, rule, steps, threads, prec, reps, paper=True):
        forms = self.forms_for(rule, steps) if paper else ["expert"]
        if self.a.reference and steps % 5 == 0:
            forms.append("reference")
        res = {"plastcc": [], "plastcc1": []}
        res.update({f: [] for f in forms})
        outs = {}
        for rep in range(reps):
            for impl in ["plastcc"] + forms:
                out = os.path.join(self.work, "out-%s-%s-%d-%d-%s" % (
                    name, impl, steps, threads, prec))
                outs[impl] = out
                if impl == "plastcc":
                    res["plastcc"].append(self.plastcc(rule, steps, threads,
                                                       prec, out))
                    res["plastcc1"].append(self.plastcc(rule, 1, threads,
                                                        prec, out + "-1"))
                else:
                    if impl == "paper" and rep >= self.a.paper_reps:
                        continue
                    if impl == "reference":
                        res[impl].append(self.reference(rule, steps, threads,
                                                        prec, out))
                        continue
                    res[impl].append(self.torch(rule, steps, threads, prec,
                                                impl, out))
        self.report(name, rule, steps, threads, prec, res, outs)

    def report(self, name, rule, steps, threads, prec, res, outs):
        med = lambda xs, k: statistics.median(x[k] for x in xs)
        first = None
        if all("ep" in x for x in res["plastcc"]):
            p_wall = med(res["plastcc"], "ep")
            first = med(res["plastcc"], "first")
            fixed = med(res["plastcc"], "fixed")
        else:
            fixed = med(res["plastcc1"], "wall")
            p_wall = med(res["plastcc"], "wall") - fixed
        p_cpu = med(res["plastcc"], "cpu") - med(res["plastcc1"], "cpu")
        p_rss = max(x["rss"] for x in res["plastcc"])
        g = np.load(os.path.join(outs["plastcc"], "grad_theta.npy"))
        fl = flops(rule, steps)
        peak, _ = peak_gflops(threads)
        if prec == "fp32":
            peak *= 2           # twice the lanes
        best = None
        print("\n== %s: %s, %d steps, %d thread%s, %s  (%d runs each)" % (
            name, rule, steps, threads, "s" if threads > 1 else "", prec,
            len(res["plastcc"])))
        print("  %-14s %10s %9s %9s %9s %7s  %s" % (
            "", "episode s", "ms/step", "cpu s", "peak MB", "GFLOP/s",
            "grad rel.diff"))
        print("  %-14s %10.3f %9.3f %9.3f %9.1f %7.2f  (%sfixed %.3f s: "
              "start, load, JIT; total %.3f s)" % (
                  "plastcc", p_wall, 1e3 * p_wall / steps, p_cpu, p_rss,
                  fl / p_wall / 1e9, "the first run %.3f s; " % first
                  if first is not None and self.repeat > 1 else "", fixed,
                  p_wall + fixed))
        for form in ("expert", "paper", "reference"):
            if form not in res or not res[form]:
                continue
            t_wall, t_cpu = med(res[form], "wall"), med(res[form], "cpu")
            t_rss = max(x["rss"] for x in res[form])
            rel = float("nan")      # the reference draws its own task
            if form != "reference":
                gt = np.load(os.path.join(outs[form], "grad_theta.npy"))
                rel = float(np.linalg.norm(g - gt) / np.linalg.norm(gt))
            print("  %-14s %10.3f %9.3f %9.3f %9.1f %7.2f  %.1e" % (
                "torch " + form, t_wall, 1e3 * t_wall / steps, t_cpu, t_rss,
                fl / t_wall / 1e9, rel))
            if best is None or t_wall < best[1]:
                best = (form, t_wall, t_cpu, t_rss, rel)
        form, t_wall, t_cpu, t_rss, rel = best
        if rel != rel and res.get("expert"):   # the reference: the expert form's check
            gt = np.load(os.path.join(outs["expert"], "grad_theta.npy"))
            rel = float(np.linalg.norm(g - gt) / np.linalg.norm(gt))
        print("  ratio torch %s / plastcc: time %.2f (cpu %.2f), peak memory "
              "%.2f;  plastcc at %.1f%% of peak %.1f GFLOP/s" % (
                  form, t_wall / p_wall, t_cpu / p_cpu, t_rss / p_rss,
                  100 * fl / p_wall / 1e9 / peak, peak))
        if rule == "pool" and all("fwd" in x for x in res["plastcc"]):
            esz = 4 if prec == "fp32" else 8
            n = synapses()
            fwd = res["plastcc"][0]["fwd"]
            gbs = (fwd * POOL_PASSES_FWD + steps * POOL_PASSES_ADJ) * n * esz / p_wall / 1e9
            tri = triad_gbs(self.work, n, prec)
            print("  plastcc moves about %.1f GB/s of matrices (%d passes of %.2f MB per "
                  "forward step, %d forward steps; %d per reverse step); a triad over "
                  "three arrays of %.2f MB on one core: %.1f GB/s (%.0f%%)" % (
                      gbs, POOL_PASSES_FWD, n * esz / 1e6, fwd, POOL_PASSES_ADJ,
                      n * esz / 1e6, tri, 100 * gbs / tri))
        sys.stdout.flush()
        self.rows.append((name, rule, steps, threads, prec, p_wall, fixed,
                          p_rss, form, t_wall, t_rss, t_wall / p_wall,
                          t_rss / p_rss, fl / p_wall / 1e9, peak, rel,
                          t_cpu / p_cpu))


def mem_available():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024.0
    return 8e9


def dgemm_gflops(env, threads):
    """What torch.mm reaches on 1024^2 fp64 with the BLAS torch runs on: a
    measured ceiling beside the nominal peak."""
    code = ("import torch,time;torch.set_num_threads(%d);"
            "a=torch.rand(1024,1024,dtype=torch.float64);b=a.clone();a@b;"
            "t=time.perf_counter();a@b;"
            "print(2*1024**3/(time.perf_counter()-t)/1e9)" % threads)
    env = dict(env, OMP_NUM_THREADS=str(threads),
               OPENBLAS_NUM_THREADS=str(threads))
    r = subprocess.run([PY, "-c", code], capture_output=True, text=True,
                       env=env)
    return float(r.stdout.strip() or "nan")


def stream_gbs():
    """Copy bandwidth of 256 MB arrays (numpy, read + write bytes), in a
    child: the parent must stay small, since a child's peak RSS starts from
    its parent's size at fork (kept across exec)."""
    code = ("import numpy as np,time;a=np.ones(32<<20);b=np.empty_like(a);"
            "np.copyto(b,a);t=time.perf_counter();[np.copyto(b,a) for _ in "
            "range(5)];print(5*2*a.nbytes/(time.perf_counter()-t)/1e9)")
    r = subprocess.run([PY, "-c", code], capture_output=True, text=True)
    return float(r.stdout.strip() or "nan")


# ------------------------------------------------------------ w4 ----

HAT_SYN = 784 * 183            # synapses of the learner's first layer
HAT_BATCH = 50
# useful FLOPs per synapse and sample (multiply-add = 2): forward 3x100 +
# 100x1 MACs and 100 relu = 900; backward (W2 and h grads 2x100 MACs, relu
# mask 100, W1 grad and input grads 2x300 MACs) = 1700.  Bias adds, the mean
# and the adjoint's recomputation of the hidden layer are not counted.
HAT_FLOPS_FWD = 900.0 * HAT_SYN * HAT_BATCH
HAT_FLOPS_ADJ = 1700.0 * HAT_SYN * HAT_BATCH


def torch_hat_batch(prec, quick):
    """The largest of 50, 25, 10, 5 samples whose convolution form fits in
    70% of the available memory: measured 3.2 (fp32) and 2.9 (fp64) live
    [B, 100, 183, 784] tensors at the peak (hidden layer, relu output, their
    gradients, not all at once): 9.1 GB above torch's own for B = 50 in
    fp32, 3.3 GB for B = 10 in fp64.  --quick: 10 samples at most."""
    per_sample = 3.3 * 100 * HAT_SYN * (4 if prec == "fp32" else 8)
    for bt in ([10, 5] if quick else [50, 25, 10, 5]):
        if bt * per_sample < 0.7 * mem_available():
            return bt
    return 5


def run_w4(b, a, threads, quick):
    hat = a.hat_step or os.path.join(os.path.dirname(os.path.abspath(
        a.plastcc)), "bench", "hat_step")
    if not os.access(hat, os.X_OK):
        print("w4: no bench/hat_step at %s (--hat-step); skipped" % hat)
        return
    dump = os.path.join(b.work, "hat-inputs")
    reps = 1 if quick else 3
    rows = []
    for prec in ["fp32", "fp64"]:
        # plastcc: one process for all thread counts (its peak RSS does not
        # depend on them); the inputs are written once, read by torch.
        argv = [hat, "--json", "--reps", str(reps), "--threads",
                ",".join(map(str, threads)), "--rules",
                os.path.join(TOP, "rules"), "--precision",
                "single" if prec == "fp32" else "double", "--dump", dump]
        w, c, rss, text = run_child(argv, b.env, os.path.join(
            b.work, "hat-%s.log" % prec))
        js = [json.loads(l) for l in text.splitlines() if l.startswith("{")]
        jit = [j for j in js if j["what"] == "jit"][0]
        print("w4 plastcc %s: JIT %.2f s, peak RSS %.0f MB (%.0f after the "
              "JIT)" % (prec, jit["seconds"], rss, jit["rss_after_mb"]))
        bt = torch_hat_batch(prec, quick)
        for t in threads:
            k = {j["what"]: j for j in js if j.get("threads") == t}
            pf, pa = k["hat_fwd"]["median_s"], k["hat_adj"]["median_s"]
            pc = k["hat_fwd"]["cpu_s"] + k["hat_adj"]["cpu_s"]
            env = dict(b.tenv, OMP_NUM_THREADS=str(t),
                       OPENBLAS_NUM_THREADS=str(t))
            targv = [PY, os.path.join(HERE, "torch_hat.py"), "--batch",
                     str(bt), "--threads", str(t), "--reps", str(reps),
                     "--dtype", "float32" if prec == "fp32" else "float64",
                     "--inputs", dump]
            tw, tc, trss, ttext = run_child(targv, env, os.path.join(
                b.work, "torch-hat-%s-%d.log" % (prec, t)))
            j = json.loads(ttext.strip().splitlines()[-1])
            scale = HAT_BATCH / bt
            ts, tcpu = j["step_s"] * scale, j["cpu_s"] * scale
            tmem = j["rss_base_mb"] + (trss - j["rss_base_mb"]) * scale
            ps = pf + pa
            pk = peak_gflops(t)[0] * (2 if prec == "fp32" else 1)
            gf = (HAT_FLOPS_FWD + HAT_FLOPS_ADJ) / ps / 1e9
            rows.append((prec, t, pf, pa, ps, pc, rss, bt, ts, tcpu, tmem,
                         ts / ps, tcpu / pc, tmem / rss, gf, 100 * gf / pk,
                         (HAT_FLOPS_FWD + HAT_FLOPS_ADJ) / ts / 1e9))
            print("w4 %s %d thr: plastcc fwd %.3f + adj %.3f = %.3f s; torch "
                  "(batch %d%s) %.3f s, %.0f MB; time ratio %.1f, memory "
                  "%.1f" % (prec, t, pf, pa, ps, bt, "" if bt == HAT_BATCH
                            else ", x%g extrapolated" % scale, ts, tmem,
                            ts / ps, tmem / rss), flush=True)
    r = subprocess.run([PY, os.path.join(HERE, "torch_hat.py"), "--check",
                        dump], capture_output=True, text=True, env=b.tenv)
    check = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else \
        r.stderr
    print("\nw4 numerical check (float64 convolution form against plastcc; "
          "relative 2-norm difference): %s" % check)
    print("\n== w4: one HAT step's meta-learner, 784x183, batch 50, MLP "
          "3-100-1 (times: median seconds; ratio = torch/plastcc; "
          "%.2f GFLOP forward + %.2f backward)" % (HAT_FLOPS_FWD / 1e9,
                                                   HAT_FLOPS_ADJ / 1e9))
    print("| prec | thr | plastcc fwd s | adj s | step s | plastcc MB | "
          "torch batch | torch step s | torch MB | time ratio (cpu) | "
          "mem ratio | plastcc GFLOP/s | % of peak | torch GFLOP/s |")
    print("|---" * 14 + "|")
    for r in rows:
        print("| %s | %d | %.3f | %.3f | %.3f | %.0f | %s | %.2f | %.0f | "
              "%.1f (%.1f) | %.1f | %.2f | %.1f%% | %.2f |" % (
                  r[0], r[1], r[2], r[3], r[4], r[6],
                  "%d" % r[7] if r[7] == HAT_BATCH else "%d (x%g)" % (
                      r[7], HAT_BATCH / r[7]),
                  r[8], r[10], r[11], r[12], r[13], r[14], r[15], r[16]))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="few repetitions, short episodes (< 3 minutes)")
    ap.add_argument("--plastcc", default=os.environ.get(
        "PLASTCC", os.path.join(TOP, "build", "plastcc")))
    ap.add_argument("--reps", type=int, default=None,
                    help="runs per implementation (default 5, quick 2)")
    ap.add_argument("--only", default="w1,w2,w3,w4")
    ap.add_argument("--hat-step", default=os.environ.get("HAT_STEP"),
                    help="bench/hat_step for w4 (default: beside --plastcc)")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--wait-policy", default="PASSIVE",
                    help="OMP_WAIT_POLICY of the children: PASSIVE (default), "
                         "ACTIVE, or default (libgomp's own)")
    ap.add_argument("--torch-blas", default=os.environ.get("BENCH_TORCH_BLAS"),
                    help="directory with the libblas.so.3 torch should load "
                    "(e.g. OpenBLAS's), prepended to its LD_LIBRARY_PATH")
    ap.add_argument("--reference",
                    default=os.environ.get("BENCH_TORCH_REFERENCE"),
                    help="torch_003_episode.py (a standalone PyTorch 003 "
                    "episode), run beside the two forms")
    ap.add_argument("--torch-malloc",
                    default=os.environ.get("BENCH_TORCH_MALLOC"),
                    help="a malloc library preloaded into the torch children "
                    "(e.g. libjemalloc.so.2)")
    ap.add_argument("--keep", default=None,
                    help="work in DIR and keep states and outputs")
    a = ap.parse_args(argv)
    if not os.access(a.plastcc, os.X_OK):
        raise SystemExit("no plastcc at %s (--plastcc or $PLASTCC)" % a.plastcc)
    if a.reference and not os.path.isfile(a.reference):
        raise SystemExit("no reference program at %s" % a.reference)
    reps = a.reps or (2 if a.quick else 5)
    a.paper_reps = min(reps, 1 if a.quick else 3)
    a.paper_max_steps = 250
    steps = 50 if a.quick else 250
    scaling = [50, 250] if a.quick else [50, 250, 1000, 4000]
    threads = [int(t) for t in a.threads.split(",")]
    only = set(a.only.split(","))
    work = a.keep or tempfile.mkdtemp(prefix="plastcc-bench-")
    os.makedirs(work, exist_ok=True)
    t_start = time.time()
    b = Bench(a, work)
    print("plastcc: %s;  torch: %s;  load average %s" % (
        a.plastcc, PY, open("/proc/loadavg").read().split()[:3]))
    for t in threads:
        pk, desc = peak_gflops(t)
        print("peak fp64, %d thread%s: %.1f GFLOP/s = %s;  torch.mm 1024^2 "
              "reaches %.1f" % (t, "s" if t > 1 else "", pk, desc,
                                dgemm_gflops(b.tenv, t)))
    print("copy bandwidth (numpy, 256 MB): %.1f GB/s;  MemAvailable %.1f GB;"
          "  OMP_WAIT_POLICY=%s" % (stream_gbs(), mem_available() / 1e9,
                                    b.env.get("OMP_WAIT_POLICY", "unset")))
    precs = ["fp64"] + (["fp32"] if b.single else [])
    if not b.single:
        print("fp32: skipped (this plastcc has no `episode --precision single`)")
    try:
        if "w1" in only:
            for prec in precs:
                for t in threads:
                    b.measure("w1 pool", "pool", steps, t, prec, reps)
        if "w2" in only:
            for t in threads:
                b.measure("w2 fa", "fa", steps, t, "fp64", reps)
        if "w3" in only:
            for s in scaling:
                b.measure("w3 scaling", "pool", s, 1, "fp64",
                          reps if s <= 250 else max(1, min(reps, 2)),
                          paper=not a.quick)
        if "w4" in only:
            run_w4(b, a, threads, a.quick)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    if not b.rows:
        print("total %.0f s" % (time.time() - t_start))
        return 0
    print("\ntorch's BLAS: %s" % getattr(b, "blas", "?"))
    print("\n== summary (times: median episode seconds; ratio = torch/plastcc)")
    print("| workload | steps | thr | prec | plastcc s | fixed s | plastcc MB "
          "| torch form | torch s | torch MB | time ratio (cpu) | mem ratio "
          "| plastcc GFLOP/s | % of peak | grad rel.diff |")
    print("|---" * 15 + "|")
    for r in b.rows:
        print("| %s | %d | %d | %s | %.3f | %.2f | %.0f | %s | %.3f | %.0f | "
              "%.2f (%.2f) | %.2f | %.2f | %.2f%% | %.0e |" % (
                  r[0], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9],
                  r[10], r[11], r[16], r[12], r[13], 100 * r[13] / r[14],
                  r[15]))
    print("total %.0f s; load average now %s" % (
        time.time() - t_start, open("/proc/loadavg").read().split()[:3]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
