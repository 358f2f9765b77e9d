#!/bin/sh
# Evaluates the 1000-episode ssl rules of runs-1000/ as run.sh evaluates
# runs/ (100 new tasks, --seed 1000: the same tasks and initial weights).
cd "$(dirname "$0")/.." || exit 1
P=${PLASTCC:-../../build/plastcc}
for data in moons gaussians; do
  suffix=""; [ $data = gaussians ] && suffix=_gaussians
  mkdir -p runs-1000/eval-$data
  for s in 1 2 3; do
    $P eval gu-ssl.rule --experiment "ssl$suffix" --rules runs-1000/ssl-seed$s/learned.rule --tasks 100 --seed 1000 \
      --curve-every 5 --threads 2 --out runs-1000/eval-$data/ssl-seed$s.eval --force --quiet > /dev/null || exit 1
  done
done
# per seed and data: test accuracy and training loss after 500 labelled samples (the curve's last row)
echo "data,method,seed,labelled_seen,query_accuracy,train_loss"
for data in moons gaussians; do
  for m in runs-1000/eval-$data/ssl runs/eval-$data/ssl runs/eval-$data/supervised; do
    for s in 1 2 3; do
      tail -1 $m-seed$s.eval/curve.csv | awk -F, -v d=$data -v m=$m -v s=$s '{ print d "," m "," s "," $3 "," $6 "," $8 }'
    done
  done
done
