#!/bin/sh
# run.sh — 003 Figs. 5, 7, 8 and S2.  Meta-trains every run of figs.rule that
# is not yet complete (runs/EXP-seedS, S in $SEEDS, default 1-5; fa and bio,
# whose meta-accuracy curves come from ../003-pool-l1, only for the seeds in
# $DIAG_SEEDS, default 1-5, for their angles and orthonormality errors), checks
# that the diagnostics changed nothing against ../003-pool-l1's runs, then
# draws the figures into figs/ with `plastcc curves` (mean +- sd over the
# seeds, 003's running mean over 11 episodes) and writes numbers.csv.
# FIGURES_ONLY=1: no meta-training, the figures of the complete runs only.
set -eu
cd "$(dirname "$0")"
plastcc=${PLASTCC:-../../build/plastcc}
seeds=${SEEDS:-1 2 3 4 5}
diag_seeds=${DIAG_SEEDS:-1 2 3 4 5}
pool=../003-pool-l1/runs

for exp in ehebb oja bp fa bio; do
  [ "${FIGURES_ONLY:-0}" = 1 ] && break
  case $exp in fa|bio) ss=$diag_seeds ;; *) ss=$seeds ;; esac
  for s in $ss; do
    [ -f runs/$exp-seed$s/learned.rule ] && continue
    "$plastcc" run figs.rule --experiment $exp --seed $s --out runs/$exp-seed$s --force \
      --threads "${THREADS:-1}" --quiet
  done
done

# The diagnostics only measure: the same episodes, bit for bit, as the runs
# of ../003-pool-l1 without them (every column but seconds and the diagnostics).
same() {  # same A/log.csv B/log.csv
  for f in "$1" "$2"; do
    awk -F, 'NR == 1 { for (c = 1; c <= NF; c++) if ($c != "seconds" && $c !~ /^(alpha|orth)_/) k[++n] = c }
             { s = $k[1]; for (i = 2; i <= n; i++) s = s "," $k[i]; print s }' "$f"
  done | sort | uniq -u | grep -q . && return 1
  return 0
}
for exp in fa bio; do
  for s in $diag_seeds; do
    [ -f $pool/$exp-seed$s/log.csv ] && [ -f runs/$exp-seed$s/learned.rule ] || continue
    same runs/$exp-seed$s/log.csv $pool/$exp-seed$s/log.csv ||
      { echo "run.sh: runs/$exp-seed$s differs from $pool/$exp-seed$s beyond the diagnostics" >&2; exit 1; }
    echo "runs/$exp-seed$s: the same episodes as $pool/$exp-seed$s (diagnostics added)"
  done
done

mkdir -p figs
runs() {  # runs LABEL DIR-PREFIX: LABEL:DIR for every complete run of the prefix
  for d in "$2"-seed*; do if [ -f "$d/learned.rule" ]; then printf "%s:%s " "$1" "$d"; fi; done
}
curves() {  # curves FILE TITLE COLUMNS RUNS...: the y label from the columns; 003 smooths
            # loss, accuracy and angles over 11 episodes (the errors alike here), not the coefficients
  out=$1; title=$2; y=$3; shift 3
  [ $# -gt 0 ] || { echo "run.sh: no complete run for figs/$out.svg yet" >&2; return 0; }
  sm=11
  case $y in alpha_*) yl=degrees ;; orth_*) yl="||z - W W^T y||^2" ;; theta*) yl=coefficient; sm=1 ;;
             accuracy) yl=meta-accuracy ;; *) yl=meta-loss ;; esac
  "$plastcc" curves --x episodes --y "$y" --stat mean --smooth $sm --title "$title" --ylabel "$yl" \
    --out figs/"$out".svg "$@" > figs/"$out".csv
}
FA=$(runs FA $pool/fa); BP=$(runs BP runs/bp)
# The pool's runs in ../003-pool-l1 go on to 500 episodes (and seed 5 logs no
# episode after its collapse at 233): Fig. S2 draws their first 200, as it
# draws the other rules'.
first200=$(mktemp -d)
trap 'rm -rf "$first200"' EXIT
for d in $pool/pool_prox_sumsyn-seed*; do
  [ -f "$d/learned.rule" ] || continue
  mkdir -p "$first200/${d##*/}"
  awk -F, 'NR == 1 || $1 < 200' "$d/log.csv" > "$first200/${d##*/}/log.csv"   # episodes 0-199
  touch "$first200/${d##*/}/learned.rule"
done
POOL=$(runs pool "$first200"/pool_prox_sumsyn)
BIO=$(runs F_bio $pool/bio)
fig_rule() {  # fig_rule N EXP LABEL COEFFICIENTS: Fig. 5 or 7, four panels
  R=$(runs "$3" runs/"$2")
  curves fig"$1"a-accuracy "Fig. $1 a: meta-accuracy, $3 vs F0 via FA and BP" accuracy $R $FA $BP
  curves fig"$1"b-loss "Fig. $1 b: meta-loss, $3 vs F0 via FA and BP" loss $R $FA $BP
  curves fig"$1"c-angles "Fig. $1 c: alignment angles of $3 (degrees)" alpha_1,alpha_2,alpha_3,alpha_4 $R
  curves fig"$1"d-coefficients "Fig. $1 d: the coefficients of $3" "$4" $R
}
fig_rule 5 ehebb F_eHebb theta0,theta2
fig_rule 7 oja F_Oja theta0,theta9
fig8() {  # fig8 PANEL EXP LABEL: orth_1..orth_4 (the output layer left out, as 003)
  curves fig8"$1"-orthonormality-"$2" "Fig. 8 $1: orthonormality error (Eq. 10), $3" orth_1,orth_2,orth_3,orth_4 \
    $(runs "$3" runs/"$2")
}
fig8 a fa FA
fig8 b ehebb F_eHebb
fig8 c oja F_Oja
fig8 d bp BP
curves figS2a-accuracy "Fig. S2 a: meta-accuracy, F_bio vs the pool and F0 via FA and BP" accuracy $BIO $POOL $FA $BP
curves figS2b-loss "Fig. S2 b: meta-loss, F_bio vs the pool and F0 via FA and BP" loss $BIO $POOL $FA $BP
curves figS2c-angles "Fig. S2 c: alignment angles of F_bio (degrees)" alpha_1,alpha_2,alpha_3,alpha_4 \
  $(runs F_bio runs/bio)
curves figS2d-coefficients "Fig. S2 d: the coefficients of F_bio" theta0,theta2,theta9 $BIO
# the angles side by side, layer by layer (003 compares them in its text)
for l in 1 2 3 4; do
  curves angles-alpha_$l "Alignment angle alpha_$l (degrees): FA, F_eHebb, F_Oja, F_bio" alpha_$l \
    $(runs FA runs/fa) $(runs F_eHebb runs/ehebb) $(runs F_Oja runs/oja) $(runs F_bio runs/bio)
done
sh numbers.sh > numbers.csv
echo "figures in figs/, numbers in numbers.csv"
