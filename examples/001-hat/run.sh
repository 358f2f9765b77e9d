#!/usr/bin/env bash
# run.sh [--full] — HAT against backprop (paper 001) over seeds and labelled
# fractions on Fashion-MNIST, then the figures and the learned rule's
# analysis, all with plastcc from build/.
#
#   default  the meta-learner 3-16-1, one epoch (1200 minibatches of 50),
#            seeds 1-3, labelled fractions 0.1, 0.3, 1: 18 runs, about 30
#            minutes on an idle 2-core machine (two runs at a time)
#   --full   the paper's setting: the meta-learner 3-100-1, 20 epochs,
#            100 seeds (learner/meta-learner pairs), fractions 0.1 to 1
#
# Environment overrides: SEEDS="1 2 3", FRACTIONS="0.1 0.3 1", EPOCHS=1,
# BATCHES (stop each run after that many minibatches; such runs, figures and
# analysis are named with -b<BATCHES>), TEST_EVERY=100,
# JOBS=2 (runs at a time, one thread each), PLASTCC=build/plastcc.
# A run already complete is not run again; one stopped half way resumes.
# Results: runs/<hat|backprop>-l<F>-s<S>/ (log.csv, test.csv, learned.rule,
# ...), figures/ (SVG, and each one's numbers as CSV), analysis/ (the mean
# learned rule of the last fraction, analysis-l<F>).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
plastcc=${PLASTCC:-$here/../../build/plastcc}
rule=hat_small
seeds=${SEEDS:-1 2 3}
fractions=${FRACTIONS:-0.1 0.3 1}
epochs=${EPOCHS:-1}
if [ "${1:-}" = --full ]; then
  rule=hat
  seeds=${SEEDS:-$(seq 1 100)}
  fractions=${FRACTIONS:-0.1 0.2 0.3 0.5 1}
  epochs=${EPOCHS:-20}
fi
test_every=${TEST_EVERY:-100}
jobs=${JOBS:-2}
per_epoch=1200                       # 60000 training images / 50
total=$((epochs * per_epoch))
limit="" tag=""                     # runs cut short by BATCHES get their own folders
if [ -n "${BATCHES:-}" ]; then limit="batches $BATCHES"; total=$BATCHES; tag=-b$BATCHES; fi

# runs/NAME/run.rule: the experiment of one run
write_run() {   # write_run NAME RULE FRACTION SEED
  mkdir -p "runs/$1"
  cat > "runs/$1/run.rule" <<EOF
import "../../hat.rule";
experiment run {
  model learner;
  rule $2;
  updates forward;
  data fashion_mnist;
  train joint epochs $epochs $limit labelled $3 test every $test_every;
  inner batch 50;
  learner adam lr 1e-3;
  meta adam lr 1e-3;
  precision single;
  seed $4;
  checkpoint every 100;
}
EOF
}

one_run() {   # one_run NAME: run it, resume it, or leave it when complete
  local dir=runs/$1
  if grep -qx "batches $total" "$dir/out/run.txt" 2>/dev/null; then return 0; fi
  if [ -f "$dir/out/joint-state.txt" ]; then
    "$plastcc" run "$dir/run.rule" --experiment run --resume "$dir/out" --threads 1 --quiet > "$dir/run.log" 2>&1
  else
    rm -rf "$dir/out"
    "$plastcc" run "$dir/run.rule" --experiment run --out "$dir/out" --threads 1 --quiet > "$dir/run.log" 2>&1
  fi || { echo "run $1 failed:"; cat "$dir/run.log"; return 1; }
  echo "$1: $(grep '^test_accuracy' "$dir/out/run.txt")"
}
export -f one_run
export plastcc total

names=()
for f in $fractions; do
  for s in $seeds; do
    write_run "hat-l$f-s$s$tag" "$rule" "$f" "$s"; names+=("hat-l$f-s$s$tag")
    write_run "backprop-l$f-s$s$tag" nothing "$f" "$s"; names+=("backprop-l$f-s$s$tag")
  done
done
start=$(date +%s)
printf '%s\n' "${names[@]}" | xargs -P "$jobs" -I{} bash -c 'one_run "$@"' _ {}
echo "runs done in $(( $(date +%s) - start )) s"

# figures: per fraction, test accuracy against samples (mean and standard
# deviation over the seeds; --stat median draws the paper's median and
# range, and the CSV has both); the last accuracy against the labelled
# fraction.  Each figure's numbers go beside it as CSV.
mkdir -p figures
for f in $fractions; do
  args=()
  for s in $seeds; do args+=("HAT:runs/hat-l$f-s$s$tag/out" "backprop:runs/backprop-l$f-s$s$tag/out"); done
  "$plastcc" curves --stat mean --out "figures/accuracy-l$f$tag.svg" \
      --title "Test accuracy, labelled fraction $f (mean and sd over the seeds)" "${args[@]}" > "figures/accuracy-l$f$tag.csv"
done
args=()
for f in $fractions; do
  for s in $seeds; do args+=("HAT:runs/hat-l$f-s$s$tag/out" "backprop:runs/backprop-l$f-s$s$tag/out"); done
done
"$plastcc" curves --x labelled --stat mean --at $((total * 50)) --out "figures/accuracy-labelled$tag.svg" "${args[@]}" \
    > "figures/accuracy-labelled$tag.csv"

# the learned rule: the pointwise mean over the seeds of the fully labelled runs
last=${fractions##* }
learned=()
for s in $seeds; do learned+=("runs/hat-l$last-s$s$tag/out/learned.rule"); done
"$plastcc" analyze "${learned[@]}" --rule "$rule" --out "analysis-l$last$tag"
echo "figures and their numbers in figures/, the learned rule's analysis in analysis-l$last$tag/"
