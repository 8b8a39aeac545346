#!/usr/bin/env bash
# onnxruntime's Linux x64 binaries for the GPU machine, packed apart from ../shared/tools/gpu-pack.sh's pack (which
# leaves out node_modules/onnxruntime-node/bin: 12 MiB more would pass the 64 MiB transfer), so that bench/gpu.ts can
# time onnxruntime's WebGPU execution provider there beside the engine (issue #18.2). Writes .gpu-ort/ort.tar.xz
# (~12 MiB; .gpu-ort/ is ignored by git). Usage, from the project root after `npm install`:
#   bash tools/gpu-pack-ort.sh
# Send it in a call of its own before the pack's (`carry: [".gpu-ort"]`, command `true`): the folder stays in the
# device's checkout while the machine is warm, and tools/gpu-run.sh unpacks it into node_modules when it finds it
# (docs/backends.md, "Running on a GPU machine without Node or network").
set -euo pipefail
bin=node_modules/onnxruntime-node/bin/napi-v6/linux/x64
[ -f "$bin/libonnxruntime.so.1" ] && [ -f "$bin/onnxruntime_binding.node" ] \
  || { echo "gpu-pack-ort: no $bin/libonnxruntime.so.1 (run from the project root after npm install)" >&2; exit 2; }
mkdir -p .gpu-ort
tar -C "$bin" -cf - libonnxruntime.so.1 onnxruntime_binding.node | xz -9e -T0 > .gpu-ort/ort.tar.xz.tmp
mv .gpu-ort/ort.tar.xz.tmp .gpu-ort/ort.tar.xz
echo ".gpu-ort/ort.tar.xz: $(( $(stat -c %s .gpu-ort/ort.tar.xz) / 1048576 )) MiB"
