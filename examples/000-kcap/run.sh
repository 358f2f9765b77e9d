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
  [ -f "$out/summary.csv" ] && { [ "$n" = 0 ] || [ -d "$out/final" ]; } && return 0   # final/: the weights Fig. 4 starts from
  "$plastcc" latents kcap.rule --experiment "$exp" --seed "$seed" --train "$n" --repeats "$repeats" \
    --title "$exp, seed $seed" --out "$out" --force "$@" > "$out.log" 2>&1 || { cat "$out.log"; return 1; }
  echo "$out: $(tail -1 "$out.log")"
}

metatrain() {   # metatrain OUT EXPERIMENT SEED, or OUT FILE SEED EXPERIMENT
  [ -f "$1/learned.rule" ] && return 0
  local file=kcap.rule exp=$2
  if [ $# -ge 4 ]; then file=$2; exp=$4; fi
  "$plastcc" run "$file" --experiment "$exp" --seed "$3" --episodes "$episodes" --threads 1 --quiet \
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

# Fig. 4, the semi-supervised follow-up: the representation learnt without
# labels (W1, Wrec1 of the hebb run, its final/ weights) kept fixed, a new
# 2-way softmax readout trained on SSL_TRAIN labelled samples per class:
#   ssl-hebb      by the learnt update of M_out re-trained under the
#                 cross-entropy loss (kcap_hist_out_ce, meta-trained anew)
#   ssl-hebb-sgd  by gradient descent on the same representation
#   ssl-init-sgd  by gradient descent on the untrained RNN's representation
# each evaluated on SSL_TASKS new tasks (training loss, training and query
# accuracy against the samples seen), the seeds combined per data set.
ssl_train=${SSL_TRAIN:-8}
ssl_steps=${SSL_STEPS:-40}
ssl_tasks=${SSL_TASKS:-50}
data_of() {   # the data statement of hebb_<d> in kcap.rule
  awk -v e="experiment hebb_$1 " 'index($0, e) == 1 { on = 1 } on && /^  data / { sub(/^  /, ""); print; exit }' kcap.rule
}
ssl_file() {   # ssl_file D S: runs/ssl-D-sS.rule, the three experiments for data set D, seed S
  local d=$1 s=$2 data
  data=$(data_of "$d")
  local common="$data tasks ways 2 train $ssl_train query 32; inner batch 4 steps $ssl_steps; seed $s;"
  cat > "runs/ssl-$d-s$s.rule" <<RULE
# written by run.sh: Fig. 4 for data set $d, seed $s
import "../kcap.rule";
experiment ssl_hebb { model rnn_cls; rule frozen on W1, Wrec1; rule kcap_hist_out_ce on W2;
  weights from "hebb-$d-s$s/final" on W1, Wrec1; $common meta adam lr 1e-2 episodes $episodes; }
experiment ssl_hebb_sgd { model rnn_cls; rule frozen on W1, Wrec1; rule sgd_out on W2;
  weights from "hebb-$d-s$s/final" on W1, Wrec1; $common }
experiment ssl_init_sgd { model rnn_cls; rule frozen on W1, Wrec1; rule sgd_out on W2; $common }
RULE
}
evaluate() {   # evaluate OUT FILE EXPERIMENT [OPTION...]
  local out=$1 file=$2 exp=$3; shift 3
  [ -f "$out/summary.csv" ] && return 0
  "$plastcc" eval "$file" --experiment "$exp" --tasks "$ssl_tasks" --curve-every 4 --quiet --out "$out" --force \
    "$@" > "$out.log" 2>&1 || { cat "$out.log"; return 1; }
}
for s in $seeds; do
  for d in $datasets; do
    ssl_file "$d" "$s"
    f=runs/ssl-$d-s$s.rule
    metatrain "runs/meta-ssl-$d-s$s" "$f" "$s" ssl_hebb
    evaluate "runs/ssl-hebb-$d-s$s" "$f" ssl_hebb --rules "runs/meta-ssl-$d-s$s/learned.rule" --label ssl-hebb
    evaluate "runs/ssl-hebb-sgd-$d-s$s" "$f" ssl_hebb_sgd --label ssl-hebb-sgd
    evaluate "runs/ssl-init-sgd-$d-s$s" "$f" ssl_init_sgd --label ssl-init-sgd
  done
done
{
  echo "| data | readout trained by | representation | query accuracy | training accuracy | training loss |"
  echo "|---|---|---|---|---|---|"
  for d in $datasets; do
    mkdir -p "figures/$d"
    cmp=()
    for g in ssl-hebb ssl-hebb-sgd ssl-init-sgd; do
      for s in $seeds; do   # the first seed's learnt-rule evaluation is the chart's own
        [ "$g-$s" = "ssl-hebb-$first" ] || cmp+=(--compare "$g=runs/$g-$d-s$s")
      done
      case $g in ssl-hebb) how="the learnt rule (CE)"; rep="learnt (hebb)";; ssl-hebb-sgd) how="gradient descent"; rep="learnt (hebb)";;
                 *) how="gradient descent"; rep="untrained";; esac
      for s in $seeds; do tail -n +2 "runs/$g-$d-s$s/summary.csv"; done | awk -F, -v d="$d" -v how="$how" -v rep="$rep" '
        { n[$1]++; x[$1] += $2; xx[$1] += $2 * $2 }
        function ms(k,  m, v) {   # mean +- standard error over the seeds
          m = x[k] / n[k]; v = n[k] > 1 ? (xx[k] - n[k] * m * m) / (n[k] - 1) : 0
          return sprintf("%.3f +- %.3f", m, sqrt(v > 0 ? v : 0) / sqrt(n[k])) }
        END { printf "| %s | %s | %s | %s | %s | %s |\n", d, how, rep, ms("query_accuracy"), ms("train_accuracy"), ms("train_loss") }'
    done
    # the charts: every run beside the first seed's learnt-rule evaluation (mean +- s.e. over seeds per group)
    "$plastcc" eval "runs/ssl-$d-s$first.rule" --experiment ssl_hebb --rules "runs/meta-ssl-$d-s$first/learned.rule" \
      --tasks "$ssl_tasks" --curve-every 4 --quiet --label ssl-hebb --out "figures/$d/ssl" --force "${cmp[@]}" > /dev/null
  done
} > ssl-table.md

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
cat emd-table.md summary.md ssl-table.md
