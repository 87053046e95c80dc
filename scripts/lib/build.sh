# build_preset NAME: configure (once) and build one CMake preset. Source this file.
# Paths inside this checkout are hashed relative to it by ccache, so another checkout of the
# same sources (a newcomer's clone) compiles from the same cache.
export CCACHE_BASEDIR="$(pwd)"
build_preset() {
  local preset=$1
  if [[ ! -f "build/$preset/build.ninja" ]]; then
    cmake --preset "$preset" >/dev/null
  fi
  cmake --build --preset "$preset"
}
