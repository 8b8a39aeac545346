#!/usr/bin/env bash
# The data set of the full-width style presets (issue 22, checkpoints/README.md): every photo of the given folders
# except the held-out photos of tools/held-out-photos.json (matched by name without extension, so the pack's
# resized .jpg copies of the .png photos are caught too), which go to validation instead. Makes
# datasets/full/{train,validation} as symbolic links (datasets/ is not in git).
# Usage: bash tools/prepare-full-dataset.sh [photo-folder ...]
#   default: $HOKUSAI_SHARED/images/train and $HOKUSAI_SHARED/images/content (HOKUSAI_SHARED default ../shared);
#   on a GPU machine with the pack of ../shared/tools/gpu-pack.sh: bash tools/prepare-full-dataset.sh "$GPU/data"
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
shared=${HOKUSAI_SHARED:-../shared}
srcs=("$@"); [ ${#srcs[@]} -gt 0 ] || srcs=("$shared/images/train" "$shared/images/content")
held_out=" $(node -e 'for (const p of JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).photos) console.log(p.file.replace(/\.[^.]+$/, ""))' tools/held-out-photos.json | tr '\n' ' ') "
rm -rf datasets/full
mkdir -p datasets/full/train datasets/full/validation
for src in "${srcs[@]}"; do
  src=$(cd "$src" && pwd)
  for f in "$src"/*; do
    b=$(basename "$f"); stem=${b%.*}
    case "${b,,}" in *.jpg | *.jpeg | *.png | *.webp) ;; *) continue ;; esac
    if [[ "$held_out" == *" $stem "* ]]; then dest=validation; else dest=train; fi
    [ -e "datasets/full/$dest/$b" ] && { echo "two photos named $b in ${srcs[*]}" >&2; exit 2; }
    ln -s "$f" "datasets/full/$dest/$b"
  done
done
echo "datasets/full: $(ls datasets/full/train | wc -l) training photos, $(ls datasets/full/validation | wc -l) held out"
