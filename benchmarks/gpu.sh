#!/usr/bin/env bash
# The GPU rows of docs/performance.md (issue 17), as one short script for a machine with
# a CUDA GPU and a CUDA build of torch. Nothing else in the project needs a GPU; on a
# machine without one each benchmark says so and this script exits non-zero.
#
#   bash benchmarks/gpu.sh [OUTDIR]      (default: $OUT, else ./gpu-results)
#
# 1. exactness: zero-skip in float32/tf32/bf16 against the per-window path, 10^6 voxels;
# 2. speed: zero-skip on 10^7 voxels in each precision (goal: float32 under 10 s on an
#    H100/H200-class GPU), differences against float32 zero-skip;
# 3. training: the module in each precision, windows/s and difference from float32.
set -u
out="${1:-${OUT:-gpu-results}}"
mkdir -p "$out"
python -c 'import torch, sys; print(torch.__version__, torch.cuda.is_available() and torch.cuda.get_device_name(0)); sys.exit(0 if torch.cuda.is_available() else 1)' \
  || { echo "no CUDA GPU visible to torch: nothing measured"; exit 1; }
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv > "$out/nvidia-smi.csv" 2>&1 || true
export VOXPROSPECT_CACHE_DIR="$out/cache"
timeout 200 python benchmarks/predict.py --device cuda --precisions float32,tf32,bf16 --voxels 1000000 \
  --json "$out/predict_1e6.json" 2>&1 | tee "$out/predict_1e6.txt"
timeout 150 python benchmarks/predict.py --device cuda --precisions float32,tf32,bf16 --voxels 10000000 \
  --no-naive --json "$out/predict_1e7.json" 2>&1 | tee "$out/predict_1e7.txt"
timeout 150 python benchmarks/train.py --device cuda --precisions float32,tf32,bf16 --windows 65536 \
  --batch 1024 --epochs 3 --json "$out/train.json" 2>&1 | tee "$out/train.txt"
