#!/bin/sh
# run.sh — examples/002-gu-ssl in one command (README.md):
#   1. meta-trains, from each seed of SEEDS, the supervised baseline's step
#      size (experiment supervised) and Gu et al.'s rule (experiment ssl) on
#      random two-moons tasks (runs/METHOD-seedS; a folder with a run's
#      meta-state is resumed: a finished run is reported, a stopped one
#      continues; remove a folder to train it again);
#   2. evaluates every learned rule on 100 new two-moons tasks and 100 random
#      two-Gaussian tasks, the same tasks and initial weights for every
#      method and seed (eval --seed 1000): test accuracy and training loss
#      against labelled samples seen (runs/eval-DATA/METHOD-seedS.eval);
#      the decision regions of the first task, for the seed-1 rules;
#   3. draws Fig. 2: runs/fig2-DATA-accuracy.svg and -train-loss.svg, the
#      mean over the seeds of each method's curve with a band of one
#      standard error over the seeds (runs/fig2-DATA.csv holds the points),
#      and writes runs/results.md, the table of README.md.
# Environment: PLASTCC (default ../../build/plastcc), THREADS (default 2),
# SEEDS (default "1 2 3"), TASKS (default 100), EPISODES (the rule's
# meta-training episodes; default the experiment's).
set -eu
cd "$(dirname "$0")"
P=${PLASTCC:-../../build/plastcc}
T=${THREADS:-2}
SEEDS=${SEEDS:-1 2 3}
mkdir -p runs

echo "== meta-training (runs/supervised-seedS, runs/ssl-seedS: log.csv, learned.rule)"
for method in supervised ssl; do
  for s in $SEEDS; do
    out=runs/$method-seed$s
    if [ -f "$out/meta-state.txt" ]; then   # finished: a report; stopped: continued
      $P run gu-ssl.rule --resume "$out" --threads "$T" --quiet ||
        echo "$out: not resumed (above); its learned.rule is evaluated as it is"
    else
      episodes=""
      [ $method = ssl ] && [ -n "${EPISODES:-}" ] && episodes="--episodes $EPISODES"
      $P run gu-ssl.rule --experiment $method --seed "$s" --out "$out" --force --threads "$T" --quiet $episodes
    fi
  done
done

echo "== evaluation on ${TASKS:-100} new tasks of each kind"
last=""
for s in $SEEDS; do last=$s; done
for data in moons gaussians; do
  suffix=""
  [ $data = gaussians ] && suffix=_gaussians
  dir=runs/eval-$data
  mkdir -p "$dir"
  compare=""
  for method in ssl supervised; do
    for s in $SEEDS; do
      extra=""
      [ "$s" = "${SEEDS%% *}" ] && extra="--boundary runs/boundary-$method-$data.svg"
      # the last evaluation draws every one's curves: the seeds of a method merged
      [ $method = supervised ] && [ "$s" = "$last" ] && extra="$extra --label supervised $compare"
      out=$dir/$method-seed$s.eval
      compare="$compare --compare $method=$out"
      # an evaluation of the same learned.rule (its copy in the folder) is kept; the last one draws the charts
      cmp -s "$out/evaluated.rule" "runs/$method-seed$s/learned.rule" && [ -f "$out/summary.csv" ] &&
        ! [ $method = supervised -a "$s" = "$last" ] && continue
      $P eval gu-ssl.rule --experiment "$method$suffix" --rules "runs/$method-seed$s/learned.rule" \
          --tasks "${TASKS:-100}" --seed 1000 --curve-every 5 --threads "$T" --out "$out" --force --quiet $extra \
          > /dev/null
      cp "runs/$method-seed$s/learned.rule" "$out/evaluated.rule"
    done
  done
  cp "$dir/supervised-seed$last.eval/compare-accuracy.svg" "runs/fig2-$data-accuracy.svg"
  cp "$dir/supervised-seed$last.eval/compare-train-loss.svg" "runs/fig2-$data-train-loss.svg"
  cp "$dir/supervised-seed$last.eval/compare.csv" "runs/fig2-$data.csv"
done

# runs/results.md: per method, the mean over the seeds (+- standard error over
# them) of the test accuracy and training loss after 50, 100 and 500
# labelled samples seen (5, 10 and 50 inner steps)
{
  echo "| tasks | method | labelled samples seen | test accuracy | training loss |"
  echo "|---|---|---|---|---|"
  for data in moons gaussians; do
    awk -F, -v data="$data" 'NR > 1 && ($3 == 50 || $3 == 100 || $3 == 500) {
        printf "| %s | %s (%d seeds) | %d | %.3f +- %.3f | %.3f +- %.3f |\n", data, $1, $2, $3, $4, $5, $6, $7
      }' "runs/fig2-$data.csv"
  done
} > runs/results.md
cat runs/results.md
