#!/usr/bin/env bash
# The whole GPU-machine run of issue #18 (bench/gpu.ts + bench/optimize-resolution.ts on the GPU), for a machine
# without Node or network that got the pack of ../shared/tools/gpu-pack.sh. Run from the repository root there:
#   mkdir -p /tmp/gpu && tar -xJf .gpu/pack.tar.xz -C /tmp/gpu && . /tmp/gpu/env.sh && bash tools/gpu-run.sh
# Each part has its own time cap (`timeout`) and log under $OUT, so one failure or overrun loses nothing else;
# the whole script stays under ~7.5 minutes. Files written to $OUT (flat, at most 6):
#   machine.txt              nvidia-smi line, the Vulkan driver env.sh found, Dawn's adapters
#   gpu-bench.log/.json      bench/gpu.ts (inference 256/512/1024, training step 256² batch 4, Gatys 512/1024,
#                            PyTorch side by side); the .json is rewritten after every section
#   optimize-resolution.log  bench/optimize-resolution.ts --small 512 --large 1024 --iterations 200 --backend webgpu
#   run.log                  each part's start, exit status and seconds
# GPU_RUN_SMALL=1: the same parts at tiny sizes, a dry run for lavapipe (software Vulkan); GPU_RUN_IMAGES=1 also
# writes the three optimize-resolution images (3 more files). PYTHON=... picks the interpreter with torch.
set -uo pipefail
OUT=${OUT:?set OUT to the folder whose files come back}
mkdir -p "$OUT"
GPU=${GPU:-/tmp/gpu}
small=${GPU_RUN_SMALL:-0}
weights=$GPU/w/vgg19.h5
[ -f "$weights" ] || weights=../shared/weights/vgg19-keras/vgg19_notop.h5
photo=$GPU/data/kodim23.jpg
[ -f "$photo" ] || photo=../shared/images/content/kodim23.png
painting=$GPU/styles/starry_night_van_gogh.jpg
[ -f "$painting" ] || painting=../shared/images/styles/starry_night_van_gogh.jpg
if [ -z "${PYTHON:-}" ]; then
  PYTHON=python3
  for p in python3 /usr/bin/python3; do
    if "$p" -c 'import torch' 2>/dev/null; then PYTHON=$p; break; fi
  done
fi
export HOKUSAI_DEBUG=1

log() { echo "$(date -u +%T) $*" | tee -a "$OUT/run.log"; }

# part NAME SECONDS LOGFILE COMMAND...: runs COMMAND under its own time cap, output appended to $OUT/LOGFILE.
part() {
  local name=$1 cap=$2 file=$3; shift 3
  log "start $name (cap ${cap}s)"
  [ "$1" = bash ] || echo "\$ $*" >>"$OUT/$file"
  local t0=$SECONDS
  timeout -k 10 "$cap" "$@" >>"$OUT/$file" 2>&1
  local rc=$?
  [ $rc -eq 124 ] && echo "TIMED OUT after ${cap}s" >>"$OUT/$file"
  log "end $name: exit $rc$([ $rc -eq 124 ] && echo ' (timed out)') after $((SECONDS - t0))s"
}

machine() {
  echo "date: $(date -u)"
  echo "nvidia-smi: $(nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>&1 | head -3)"
  echo "VK_DRIVER_FILES: ${VK_DRIVER_FILES:-unset}; node $(node --version); python $PYTHON: $("$PYTHON" -c 'import torch; print(torch.__version__, "cuda", torch.cuda.is_available())' 2>&1 | tail -1)"
  command -v vulkaninfo >/dev/null && vulkaninfo --summary 2>/dev/null | grep -E 'deviceName|driverName|driverInfo|apiVersion' | head -8
  node --input-type=module -e "
    import { create, globals } from 'webgpu';
    Object.assign(globalThis, globals);
    const gpu = create(['enable-dawn-features=allow_unsafe_apis']);
    for (const powerPreference of ['high-performance', 'low-power']) {
      const a = await gpu.requestAdapter({ powerPreference });
      if (!a) { console.log(powerPreference + ': no adapter'); continue; }
      const i = a.info, l = a.limits;
      console.log(powerPreference + ': ' + i.description + ' | vendor ' + i.vendor + ', architecture ' + i.architecture + ', device ' + i.device
        + ', fallback ' + a.isFallbackAdapter + ' | maxBufferSize ' + l.maxBufferSize + ', maxStorageBufferBindingSize '
        + l.maxStorageBufferBindingSize + ', maxComputeWorkgroupStorageSize ' + l.maxComputeWorkgroupStorageSize
        + ', maxComputeInvocationsPerWorkgroup ' + l.maxComputeInvocationsPerWorkgroup + ' | features ' + [...a.features].sort().join(','));
    }
    process.exit(0);"
}

if [ "$small" = 1 ]; then
  bench_args=(--sizes 32,64 --train-size 32 --batch 1 --gatys-sizes 32 --runs 1 --steps 1 --ort-cpu-max 64 --engine-timeout 120)
  opt_args=(--small 32 --large 64 --iterations 2)
  bench_cap=420; opt_cap=300
else
  bench_args=(--sizes 256,512,1024 --train-size 256 --batch 4 --gatys-sizes 512,1024 --runs 10 --steps 5 --ort-cpu-max 512)
  opt_args=(--small 512 --large 1024 --iterations 200)
  bench_cap=300; opt_cap=150
fi
img_args=()
[ "${GPU_RUN_IMAGES:-0}" = 1 ] && img_args=(--out "$OUT/optimize")

# onnxruntime's binaries come in a pack of their own (tools/gpu-pack-ort.sh), sent in an earlier call.
ort_bin=node_modules/onnxruntime-node/bin/napi-v6/linux/x64
if [ ! -f "$ort_bin/libonnxruntime.so.1" ] && [ -f .gpu-ort/ort.tar.xz ]; then
  mkdir -p "$ort_bin" && tar -xJf .gpu-ort/ort.tar.xz -C "$ort_bin" && echo "onnxruntime binaries unpacked from .gpu-ort/ort.tar.xz"
fi

log "gpu-run: OUT=$OUT small=$small python=$PYTHON weights=$weights ort=$([ -f "$ort_bin/libonnxruntime.so.1" ] && echo yes || echo no)"
part machine 30 machine.txt bash -c "$(declare -f machine); PYTHON=$PYTHON machine"
part gpu-bench "$bench_cap" gpu-bench.log node tools/run-ts.mjs bench/gpu.ts "${bench_args[@]}" \
  --weights "$weights" --python "$PYTHON" --json "$OUT/gpu-bench.json"
part optimize-resolution "$opt_cap" optimize-resolution.log node tools/run-ts.mjs bench/optimize-resolution.ts \
  "${opt_args[@]}" --backend webgpu --weights "$weights" --content "$photo" --style "$painting" "${img_args[@]}"
log "gpu-run: done; files: $(cd "$OUT" && ls | tr '\n' ' ')"
