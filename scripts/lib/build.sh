# build_preset NAME [cmake --build ARGS...]: configure (once) and build one CMake preset, e.g.
# `build_preset tsan --target queue_test`. Source this file.
#
# The compiler cache (ccache, README "Compiler cache"): one directory per machine that every
# checkout and run shares, /var/cache/ledgerd/ccache as root (~/.cache/ledgerd-ccache
# otherwise), capped at 20 GB: the release, ASan+UBSan, fuzz and TSan trees take a few GB, and
# the cap keeps a week of changes. CCACHE_DIR and CCACHE_MAXSIZE set outside win. Paths inside
# this checkout are hashed relative to it, so another checkout of the same sources (CI's fresh
# clone, a newcomer's) compiles from the same cache.
export CCACHE_BASEDIR="$(pwd)"
if [[ -z "${CCACHE_DIR:-}" ]]; then
  if [[ $(id -u) -eq 0 ]]; then
    export CCACHE_DIR=/var/cache/ledgerd/ccache
  else
    export CCACHE_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/ledgerd-ccache
  fi
fi
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-20G}
# Precompiled headers (CMake's target_precompile_headers) hash the same from the cache only
# with these two.
export CCACHE_SLOPPINESS=${CCACHE_SLOPPINESS:-pch_defines,time_macros}
# With -g (the sanitizer trees' -g1) ccache would hash the build directory too, which the debug
# information names: another clone would miss. Its objects name the first clone's directory as
# their compilation directory; the sources' own paths in them are relative to it, as the unity
# files include them (CMakeLists.txt, ledger_unity_build).
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
mkdir -p "$CCACHE_DIR"

build_preset() {
  local preset=$1
  shift
  if [[ ! -f "build/$preset/build.ninja" ]]; then
    cmake --preset "$preset" >/dev/null || return 1
  fi
  cmake --build --preset "$preset" "$@"
}
