#!/bin/sh
# curves.sh — plastcc curves on hand-made runs whose statistics are known:
# per evaluation point the median, minimum, maximum, mean and standard
# deviation (n - 1) over a group's runs; --x labelled takes each run's last
# evaluation (--at S: the one after S samples); --stat mean draws mean +- sd; runs evaluated at different
# points, a folder that is no joint run and a bad argument are refused;
# --params draws a meta-training log's trajectories, smoothed and marked.
# --x episodes reads meta-training logs (any column, --smooth N).
set -u
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

mkrun() {   # mkrun DIR LABELLED ACC_AT_0 ACC_AT_500 [ACC_AT_1000]
  mkdir -p "$1"
  printf 'experiment run\nscheme joint\nlabelled %s\n' "$2" > "$1/run.txt"
  printf 'batch,samples,test_loss,test_accuracy\n0,0,2.3,%s\n10,500,1.0,%s\n' "$3" "$4" > "$1/test.csv"
  [ -n "${5:-}" ] && printf '20,1000,0.5,%s\n' "$5" >> "$1/test.csv"
  return 0
}
mkrun "$work/a1" 0.5 0.1 0.5
mkrun "$work/a2" 0.5 0.1 0.6
mkrun "$work/a3" 0.5 0.1 0.9
mkrun "$work/b1" 0.5 0.2 0.4
mkrun "$work/b2" 1 0.2 0.8

"$PLASTCC" curves --out "$work/s.svg" A:"$work/a1" A:"$work/a2" A:"$work/a3" B:"$work/b1" > "$work/s.csv" ||
  bad "curves against samples"
grep -q '<svg' "$work/s.svg" || bad "no chart"
head -1 "$work/s.csv" | grep -qx 'group,samples,runs,median,min,max,mean,sd' || bad "header: $(head -1 "$work/s.csv")"
# A at 500: 0.5 0.6 0.9 -> median 0.6, mean 2/3, sd sqrt(0.13/3 ... ) = 0.208167
awk -F, '$1 == "A" && $2 == 500 {
    if ($3 != 3 || $4 != 0.6 || $5 != 0.5 || $6 != 0.9) bad = 1
    if (($7 - 2 / 3) ^ 2 > 1e-10 || ($8 - 0.208167) ^ 2 > 1e-10) bad = 1; seen = 1 }
  $1 == "A" && $2 == 0 && ($4 != 0.1 || $8 ^ 2 > 1e-20) { bad = 1 }
  $1 == "B" && $2 == 500 && ($3 != 1 || $7 != 0.4 || $8 != 0) { bad = 1 }
  END { exit bad || !seen }' "$work/s.csv" || { cat "$work/s.csv"; bad "the statistics of group A or B"; }

# --stat mean: the same numbers, the band mean +- sd in the chart
"$PLASTCC" curves --stat mean --out "$work/m.svg" A:"$work/a1" A:"$work/a2" A:"$work/a3" > "$work/m.csv" ||
  bad "curves --stat mean"
grep -q 'mean and standard deviation' "$work/m.svg" || bad "the mean chart's title"
grep -v '^B' "$work/s.csv" | cmp -s - "$work/m.csv" || bad "--stat changed the CSV"

# --x labelled: the last evaluation per run, grouped by fraction
mkrun "$work/c1" 0.5 0.1 0.5 0.7
"$PLASTCC" curves --x labelled --out "$work/l.svg" B:"$work/b1" B:"$work/b2" C:"$work/c1" > "$work/l.csv" ||
  bad "curves --x labelled"
grep -qx 'B,0.5,1,0.4,0.4,0.4,0.4,0' "$work/l.csv" && grep -qx 'B,1,1,0.8,0.8,0.8,0.8,0' "$work/l.csv" &&
  grep -qx 'C,0.5,1,0.7,0.7,0.7,0.7,0' "$work/l.csv" || { cat "$work/l.csv"; bad "the labelled points"; }

# --at: the evaluation after that many samples, not the last; a run without one is refused
"$PLASTCC" curves --x labelled --at 500 --out "$work/l.svg" B:"$work/b1" C:"$work/c1" > "$work/at.csv" ||
  bad "curves --at 500"
