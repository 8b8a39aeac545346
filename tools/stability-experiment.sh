#!/usr/bin/env bash
# Issue 21.3, does stability training pay? One bundled style is fine-tuned from its checkpoint several times, for the
# same steps from the same start with the same seed, data and recipe: once without the stability loss (W = 0) and
# once per stability weight W (Gupta et al. 2017, "Characterizing and Improving Stability in Neural Style Transfer":
# `--stability-weight W --stability-shift S`, docs/video.md). Then each network is measured with `hokusai flicker`
# (pan, zoom and static clips of known motion, with each network's floor, docs/video.md) and with the style-loss protocol of
# tools/eval-bundled.sh (the four held-out photos at 512 px, great-wave's painting at 928 px), and a markdown table
# compares them with W = 0.
#
# Usage: tools/stability-experiment.sh [train|measure|all]   (default all; prints the table)
#   STAB_WEIGHTS="300 1000"  stability weights to try besides 0     STAB_STEPS=80   fine-tuning steps per run
#     an entry NAME=W,ARG,ARG… trains folder wNAME at weight W with those extra `hokusai train` arguments, which
#     override the recipe's (e.g. 1000s15tv0=1000,--style-weight,1.5,--tv-weight,0; docs/video.md lists the runs)
#   STAB_SHIFT=4             --stability-shift of the stable runs   STAB_AT=<steps> checkpoint step to measure
#   STAB_OUT=out/stability-experiment   run folders w<W>/ and logs   STAB_STYLE=great-wave (only recipe so far)
#   HOKUSAI_BIN=packages/cli/bin/hokusai.mjs    HOKUSAI_SHARED=../shared (VGG19 weights, style and held-out photos)
# The runs train at the same time under `nice -n 10` (wasm backend, one core each; on this project's shared 2-core
# machine about 20-50 s per step each). Finished runs (their checkpoint-<STAB_STEPS> exists) are not trained again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
shared=${HOKUSAI_SHARED:-../shared}
bin=${HOKUSAI_BIN:-packages/cli/bin/hokusai.mjs}
style=${STAB_STYLE:-great-wave}
steps=${STAB_STEPS:-80}
at=${STAB_AT:-$steps}
shift_px=${STAB_SHIFT:-4}
out=${STAB_OUT:-out/stability-experiment}
read -r -a stable_weights <<< "${STAB_WEIGHTS:-300 1000}"
runs=(0 "${stable_weights[@]}")
names=(); for r in "${runs[@]}"; do names+=("${r%%=*}"); done
mode=${1:-all}
hokusai() { node "$bin" "$@"; }

# great-wave's own recipe, as its meta.json records it (checkpoints/README.md), fine-tuned from the bundled network.
case $style in
  great-wave)
    recipe=(--preset great-wave --style "$shared/images/styles/great_wave_hokusai.jpg" --dataset datasets/bundled/train
      --validation datasets/bundled/validation --weights "$shared/weights/vgg19-keras/vgg19_notop.h5" --style-size 928
      --scale-augment 2 --style-weight 0.5 --tv-weight 2 --init-from checkpoints/great-wave --backend wasm --seed 42) ;;
  *) echo "stability-experiment: no recipe for style $style (only great-wave)" >&2; exit 2 ;;
esac

