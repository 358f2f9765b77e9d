#!/bin/sh
# run.sh [TASKS] — 003 Figs. 1 and S1: evaluates FA, DFA, BP and F_bio as
# fixed rules on TASKS (default 5) long online streams of 10-way
# Fashion-MNIST (`plastcc eval`, no meta-gradient), into runs/NAME, with the
# alignment angles and orthonormality errors at every curve point
# (runs/NAME/curve-alignment.svg, curve-orthonormality.svg), and draws the
# four learning curves on one chart (runs/bio/compare-accuracy.svg) and the
# four rules' angles per layer on another (runs/bio/compare-alignment.svg).
# FA, DFA and BP share one learning rate, theta = 1e-3 (fixed_rates.rule,
# 003's initial value; the rates meta-learned for 250-step episodes in
# ../003-fa-vs-bp make a 3000-step stream diverge: FA at 0.0083 ends with a
# query loss of 8e4); F_bio takes the coefficients meta-learned in
# ../003-pool-l1 (bio, seed 1).
set -eu
cd "$(dirname "$0")/../.."
tasks=${1:-5}
dir=examples/003-fig1-s1
ev() {  # ev NAME RULES [--compare ...]
  name=$1; rules=$2; shift 2
  nice -n 10 build/plastcc eval $dir/fig1-s1.rule --experiment "$name" --rules "$rules" \
    --tasks "$tasks" --curve-every 100 --threads "${THREADS:-1}" --seed 1 \
    --out $dir/runs/"$name" --force --label "$name" --quiet "$@"
}
ev fa  $dir/fixed_rates.rule
ev dfa $dir/fixed_rates.rule
ev bp  $dir/fixed_rates.rule
ev bio examples/003-pool-l1/runs/bio-seed1/learned.rule \
   --compare FA=$dir/runs/fa --compare DFA=$dir/runs/dfa --compare BP=$dir/runs/bp