grep -qx 'C,0.5,1,0.5,0.5,0.5,0.5,0' "$work/at.csv" || { cat "$work/at.csv"; bad "--at 500 did not take C's second point"; }
"$PLASTCC" curves --x labelled --at 1000 --out "$work/l.svg" B:"$work/b1" C:"$work/c1" > /dev/null 2> "$work/at.err" &&
  bad "--at 1000 drew a run stopped at 500"
grep -q "b1 has no evaluation after 1000 samples" "$work/at.err" || bad "no message for --at 1000: $(cat "$work/at.err")"
"$PLASTCC" curves --x labelled --at x --out "$work/l.svg" B:"$work/b1" > /dev/null 2>&1 && bad "--at x accepted"

# refusals (a group's runs may stop at different lengths: the shortest sets the points)
mkrun "$work/d1" 0.5 0.1 0.5
sed -i 's/^10,500,/8,400,/' "$work/d1/test.csv"
"$PLASTCC" curves --out "$work/x.svg" A:"$work/a1" A:"$work/d1" > /dev/null 2> "$work/x.err" &&
  bad "runs evaluated at different points were drawn"
grep -q 'evaluated at different points' "$work/x.err" || bad "no message for different points: $(cat "$work/x.err")"
printf 'epoch,x\n' > "$work/a1/test.csv"
"$PLASTCC" curves --out "$work/x.svg" A:"$work/a1" > /dev/null 2> "$work/x.err" && bad "a bad test.csv was read"
grep -q 'is not the test.csv of a joint run' "$work/x.err" || bad "no message for a bad test.csv: $(cat "$work/x.err")"
"$PLASTCC" curves --stat mode --out "$work/x.svg" A:"$work/a2" > /dev/null 2>&1 && bad "--stat mode accepted"
"$PLASTCC" curves --out "$work/x.svg" "$work/a2" > /dev/null 2>&1 && bad "a run without a group accepted"

# --params: a meta-training log whose b alternates 0, 1: raw it zigzags, its
# moving average over 2 episodes is flat from the second episode on; --mark
# draws a and b bold and c faint; a name that is no meta-parameter is refused
mkdir -p "$work/meta"
{ echo "episode,meta_loss,meta_accuracy,grad_norm,clipped,lr,seconds,a,b,c,alpha_1"
  for e in 0 1 2 3 4 5 6 7; do echo "$e,1,0.5,1,0,0.001,1,$e,$((e % 2)),0.5,80"; done; } > "$work/meta/log.csv"
"$PLASTCC" curves --params "$work/meta" --out "$work/p1.svg" --mark a,b > /dev/null 2>&1 || bad "curves --params"
"$PLASTCC" curves --params "$work/meta" --out "$work/p2.svg" --mark a,b --smooth 2 > /dev/null 2>&1 || bad "curves --params --smooth 2"
/usr/bin/python3 - "$work/p1.svg" "$work/p2.svg" <<'PY' || bad "--params: wrong lines"
import re, sys
def lines(path):
    svg = open(path).read()
    poly = re.findall(r'<polyline[^>]*stroke-width="([0-9.]+)"([^>]*)points="([^"]*)"', svg)
    return [(w, "stroke-opacity" in rest, [float(p.split(",")[1]) for p in pts.split()]) for w, rest, pts in poly]
