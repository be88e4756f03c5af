#!/usr/bin/env bash
# Installs every Debian 12 package that building, testing and benchmarking Funnel needs.
# Idempotent: when everything is present it only checks (well under a second).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libtorch-dev            # dense tensors, autograd, optimizers (LibTorch 1.13)
  libopenblas0-openmp     # optimised BLAS for LibTorch (else netlib reference sgemm, 15-25x slower)
  nlohmann-json3-dev      # configs, schemas, metrics JSON
  libcli11-dev            # the funnel command line
  libcpp-httplib-dev      # funnel serve (HTTP)
  libgloo-dev             # the Gloo headers of LibTorch's c10d (funnel train --workers)
  curl                    # make demo's request to funnel serve
  wrk                     # HTTP load generator, by hand (bench/serve has its own client)
  chromium                # the browser check of funnel report's page (tests/cli/report_test.sh)
  libgtest-dev libgmock-dev
  libbenchmark-dev
  python3 python3-torch python3-pandas  # reference implementations measured by bench/
)
# `make fuzz` only (scripts/setup.sh --fuzz): clang with its runtime, which holds libFuzzer
# (-fsanitize=fuzzer) and the sanitizers on Debian 12.
if [ "${1:-}" = "--fuzz" ]; then
  PACKAGES=(clang libclang-rt-14-dev)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done" >&2
