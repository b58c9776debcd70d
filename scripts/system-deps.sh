#!/usr/bin/env bash
# Install the Debian packages signalprop uses, when missing and when apt-get can run here:
#   libopenblas-dev + gcc  → the native addon (native/blas): the sampler's float64 kernels (~16× faster than the
#                            TypeScript fallback) and the blas training backend (~6× faster than tfjs-wasm)
#   libdnnl-dev            → oneDNN's sgemm for the blas backend (AVX-512 where the CPU has it; ~1.7× OpenBLAS's
#                            sgemm where OpenBLAS is pinned to its Haswell kernels); optional
#   redis-server           → only for the distributed-sweep tests (pass --with-redis)
#   chromium               → the explorer's browser tests (test/explore, driven by playwright-core); optional
#   dataset-fashion-mnist  → `--data fashion-mnist` (the full 70,000 images, IDX under /usr/share/datasets); optional
#   python3-pandas         → the pandas recipes of docs/records.md, run by test/records/pandas.test.ts; optional
# Never fails: without them signalprop still works (TypeScript kernels; Redis tests skipped).
set -u
need=()
{ [ -f /usr/include/x86_64-linux-gnu/cblas.h ] || [ -f /usr/include/cblas.h ] || [ -f /usr/include/aarch64-linux-gnu/cblas.h ]; } || need+=(libopenblas-dev)
command -v cc >/dev/null 2>&1 || need+=(gcc)
if [ "${1:-}" = "--with-redis" ]; then command -v redis-server >/dev/null 2>&1 || need+=(redis-server); fi
optional=()
[ -f /usr/include/oneapi/dnnl/dnnl.h ] || optional+=(libdnnl-dev)
browser=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || browser+=(chromium)
data=()
[ -d /usr/share/datasets/fashion-mnist ] || data+=(dataset-fashion-mnist)
/usr/bin/python3 -c 'import pandas' >/dev/null 2>&1 || data+=(python3-pandas)
[ ${#need[@]} -eq 0 ] && [ ${#optional[@]} -eq 0 ] && [ ${#browser[@]} -eq 0 ] && [ ${#data[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "signalprop: apt-get not found; install ${need[*]} ${optional[*]} yourself for the fast kernels${browser[*]:+ (and chromium for the browser tests of the explorer)}" >&2
  exit 0
fi
sudo=""
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/tmp/signalprop-apt.log 2>&1
if [ ${#need[@]} -gt 0 ]; then
  echo "signalprop: installing ${need[*]} (apt-get)" >&2
  $sudo apt-get install -y -qq "${need[@]}" >>/tmp/signalprop-apt.log 2>&1 ||
    echo "signalprop: apt-get install failed (see /tmp/signalprop-apt.log); continuing without ${need[*]}" >&2
fi
# separately, so that a system without it still gets the packages above
if [ ${#optional[@]} -gt 0 ]; then
  echo "signalprop: installing ${optional[*]} (apt-get; optional)" >&2
  $sudo apt-get install -y -qq --no-install-recommends "${optional[@]}" >>/tmp/signalprop-apt.log 2>&1 ||
    echo "signalprop: ${optional[*]} not installed (see /tmp/signalprop-apt.log); the blas backend uses OpenBLAS's sgemm" >&2
fi
# data and Python for the tests: Fashion-MNIST and pandas; without them those tests skip (or exit 2 naming the install line)
if [ ${#data[@]} -gt 0 ]; then
  echo "signalprop: installing ${data[*]} (apt-get; optional)" >&2
  $sudo apt-get install -y -qq --no-install-recommends "${data[@]}" >>/tmp/signalprop-apt.log 2>&1 ||
    echo "signalprop: ${data[*]} not installed (see /tmp/signalprop-apt.log); --data fashion-mnist and the pandas recipes are unavailable" >&2
fi
# the browser last and apart: it is large, and its absence only skips the explorer's browser tests
if [ ${#browser[@]} -gt 0 ]; then
  echo "signalprop: installing ${browser[*]} (apt-get; optional, for the explorer's browser tests)" >&2
  $sudo apt-get install -y -qq --no-install-recommends "${browser[@]}" >>/tmp/signalprop-apt.log 2>&1 ||
    echo "signalprop: ${browser[*]} not installed (see /tmp/signalprop-apt.log); the explorer's browser tests will skip" >&2
fi
exit 0
