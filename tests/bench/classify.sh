#!/usr/bin/env bash
# Classifier benchmark: Debrief beside scikit-learn (TF-IDF + LinearSVC) and fastText, on the
# same splits in the same run. Data: ../shared/data only (Banking77 and CLINC150 train, with a
# stratified 20% validation split carved from train by a fixed seed; CLINC150's own val).
# Usage: tests/bench/classify.sh BUILD_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build-bench}
data=${DEBRIEF_DATA:-$root/../shared/data}
bench=$build/tests/debrief_classify_bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$data" "$work" <<'PY'
import csv, random, sys
data, out = sys.argv[1], sys.argv[2]
def rows(p): return list(csv.DictReader(open(p, newline="")))
def write(p, rs):
    w = csv.writer(open(p, "w", newline="")); w.writerow(["text", "category"])
    for r in rs: w.writerow([r["text"], r["category"]])
def split(rs, frac=0.2, seed=7):
    by = {}
    for r in rs: by.setdefault(r["category"], []).append(r)
    rnd, tr, va = random.Random(seed), [], []
    for k in sorted(by):
        v = by[k]; rnd.shuffle(v); n = int(len(v) * frac + 0.5); va += v[:n]; tr += v[n:]
    return tr, va
tr, va = split(rows(f"{data}/banking77/train.csv"))
write(f"{out}/b77_train.csv", tr); write(f"{out}/b77_val.csv", va)
rnd, seen, few = random.Random(11), {}, []
shuffled = tr[:]; rnd.shuffle(shuffled)
for r in shuffled:
    if seen.get(r["category"], 0) < 10: seen[r["category"]] = seen.get(r["category"], 0) + 1; few.append(r)
write(f"{out}/b77_10shot.csv", few)
write(f"{out}/clinc_train.csv", rows(f"{data}/clinc150/train.csv"))
write(f"{out}/clinc_val.csv", rows(f"{data}/clinc150/val.csv"))
PY
# E-mail-length tickets (greeting, quoted earlier reply, signature) made from the same splits.
python3 "$root/tests/bench/long_tickets.py" "$work/b77_train.csv" "$work/long_train.csv" --seed 3
python3 "$root/tests/bench/long_tickets.py" "$work/b77_val.csv" "$work/long_val.csv" --seed 4

results=$work/results.jsonl
run() {  # name, command...
  local name=$1; shift
  "$@" | sed "s/^{/{\"case\": \"$name\", /" >> "$results"
}
have_sklearn=0; /usr/bin/python3 -c "import sklearn" 2>/dev/null && have_sklearn=1
have_fasttext=0; command -v fasttext >/dev/null && have_fasttext=1

fasttext_run() {  # name train test
  local name=$1 tr=$2 te=$3
  for f in "$tr" "$te"; do
    python3 -c "
import csv,sys,re
for r in csv.DictReader(open(sys.argv[1], newline='')):
    print('__label__'+r['category'], re.sub(r'\s+',' ',r['text']).lower())" "$f" > "$f.ft"
  done
  local t0 t1 out
  t0=$(date +%s.%N)
  fasttext supervised -input "$tr.ft" -output "$work/ft" -epoch 25 -lr 0.5 -wordNgrams 2 -minn 2 -maxn 5 -dim 100 -thread 1 -verbose 0
  t1=$(date +%s.%N)
  out=$(fasttext test "$work/ft.bin" "$te.ft" | awk '/^P@1/{print $2}')
  echo "{\"case\": \"$name\", \"tool\": \"fasttext\", \"accuracy\": $out, \"train_seconds\": $(echo "$t1 - $t0" | bc), \"model_bytes\": $(stat -c %s "$work/ft.bin")}" >> "$results"
}

echo "classifier benchmark: $(nproc) cores, $(date -u +%Y-%m-%d)" >&2
run banking77 "$bench" fit "$work/b77_train.csv" "$work/b77_val.csv"
run banking77-10shot "$bench" fit "$work/b77_10shot.csv" "$work/b77_val.csv"
run clinc150 "$bench" fit "$work/clinc_train.csv" "$work/clinc_val.csv"
run banking77-long "$bench" fit "$work/long_train.csv" "$work/long_val.csv"
if [ $have_sklearn = 1 ]; then
  run banking77 /usr/bin/python3 "$root/tests/bench/baselines/sklearn_baseline.py" "$work/b77_train.csv" "$work/b77_val.csv"
  run banking77-10shot /usr/bin/python3 "$root/tests/bench/baselines/sklearn_baseline.py" "$work/b77_10shot.csv" "$work/b77_val.csv"
  run banking77-long /usr/bin/python3 "$root/tests/bench/baselines/sklearn_baseline.py" "$work/long_train.csv" "$work/long_val.csv"
fi
[ $have_fasttext = 1 ] && fasttext_run banking77 "$work/b77_train.csv" "$work/b77_val.csv"
"$bench" online "$work/b77_train.csv" "$work/b77_val.csv" > "$work/online.jsonl"
"$bench" review "$work/b77_train.csv" "$work/b77_val.csv" > "$work/review.jsonl"
"$bench" emerging "$work/clinc_train.csv" "$work/clinc_val.csv" > "$work/emerging.jsonl"