train() {
  [ -d datasets/bundled/train ] || bash tools/prepare-bundled-dataset.sh
  mkdir -p "$out"
  local pids=() r name spec w
  for r in "${runs[@]}"; do
    name=${r%%=*}; spec=${r#*=}
    local a; IFS=, read -r -a a <<< "$spec"
    w=${a[0]}
    if [ -d "$out/w$name/checkpoint-$steps" ]; then echo "w$name: checkpoint-$steps exists, not trained again" >&2; continue; fi
    local stab=(--stability-weight "$w"); [ "$w" = 0 ] || stab+=(--stability-shift "$shift_px")
    nice -n 10 node "$bin" train "${recipe[@]}" "${stab[@]}" "${a[@]:1}" --iterations "$steps" --checkpoint-every 40 \
      --keep 8 --sample-every 0 --log-every 10 --out "$out/w$name" > "$out/w$name.log" 2>&1 &
    pids+=($!)
    echo "w$name: training $steps steps (pid $!, log $out/w$name.log)" >&2
  done
  local pid; for pid in "${pids[@]}"; do wait "$pid"; done
}

# Style loss as tools/eval-bundled.sh measures it (the same `hokusai stylize` and `hokusai eval` calls: unweighted VGG19
# style loss at 512 px against the painting at the checkpoint's --style-size), but each held-out photo's own loss is
# computed once for all the networks, and two networks are measured at a time.
held_out=(kodim14.png kodim19.png kodim23.png skimage_coffee.png)
style_sum() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);console.log(Object.values(r.style).reduce((a,b)=>a+b,0))})'; }
eval_args() { echo --loss-net vgg19 --weights "$shared/weights/vgg19-keras/vgg19_notop.h5" --style "$shared/images/styles/great_wave_hokusai.jpg" --content "$1" --style-size 928 --size 512 --json --backend wasm; }
photo_loss() { # photo -> its own style loss, cached in $out/photo-style-loss/
  local p=$shared/images/content/$1 f=$out/photo-style-loss/$1.txt
  mkdir -p "$out/photo-style-loss"
  [ -s "$f" ] || { hokusai eval $(eval_args "$p") --image "$p" 2>/dev/null | style_sum > "$f.tmp" && mv "$f.tmp" "$f"; }
  cat "$f"
}
eval_run() { # run folder name (w<W>) -> $out/eval-<name>-<at>.md (rows as tools/eval-bundled.sh prints them)
  local name=$1 ckpt=$out/$1/checkpoint-$at md=$out/eval-$1-$at.md photo o before after
  if [ -s "$md" ]; then echo "style loss of $name at step $at: $md" >&2; return; fi
  echo "style loss of $name at step $at…" >&2
  mkdir -p "$out/eval-$name"
  for photo in "${held_out[@]}"; do
    o=$out/eval-$name/${photo%.*}-$at.png
    hokusai stylize --checkpoint "$ckpt" --max-size 512 "$shared/images/content/$photo" --out "$o" --backend wasm >/dev/null 2>&1
    before=$(photo_loss "$photo")
    after=$(hokusai eval $(eval_args "$shared/images/content/$photo") --image "$o" 2>/dev/null | style_sum)
    printf '| %s | %s | %.4g | %.4g | %s | - |\n' "$name" "$photo" "$before" "$after" "$(node -e "console.log(($after/$before).toFixed(3))")"
  done > "$md.tmp"
  mv "$md.tmp" "$md"
}

measure() {
  local ckpts=() w
  for w in "${names[@]}"; do ckpts+=(-c "$out/w$w/checkpoint-$at"); done
  local photo; for photo in "${held_out[@]}"; do photo_loss "$photo" >/dev/null & done; wait
  echo "flicker of ${#names[@]} networks at step $at…" >&2
  hokusai flicker "${ckpts[@]}" --frames 12 --size 256 --json > "$out/flicker-$at.json" 2>/dev/null &
  local i=0
  for w in "${names[@]}"; do
    eval_run "w$w" &
    i=$((i + 1)); [ $((i % 2)) -ne 0 ] || wait
  done
  wait
  table
}

# The markdown table: flicker per clip, style loss of the outputs (mean over the held-out photos) and both against W = 0.
table() {
  node - "$out" "$at" "${names[@]}" <<'EOF'
const fs = require('fs');
const [out, at, ...runs] = process.argv.slice(2);
const flicker = JSON.parse(fs.readFileSync(`${out}/flicker-${at}.json`, 'utf8'));
const clips = ['pan', 'zoom', 'static'];
const rows = runs.map((w, i) => {
  const r = flicker.results[i].clips;
  // eval-bundled rows: | style | photo | style loss, photo | style loss, output | ratio | grid |
  const cells = fs.readFileSync(`${out}/eval-w${w}-${at}.md`, 'utf8').split('\n').filter((l) => /\.(png|jpe?g)\s*\|/.test(l)).map((l) => l.split('|').map((c) => c.trim()));
  const mean = (k) => cells.reduce((a, c) => a + Number(c[k]), 0) / cells.length;
  return { w, f: clips.map((k) => r[k].flicker), floor: ['pan', 'zoom'].map((k) => r[k].floor.toFixed(2)).join(', '), style: mean(4), ratio: mean(5), photos: cells.length };
});
const base = rows[0];
console.log(`| --stability-weight | ${clips.map((k) => `${k} flicker`).join(' | ')} | flicker ÷ W=0 (pan, zoom, static) | floor (pan, zoom) | style loss, output (mean of ${base.photos} photos) | vs W=0 | style-loss ratio to photo |`);
console.log(`|${'---|'.repeat(9)}`);
for (const r of rows) {
  const rel = r.f.map((f, i) => (f / base.f[i]).toFixed(2)).join(', ');
  const dStyle = `${r.style >= base.style ? '+' : ''}${((r.style / base.style - 1) * 100).toFixed(1)}%`;
  console.log(`| ${r.w} | ${r.f.map((f) => f.toFixed(2)).join(' | ')} | ${rel} | ${r.floor} | ${r.style.toPrecision(4)} | ${dStyle} | ${r.ratio.toFixed(3)} |`);
}
console.log(`\nstep ${at}; flicker clips ${flicker.frames} frames ${flicker.width}×${flicker.height}, noise σ ${flicker.noise}`);
EOF
}

case $mode in
  train) train ;;
  measure) measure ;;
  table) table ;;
  all) train; measure ;;
  *) echo "usage: $0 [train|measure|table|all]" >&2; exit 2 ;;
esac
