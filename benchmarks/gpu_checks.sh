#!/usr/bin/env bash
# The GPU figures of the book's timing tables in one run (about 8 minutes on one H200):
#
#   benchmarks/gpu_checks.sh OUT_DIR [GRID_DIR]       # GRID_DIR holds train.h5 and test.h5 (default data/demo)
#
# 1. the parity test (tests/test_parity.py) at the backend's default float32 matmul precision and,
#    under JAX, at full float32 (JAX_DEFAULT_MATMUL_PRECISION=highest);
# 2. the demo generator trained on the GPU (float32, then mixed bfloat16): training time, epochs,
#    test metrics, and seconds per epoch of the Tab. 2/3 networks at the paper's size (164,000
#    spectra, batch 512);
# 3. generation throughput of that generator at 1, 4,096 and 65,536 spectra per call, on the GPU and,
#    in the same run, on the host's CPU cores (JAX backend only: JAX_PLATFORMS=cpu);
# 4. seconds per epoch on the host's CPU cores at 8,192 spectra (JAX backend only).
# Every step writes its own file in OUT_DIR; one that fails or times out does not stop the others.
set -uo pipefail
out=${1:?usage: benchmarks/gpu_checks.sh OUT_DIR [GRID_DIR]}
grid=${2:-data/demo}
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$out"
model=$(mktemp -d)/generator

step() {  # step SECONDS FILE COMMAND...: run, stdout to OUT_DIR/FILE, stderr to the log
  local limit=$1 file=$2 start=$SECONDS
  shift 2
  echo "==> $* > $file" >&2
  timeout "$limit" "$@" >"$out/$file" || echo "    exit $? after $((SECONDS - start)) s" >&2
  echo "    $((SECONDS - start)) s" >&2
}

{
  nvidia-smi -L || true
  echo "KERAS_BACKEND=${KERAS_BACKEND:-tensorflow}"
  parity=(python3 -m pytest tests/test_parity.py --noconftest -q -p no:cacheprovider)
  "${parity[@]}" 2>&1 | tail -4
  if [ "${KERAS_BACKEND:-}" = jax ]; then
    echo "==> parity at JAX_DEFAULT_MATMUL_PRECISION=highest"
    JAX_DEFAULT_MATMUL_PRECISION=highest "${parity[@]}" 2>&1 | tail -4
  fi
  step 240 train_float32.json python3 benchmarks/bench_train.py --grid "$grid/train.h5" --test "$grid/test.h5" \
    --save "$model" --epochs 2
  step 90 generate_gpu.json python3 benchmarks/bench_generate.py --model "$model" --no-radiative-transfer \
    --sizes 1 4096 65536
  if [ "${KERAS_BACKEND:-}" = jax ]; then
    JAX_PLATFORMS=cpu step 90 generate_cpu.json python3 benchmarks/bench_generate.py --model "$model" \
      --no-radiative-transfer --sizes 1 4096 65536
    JAX_PLATFORMS=cpu step 90 epoch_cpu.json python3 benchmarks/bench_train.py --n-spectra 8192 --epochs 2
  fi
  step 240 train_bfloat16.json python3 benchmarks/bench_train.py --grid "$grid/train.h5" --test "$grid/test.h5" \
    --epochs 2 --precision mixed_bfloat16
} 2>&1 | tee "$out/log.txt"
