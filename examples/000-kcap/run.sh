#!/usr/bin/env bash
# run.sh — paper 000 (Balwani et al., k-cap RNNs) with plastcc from build/:
# for each seed and data set (circles, moons, blobs, two classes, projected
# from 2-D to 10-D by a fixed random matrix of the seed):
#   hebb     the paper's rules meta-trained (plastcc run hebb_<data>), then a
#            fresh RNN trained by the learned rules (plastcc latents --rules)
#   bp-rnn   the same RNN trained by backprop through its unrolled steps
#   bp-mlp   a 3-hidden-layer k-cap MLP trained by backprop
#   init     the RNN as drawn, untrained (a reference)
#   field    (circles only, FIELD_DATASETS) the rules with the extended
#            presynaptic field (section 5.2), meta-trained and used alike
# each trained for the same number of samples on fresh data and measured
# (plastcc latents: linear probe against labelled samples, EMD of the 2-D
# principal components against the 2-D original); then per data set the
# groups side by side (mean and standard error over the seeds), and
# emd-table.md beside the paper's numbers.
#
# Defaults (about 30 minutes on a shared 2-core machine): seeds 1-3, 40
# meta-training episodes, 300 training steps of 4 samples.  Environment:
# SEEDS="1 2 3", DATASETS="circles moons blobs", FIELD_DATASETS=circles,
# EPISODES=40, STEPS=300,
# REPEATS=10 (probe draws per label count), PLASTCC=build/plastcc.
# A finished run (its summary.csv) is not run again.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
plastcc=${PLASTCC:-$here/../../build/plastcc}
seeds=${SEEDS:-1 2 3}
datasets=${DATASETS:-circles moons blobs}
field_datasets=${FIELD_DATASETS-circles}
episodes=${EPISODES:-40}
steps=${STEPS:-300}
repeats=${REPEATS:-10}
mkdir -p runs figures

latents() {   # latents OUT EXPERIMENT SEED STEPS [OPTION...]
  local out=$1 exp=$2 seed=$3 n=$4; shift 4
  [ -f "$out/summary.csv" ] && return 0
  "$plastcc" latents kcap.rule --experiment "$exp" --seed "$seed" --train "$n" --repeats "$repeats" \
    --title "$exp, seed $seed" --out "$out" --force "$@" > "$out.log" 2>&1 || { cat "$out.log"; return 1; }
  echo "$out: $(tail -1 "$out.log")"
}

metatrain() {   # metatrain OUT EXPERIMENT SEED
  [ -f "$1/learned.rule" ] && return 0
  "$plastcc" run kcap.rule --experiment "$2" --seed "$3" --episodes "$episodes" --threads 1 --quiet \
    --out "$1" --force > "$1.log" 2>&1 || { cat "$1.log"; return 1; }
}

for s in $seeds; do
  for d in $datasets; do
    meta=runs/meta-$d-s$s
    metatrain "$meta" "hebb_$d" "$s"
    latents "runs/hebb-$d-s$s" "hebb_$d" "$s" "$steps" --rules "$meta/learned.rule"
    latents "runs/bp-rnn-$d-s$s" "bp_rnn_$d" "$s" "$steps"
    latents "runs/bp-mlp-$d-s$s" "bp_mlp_$d" "$s" "$steps"
    latents "runs/init-$d-s$s" "hebb_$d" "$s" 0
  done
done
for s in $seeds; do
  for d in $field_datasets; do
    metatrain "runs/meta-field-$d-s$s" "field_$d" "$s"
    latents "runs/field-$d-s$s" "field_$d" "$s" "$steps" --rules "runs/meta-field-$d-s$s/learned.rule"
  done
done

# per data set: the groups over the seeds; the latent plots of the first seed
first=${seeds%% *}
for d in $datasets; do
  args=()
  groups="hebb bp-rnn bp-mlp init"
  case " $field_datasets " in *" $d "*) groups="$groups field";; esac
  for g in $groups; do
    args+=(--group "$g")
    for s in $seeds; do args+=("runs/$g-$d-s$s"); done
  done
  "$plastcc" latents --combine "figures/$d" --title "$d (10-D), mean +- s.e. over seeds $seeds" "${args[@]}"
  cp "runs/hebb-$d-s$first/data.svg" "figures/$d/data-2d.svg"
  for g in $groups; do cp "runs/$g-$d-s$first/latents.svg" "figures/$d/latents-$g.svg"; done
  for s in $seeds; do cp "runs/meta-$d-s$s/meta-loss.svg" "figures/$d/meta-loss-s$s.svg"; done
done

# the EMD table beside the paper's (Fig. 2: backprop RNN / MLP)
{
  echo "| data | paper RNN (bp) | paper MLP (bp) | bp-rnn | bp-mlp | hebb (meta-learned) | init (untrained) | the 10-D input |"
  echo "|---|---|---|---|---|---|---|---|"
  for d in $datasets; do
    case $d in circles) p="0.0205 | 0.121";; moons) p="0.1415 | 0.285";; blobs) p="0.565 | 0.4635";; esac
    awk -F, -v d="$d" -v p="$p" '
      NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
      { v[$1] = sprintf("%.3f +- %.3f", $(c["emd_aligned"]), $(c["emd_aligned_se"])); inp = sprintf("%.3f", $(c["input_emd_aligned"])) }
      END { printf "| %s | %s | %s | %s | %s | %s | %s |\n", d, p, v["bp-rnn"], v["bp-mlp"], v["hebb"], v["init"], inp }' "figures/$d/summary.csv"
  done
} > emd-table.md
{
  echo "| data | group | runs | final loss | probe accuracy (256 labels) | EMD aligned | EMD as is |"
  echo "|---|---|---|---|---|---|---|"
  for d in $datasets; do
    awk -F, -v d="$d" '
      NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
      { printf "| %s | %s | %d | %.3f +- %.3f | %.3f +- %.3f | %.3f +- %.3f | %.3f +- %.3f |\n", d, $1, $2,
          $(c["loss"]), $(c["loss_se"]), $(c["probe_accuracy"]), $(c["probe_accuracy_se"]),
          $(c["emd_aligned"]), $(c["emd_aligned_se"]), $(c["emd"]), $(c["emd_se"]) }' "figures/$d/summary.csv"
  done
} > summary.md
cat emd-table.md summary.md