raw, smooth = lines(sys.argv[1]), lines(sys.argv[2])
assert len(raw) == 3 and len(smooth) == 3, (len(raw), len(smooth))   # a, b, c; alpha_1 is no meta-parameter
assert [(w, faint) for w, faint, _ in raw] == [("3", False), ("3", False), ("1.5", True)], raw
yb = raw[1][2]
assert yb[0] == yb[2] != yb[1] == yb[3], yb
ys = smooth[1][2]
assert len(set(ys[1:])) == 1 and ys[0] != ys[1], ys
PY
grep -q 'font-weight="bold">b<' "$work/p1.svg" || bad "--mark: b's legend is not bold"
"$PLASTCC" curves --params "$work/meta" --out "$work/p3.svg" --mark a,alpha_1 > "$work/p3.out" 2>&1 && bad "--mark alpha_1 accepted"
grep -q "log.csv has no meta-parameter 'alpha_1' (it has a, b, c)" "$work/p3.out" || bad "no message for a bad --mark: $(cat "$work/p3.out")"
"$PLASTCC" curves --params "$work/meta" --out "$work/p4.svg" --smooth 0 > /dev/null 2>&1
[ $? -eq 2 ] || bad "--smooth 0 is not a usage error"
[ $fail = 0 ] && echo "curves --params: moving average, marked and faint trajectories, refusals"
# --x episodes: meta-training runs' log.csv, any column, several columns as
# "NAME COL" curves; --smooth N: each run's running mean over N points first
mklog() {   # mklog DIR ACC0 ACC1 ACC2 ACC3 (alpha_1 = 10 * accuracy)
  mkdir -p "$1"
  printf 'episode,meta_loss,meta_accuracy,grad_norm,clipped,lr,seconds,theta0,alpha_1\n' > "$1/log.csv"
  e=0
  for a in "$2" "$3" "$4" "$5"; do
    printf '%d,1.5,%s,1,0,0.001,0.5,0.001,%s\n' $e "$a" "$(echo "$a" | awk '{ print 10 * $1 }')" >> "$1/log.csv"
    e=$((e + 1))
  done
}
mklog "$work/e1" 0.2 0.4 0.6 0.8
mklog "$work/e2" 0.4 0.4 0.4 0.4
"$PLASTCC" curves --x episodes --y accuracy --stat mean --out "$work/e.svg" F:"$work/e1" F:"$work/e2" > "$work/e.csv" ||
  bad "curves --x episodes"
head -1 "$work/e.csv" | grep -qx 'group,episode,runs,median,min,max,mean,sd' || bad "episode header: $(head -1 "$work/e.csv")"
# episode 3: 0.8 and 0.4 -> mean 0.6, sd sqrt(0.08) = 0.282843
grep -qx 'F,3,2,0.6,0.4,0.8,0.6,0.282843' "$work/e.csv" || { cat "$work/e.csv"; bad "the episode statistics"; }
grep -q 'meta_accuracy against the episode' "$work/e.svg" || bad "the episode chart's title"
# --smooth 3: e1 becomes 0.2 0.3 0.4 0.6 (the first points over the points so far)
"$PLASTCC" curves --x episodes --smooth 3 --out "$work/e.svg" F:"$work/e1" > "$work/s3.csv" || bad "--smooth 3"
[ "$(cut -d, -f2,4 "$work/s3.csv" | tail -n +2 | tr '\n' ' ')" = "0,0.2 1,0.3 2,0.4 3,0.6 " ] ||
  { cat "$work/s3.csv"; bad "the running mean over 3"; }
# two columns: a curve each, named by group and column
"$PLASTCC" curves --x episodes --y meta_accuracy,alpha_1 --ylabel 'mixed units' --out "$work/e.svg" F:"$work/e1" \
  > "$work/two.csv" || bad "--y with two columns"
grep -q '>mixed units<' "$work/e.svg" || bad "--ylabel not on the chart"
grep -qx 'F meta_accuracy,3,1,0.8,0.8,0.8,0.8,0' "$work/two.csv" && grep -qx 'F alpha_1,3,1,8,8,8,8,0' "$work/two.csv" ||
  { cat "$work/two.csv"; bad "the two columns' curves"; }
"$PLASTCC" curves --x episodes --y orth_9 --out "$work/e.svg" F:"$work/e1" > /dev/null 2> "$work/x.err" &&
  bad "a missing column was drawn"
grep -q 'e1/log.csv has no column orth_9' "$work/x.err" || bad "no message for a missing column: $(cat "$work/x.err")"
"$PLASTCC" curves --x episodes --out "$work/e.svg" F:"$work/b1" > /dev/null 2> "$work/x.err" && bad "a joint run read as a log"
grep -q 'cannot read .*b1/log.csv' "$work/x.err" || bad "no message for a folder without log.csv: $(cat "$work/x.err")"
"$PLASTCC" curves --y alpha_1 --out "$work/e.svg" A:"$work/a2" > /dev/null 2>&1 && bad "--y COL accepted for a joint run"
"$PLASTCC" curves --x episodes --smooth 0 --out "$work/e.svg" F:"$work/e1" > /dev/null 2>&1 && bad "--smooth 0 accepted"
[ $fail = 0 ] && echo "curves: median, range, mean and sd of known runs; labelled points, --at; episodes, --smooth; refusals"
exit $fail