# Debian's Python (its matplotlib draws the reliability diagram).
/usr/bin/python3 - "$results" "$work/online.jsonl" "$build/classifier-reliability.png" \
  "$work/review.jsonl" "$work/emerging.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def get(case, tool): return next((r for r in rows if r["case"] == case and r["tool"] == tool), None)
def pct(v): return f"{100*v:.1f}%" if v is not None else "-"
def num(v, f="{:,.0f}"): return f.format(v) if v is not None else "-"
print("| case | tool | accuracy | train s | predictions/s (1 core) | tickets/s with reasons | model MB | update µs | calibration error |")
print("|---|---|---|---|---|---|---|---|---|")
for r in rows:
    acc = pct(r.get("accuracy"))
    if "in_scope_accuracy" in r:
        acc += f" (in-scope {pct(r['in_scope_accuracy'])}, out-of-scope recall {pct(r['oos_recall'])})"
    mb = f"{r['model_bytes']/1e6:.1f}" if "model_bytes" in r else "-"
    print(f"| {r['case']} | {r['tool']} | {acc} | {num(r.get('train_seconds'), '{:.2f}')} | "
          f"{num(r.get('predictions_per_second'))} | {num(r.get('classify_per_second'))} | {mb} | "
          f"{num(r.get('update_microseconds'), '{:.0f}')} | {pct(r.get('calibration_error'))} |")
print()
long = get("banking77-long", "debrief")
if long:
    chars = long["mean_chars"]
    print(f"banking77-long: {long['test']} tickets of {chars:,.0f} characters on average; "
          f"{long['classify_per_second'] * chars:,.0f} characters/s with reasons = "
          f"{long['classify_per_second'] * chars / 1100:,.0f} tickets of 1,100 characters/s "
          f"({long['predictions_per_second'] * chars / 1100:,.0f} label only)")
    short = get("banking77", "debrief")
    if short:
        print(f"banking77-long accuracy {pct(long['accuracy'])} against {pct(short['accuracy'])} "
              f"on the sentences they are made of")
for case in ("banking77", "banking77-10shot", "banking77-long"):
    d, s, f = get(case, "debrief"), get(case, "sklearn"), get(case, "fasttext")
    for other in (s, f):
        if d and other:
            line = f"{case}: debrief/{other['tool']} accuracy ratio {d['accuracy']/other['accuracy']:.3f}"
            if other.get("train_seconds"): line += f", training {other['train_seconds']/d['train_seconds']:.1f}x faster"
            if other.get("predictions_per_second"): line += f", predictions {d['predictions_per_second']/other['predictions_per_second']:.1f}x faster"
            print(line)
curve = [json.loads(l) for l in open(sys.argv[2])]
print()
print("online learning from category names only, one correction at a time (banking77):")
print("  " + ", ".join(f"{c['corrections']}: {100*c['accuracy']:.1f}%" for c in curve))

review = [json.loads(l) for l in open(sys.argv[4])]
queue = next(r for r in review if r["strategy"] == "queue")
randoms = [r for r in review if r["strategy"] == "random"]
print()
print("review queue against random picks, from the category names alone (banking77), accuracy after N answers:")
print("| answers | queue | random (mean of %d draws) | random, each draw |" % len(randoms))
print("|---|---|---|---|")
for k, point in enumerate(queue["curve"]):
    draws = [r["curve"][k]["accuracy"] for r in randoms]
    print(f"| {point['answers']} | {pct(point['accuracy'])} | {pct(sum(draws) / len(draws))} | "
          + ", ".join(pct(d) for d in draws) + " |")

print()
print("emerging issues (clinc150: 100 intents learned, every intent's tickets arriving; groups of 5 or more):")
print("| split | similarity | groups | purity | unseen-intent tickets needing review | in a group | unseen intents listed | median tickets before listed |")
print("|---|---|---|---|---|---|---|---|")
for l in open(sys.argv[5]):
    e = json.loads(l)
    print(f"| {e['split']} | {e['similarity']} | {e['groups']} | {pct(e['purity'])} | "
          f"{pct(e['unseen_needing_review'])} | {pct(e['unseen_in_groups'])} | "
          f"{e['intents_listed']} of {e['intents_unseen']} | {e['median_tickets_before_listed']} |")

# Reliability diagram: confidence shown against how often the top category was right.
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    sys.exit(0)
fig, ax = plt.subplots(figsize=(5.5, 5), dpi=120)
ax.plot([0, 1], [0, 1], color="#888", linestyle="--", linewidth=1, label="perfect calibration")
for case, color in (("banking77", "#1f6feb"), ("clinc150", "#d1242f")):
    r = get(case, "debrief")
    if not r or "reliability" not in r:
        continue
    bins = [b for b in r["reliability"] if b["count"] > 0]
    ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o",
            color=color, label=f"{case} (ECE {100 * r['calibration_error']:.1f}%)")
ax.set_xlabel("confidence shown")
ax.set_ylabel("share of tickets whose top category was right")
ax.set_xlim(0, 1)
ax.set_ylim(0, 1)
ax.set_title("Debrief's confidence, validation splits (10 bins)")
ax.legend(loc="upper left")
fig.tight_layout()
fig.savefig(sys.argv[3])
print(f"\nreliability diagram: {sys.argv[3]}")
PY
