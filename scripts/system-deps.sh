#!/usr/bin/env bash
# Install the Debian packages signalprop uses, when missing and when apt-get can run here:
#   libopenblas-dev + gcc  → the sampler's native float64 kernels (native/blas; ~16× faster than the TypeScript fallback)
#   redis-server           → only for the distributed-sweep tests (pass --with-redis)
# Never fails: without them signalprop still works (TypeScript kernels; Redis tests skipped).
set -u
need=()
{ [ -f /usr/include/x86_64-linux-gnu/cblas.h ] || [ -f /usr/include/cblas.h ] || [ -f /usr/include/aarch64-linux-gnu/cblas.h ]; } || need+=(libopenblas-dev)
command -v cc >/dev/null 2>&1 || need+=(gcc)
if [ "${1:-}" = "--with-redis" ]; then command -v redis-server >/dev/null 2>&1 || need+=(redis-server); fi
[ ${#need[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "signalprop: apt-get not found; install ${need[*]} yourself for the fast kernels" >&2
  exit 0
fi
sudo=""
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo="sudo"
echo "signalprop: installing ${need[*]} (apt-get)" >&2
(export DEBIAN_FRONTEND=noninteractive; $sudo apt-get update -qq && $sudo apt-get install -y -qq "${need[@]}") >/tmp/signalprop-apt.log 2>&1 ||
  echo "signalprop: apt-get install failed (see /tmp/signalprop-apt.log); continuing without ${need[*]}" >&2
exit 0
