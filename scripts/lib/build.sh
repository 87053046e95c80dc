# build_preset NAME: configure (once) and build one CMake preset. Source this file.
build_preset() {
  local preset=$1
  if [[ ! -f "build/$preset/build.ninja" ]]; then
    cmake --preset "$preset" >/dev/null
  fi
  cmake --build --preset "$preset"
}
