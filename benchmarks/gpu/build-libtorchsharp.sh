#!/usr/bin/env bash
# Builds TorchSharp's native shim (libLibTorchSharp.so) against the libtorch of a pip-installed PyTorch, so that the
# managed TorchSharp 0.107 can drive a CUDA libtorch that NuGet does not serve here. Only needed when that PyTorch is
# not the libtorch 2.10 the shipped shim was linked against (C++ symbols change between minor versions).
#
#   benchmarks/gpu/build-libtorchsharp.sh NATIVE_SRC OUT_SO
#
# NATIVE_SRC: TorchSharp's src/Native at the tag matching the TorchSharp package (v0.107.0 for this project):
#   git -C TorchSharp archive v0.107.0 src/Native | tar x
# env: PY (python with torch, default python3), JOBS (default nproc)
set -euo pipefail
src=$(cd "${1:?usage: build-libtorchsharp.sh NATIVE_SRC OUT_SO}" && pwd)
out=${2:?usage: build-libtorchsharp.sh NATIVE_SRC OUT_SO}
PY=${PY:-python3}
jobs=${JOBS:-$(nproc)}
read -r tdir abi tver < <("$PY" -c 'import os, torch; print(os.path.dirname(torch.__file__), int(torch._C._GLIBCXX_USE_CXX11_ABI), torch.__version__)')
echo "building libLibTorchSharp.so against torch $tver ($tdir, cxx11 abi $abi) with $jobs jobs"
obj=$(mktemp -d)
trap 'rm -rf "$obj"' EXIT
# The flags TorchSharp's own CMake uses on Linux (src/Native/CMakeLists.txt), warnings not fatal: newer headers
# deprecate APIs the shim still calls.
flags=(-O2 -fPIC -fvisibility=hidden -fstack-protector-strong -D_GLIBCXX_USE_CXX11_ABI="$abi" -D__LINUX__
       -D_NO_ASYNCRTIMP -D_NO_PPLXIMP -I"$src" -I"$src/LibTorchSharp" -I"$tdir/include"
       -I"$tdir/include/torch/csrc/api/include" -w)
export obj
printf '%s\n' "$src"/LibTorchSharp/*.cpp | xargs -P "$jobs" -I{} sh -c 'g++ -std=c++17 "$@" -c "{}" -o "$obj/$(basename "{}").o" || { echo "FAILED: {}"; exit 1; }' _ "${flags[@]}"
gcc -O2 -fPIC -fvisibility=hidden -I"$src" -c "$src/LibTorchSharp/crc32c.c" -o "$obj/crc32c.o"
g++ -shared -o "$out" "$obj"/*.o -L"$tdir/lib" -Wl,-Bsymbolic -Wl,-Bsymbolic-functions -Wl,--no-as-needed \
    -ltorch -ltorch_cpu -lc10 -Wl,-rpath,'$ORIGIN'
echo "built $out ($(stat -c %s "$out") bytes)"
