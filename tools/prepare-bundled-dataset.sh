#!/usr/bin/env bash
# The data set the bundled styles are trained on: the 28 photos of ../shared/images/content, of which four are held
# out for validation and for the quality figures in checkpoints/README.md. Makes datasets/bundled/{train,validation}
# as symbolic links (datasets/ is not in git).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
src=$(cd "${HOKUSAI_SHARED:-../shared}/images/content" && pwd)
held_out=" kodim14.png kodim19.png kodim23.png skimage_coffee.png "
rm -rf datasets/bundled
mkdir -p datasets/bundled/train datasets/bundled/validation
for f in "$src"/*; do
  b=$(basename "$f")
  if [[ "$held_out" == *" $b "* ]]; then ln -s "$f" "datasets/bundled/validation/$b"; else ln -s "$f" "datasets/bundled/train/$b"; fi
done
echo "datasets/bundled: $(ls datasets/bundled/train | wc -l) training photos, $(ls datasets/bundled/validation | wc -l) held out"
