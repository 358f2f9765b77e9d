#!/usr/bin/env bash
# hat_joint.sh — one whole training step of HAT (paper 001) as plastcc runs
# it: the forward pass with the rule's updates inside it, the backward pass
# through the learner and the updates, and both Adam steps (learner and
# meta-learner), on Fashion-MNIST at the paper's sizes (learner 784-183-10
# with biases, minibatch 50, meta-learner 3-H-1).  Not a test.
#
#   bench/hat_joint.sh [--plastcc PATH] [--batches N] [--widths "100 16"]
#                      [--threads "1 2 auto"] [--precisions "single double"]
# (auto: no --threads, the default count from the free cores)
#
# Per configuration: `plastcc run` of N minibatches (default 12; the test
# split evaluated only before and after, outside the timed steps); the time
# per step is the median of log.csv's `seconds` over the minibatches after
# the first (which faults its buffers in); peak RSS from /usr/bin/time; then
# one step's split by kernel from `PLASTCC_PROFILE=1 plastcc episode`.
# Useful work per step: M runs on 784*183*50 + 183*10*50 = 7.27 M synapse-
# samples; M's forward is about 8H flops each, its adjoint (M again, then
# back) about 16H: 24H * 7.27e6 flops (17.4 GFLOP for H = 100), the learner's
# dense layers (about 0.1 GFLOP) not counted.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
plastcc=${PLASTCC:-$here/../build/plastcc}
batches=12 widths="100 16" threads="1 2" precisions="single double"
while [ $# -gt 0 ]; do
  case $1 in
    --plastcc) plastcc=$2; shift 2 ;;
    --batches) batches=$2; shift 2 ;;
    --widths) widths=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --precisions) precisions=$2; shift 2 ;;
    *) echo "usage: $0 [--plastcc PATH] [--batches N] [--widths \"100 16\"] [--threads \"1 2\"] [--precisions \"single double\"]"; exit 2 ;;
  esac
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

write_rule() {   # write_rule H PRECISION
  cat > "$work/hat$1.rule" <<EOF
mlp m { in 3; dense $1 relu; dense 1; init output 0; }
rule hat { param eta = 0.01 fixed; dw = eta * mean_batch(m(pre.y, w, post.y)); }
model learner { input 784; dense 183 sigmoid bias; dense 10 softmax bias; loss cross_entropy; }
experiment step {
  model learner; rule hat; updates forward; data fashion_mnist;
  train joint batches $batches test every 1000000; inner batch 50;
  learner adam lr 1e-3; meta adam lr 1e-3; precision $2; seed 1; checkpoint every 1000000;
}
EOF
}

median_seconds() {   # median of log.csv's seconds after the first minibatch
  awk -F, 'NR > 2 { print $10 }' "$1" | sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
printf '| H | prec | threads | s per step | GFLOP/s | peak RSS MB |\n|---|---|---|---|---|---|\n'
for h in $widths; do
  for p in $precisions; do
    write_rule "$h" "$p"
    for t in $threads; do
      rm -rf "$work/out"
      tflag=(--threads "$t"); [ "$t" = auto ] && tflag=()   # auto: the default, from the free cores
      /usr/bin/time -f '%M' -o "$work/rss" "$plastcc" run "$work/hat$h.rule" --out "$work/out" "${tflag[@]}" --quiet \
          > /dev/null 2> "$work/err" || { cat "$work/err"; exit 1; }
      s=$(median_seconds "$work/out/log.csv")
      awk -v h="$h" -v p="$p" -v t="$t" -v s="$s" -v kb="$(tail -1 "$work/rss")" \
          'BEGIN { printf "| %d | %s | %s | %.3f | %.1f | %.0f |\n", h, p, t, s, 24 * h * 7.27e6 / s / 1e9, kb / 1024 }'
    done
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# one step's kernels (the first width and precision, the last thread count)
h=${widths%% *} p=${precisions%% *} t=${threads##* }
write_rule "$h" "$p"
/usr/bin/python3 "$here/ref_hat.py" make --sizes 784,183,10 --batch 50 --hidden "$h" --out "$work/st" > /dev/null
rm -f "$work/st/hat_net.npy" "$work/st/eta.npy"
echo "one step, H $h, $p, $t threads, by kernel (PLASTCC_PROFILE):"
OMP_NUM_THREADS=$t PLASTCC_PROFILE=1 "$plastcc" episode "$work/hat$h.rule" --experiment step --state "$work/st" \
    --out "$work/ep" 2>&1 | sed 's/^/  /'
