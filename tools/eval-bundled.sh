#!/usr/bin/env bash
# Quality check of the bundled styles (checkpoints/README.md): for each style and each held-out photo, stylise the
# photo at 512 px and compare the unweighted style loss (VGG19, Johnson layers relu1_2, relu2_2, relu3_3, relu4_3;
# `hokusai eval`) of the output with that of the unmodified photo, both at 512 px long edge, against the target the
# network was trained for: the style image resized to the checkpoint's training --style-size (meta.json).
# Usage: [EVAL_OUT=dir] [EVAL_CHECKPOINTS=dir] tools/eval-bundled.sh [style-id ...]   (prints a markdown table; needs
# $HOKUSAI_SHARED, default ../shared). EVAL_CHECKPOINTS (default: checkpoints) holds one folder per style id, e.g. candidates from a run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
shared=${HOKUSAI_SHARED:-../shared}
weights=$shared/weights/vgg19-keras/vgg19_notop.h5
# EVAL_PHOTOS="kodim14.png ..." checks a subset of the held-out photos (quicker, for candidates).
read -r -a held_out <<< "${EVAL_PHOTOS:-kodim14.png kodim19.png kodim23.png skimage_coffee.png}"
declare -A style_file=(
  [great-wave]=great_wave_hokusai.jpg
  [starry-night]=starry_night_van_gogh.jpg
  [wanderer]=wanderer_above_the_sea_of_fog_friedrich.jpg
)
ids=("$@"); [ ${#ids[@]} -gt 0 ] || ids=(great-wave starry-night wanderer)
# EVAL_OUT=dir keeps the stylised outputs there (to look at them); by default they go to a temporary folder.
if [ -n "${EVAL_OUT:-}" ]; then tmp=$EVAL_OUT; mkdir -p "$tmp"; else tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT; fi
ckpts=${EVAL_CHECKPOINTS:-checkpoints}
hokusai() { node packages/cli/bin/hokusai.mjs "$@"; }
style_sum() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);console.log(Object.values(r.style).reduce((a,b)=>a+b,0))})'; }
# Grid score of each output (tools/grid-score.py: a fine periodic lattice; photos ~15-25) where Debian's python3 with
# numpy and PIL is available; "-" otherwise.
grid() { /usr/bin/python3 tools/grid-score.py "$1" 2>/dev/null | awk -F'\t' '{sub("grid score ","",$2); sub("period ","",$3); print $2 " (" $3 ")"}' || true; }
echo "| style | photo | style loss, photo | style loss, output | ratio | grid score (period) |"
echo "|---|---|---|---|---|---|"
for id in "${ids[@]}"; do
  style=$shared/images/styles/${style_file[$id]}
  style_size=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).training.styleSize)' "$ckpts/$id/meta.json")
  for photo in "${held_out[@]}"; do
    p=$shared/images/content/$photo
    o=$tmp/$id-${photo%.*}.png
    hokusai stylize --checkpoint "$ckpts/$id" --max-size 512 "$p" --out "$o" --backend wasm >/dev/null 2>&1
    common=(--loss-net vgg19 --weights "$weights" --style "$style" --content "$p" --style-size "$style_size" --size 512 --json --backend wasm)
    before=$(hokusai eval "${common[@]}" --image "$p" 2>/dev/null | style_sum)
    after=$(hokusai eval "${common[@]}" --image "$o" 2>/dev/null | style_sum)
    ratio=$(node -e "console.log(($after/$before).toFixed(3))")
    g=$(grid "$o"); [ -n "$g" ] || g=-
    printf '| %s | %s | %.4g | %.4g | %s | %s |\n' "$id" "$photo" "$before" "$after" "$ratio" "$g"
  done
done
