#!/usr/bin/env bash
# Installs the system packages the service needs, when it can (root on Debian/Ubuntu with apt).
#   scripts/setup-system.sh          what the server needs
#   scripts/setup-system.sh --test   plus what the test suite needs (PyTorch for the training smoke tests, ...)
#   scripts/setup-system.sh --bench  plus that, and what the benchmarks' baselines need (the original FastAPI router)
# Elsewhere it only says what is missing and how to get it; it never fails the caller for that.
set -u
serve_pkgs=(libfaiss-dev libopenblas0-pthread g++ opencv-data libopencv-objdetect-dev)
test_pkgs=(python3-torch python3-numpy python3-sentencepiece python3-onnx python3-opencv chromium fonts-nanum redis-server nginx-light)
bench_pkgs=(python3-fastapi python3-uvicorn python3-multipart)
pkgs=("${serve_pkgs[@]}")
case "${1:-}" in
  --test) pkgs+=("${test_pkgs[@]}") ;;
  --bench) pkgs+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
esac

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
else
  echo "[setup-system] not a Debian-based system: install FAISS (libfaiss), OpenCV's haarcascade data, optionally OpenCV's objdetect headers (native face detector) and, for tests, PyTorch + OpenCV for /usr/bin/python3, redis-server and nginx yourself." >&2
  exit 0
fi
[ ${#missing[@]} -eq 0 ] && { echo "[setup-system] system packages present."; exit 0; }

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "[setup-system] missing system packages: ${missing[*]}" >&2
  echo "[setup-system] install them as root: apt-get install -y ${missing[*]}" >&2
  exit 0
fi
echo "[setup-system] installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  || echo "[setup-system] apt-get could not install ${missing[*]}; features that need them will report why." >&2
exit 0
