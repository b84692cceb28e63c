#!/usr/bin/env bash
# The GPU device check: what `probe-hw` finds on a real GPU node, the CUDA half of the GPU
# ladder command (NVDEC decode, scale_cuda cascade), and the full GPU command, which on a
# card without NVENC must fail cleanly with the reason the probe gives.
#   bash bench/gpu_check.sh [FFMPEG]        (python3 with pydantic-settings on the path)
set -u
FF=${1:-ffmpeg}
export SPARC_FFMPEG="$FF" SPARC_ALLOWED_ROOTS=/tmp
nvidia-smi -L || echo "no nvidia-smi"
"$FF" -hide_banner -version | head -1
echo "== probe-hw"
python3 - <<'PY'
from workers.engine.hardware import gpu_encoder_ready, probe_hardware
from workers.base.settings import WorkerSettings
found = probe_hardware(WorkerSettings())
for cap in found:
    print(f"{cap.name:<6} {cap.kind:<6} {'yes' if cap.ok else 'no '} {cap.detail}")
pool = "transcode.gpu" if gpu_encoder_ready(found) else "transcode.cpu (fallback)"
print("a `worker --pool gpu` here would serve:", pool)
PY
echo "== NVDEC decode + scale_cuda cascade, 10 s of 1080p30"
"$FF" -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=1920x1080:rate=30 -t 10 \
  -c:v libx264 -preset ultrafast -g 60 -pix_fmt yuv420p /tmp/gpu-src.mp4
graph="[0:v:0]scale_cuda=1280:720:format=yuv420p,split=2[v720][c720];"
graph+="[c720]scale_cuda=426:240:format=yuv420p[v240];"
graph+="[v720]hwdownload,format=yuv420p[o720];[v240]hwdownload,format=yuv420p[o240]"
TIMEFORMAT="cuda decode+scale: %R s wall, %U s user"
time "$FF" -hide_banner -loglevel error \
  -hwaccel cuda -hwaccel_output_format cuda -i /tmp/gpu-src.mp4 -filter_complex "$graph" \
  -map "[o720]" -f null - -map "[o240]" -f null - && echo "cuda decode+scale: ok"
echo "== the full GPU ladder command"
python3 - <<'PY'
from pathlib import Path
from workers.engine.commands import Accel, build_ladder_command
from workers.base.errors import FFmpegFailed
from workers.engine.hardware import explain_failure
from workers.engine.ladder import AudioPolicy, KeyframePolicy, LadderPlan, RungPlan
from workers.base.process import run_ffmpeg
from workers.base.settings import WorkerSettings
from workers.engine.inputs import parse_input

settings = WorkerSettings()
rungs = (RungPlan("240p", 426, 240, 400, False), RungPlan("720p", 1280, 720, 2500, False))
plan = LadderPlan(rungs, KeyframePolicy.INTERVAL, AudioPolicy.NONE, 6.0)
out = Path("/tmp/gpu-out")
for rung in rungs:
    (out / rung.name).mkdir(parents=True, exist_ok=True)
command = build_ladder_command(plan, parse_input("/tmp/gpu-src.mp4", settings), out, settings,
                               accel=Accel.CUDA)
try:
    run_ffmpeg(command, timeout_s=120)
    print("GPU ladder: ok", sorted(p.name for p in out.rglob("*.ts"))[:4])
except FFmpegFailed as failure:
    print("GPU ladder refused:", explain_failure(failure.stderr_tail))
PY
