# Timed stages for scripts/test. Source this file; it defines:
#   stages_begin LOGDIR          starts the clock; ctest output of each stage goes to LOGDIR.
#   stage NAME CMD...            runs CMD, records its wall time and result; returns its status.
#   stage_ctest NAME ARGS...     runs `ctest ARGS` (tee'd to LOGDIR), records time, test counts
#                                and every test's time; returns ctest's status. A ctest that
#                                finds no test fails (--no-tests=error) unless ARGS select
#                                tests with -R/-E themselves.
#   stage_failed NAME WHY        records a stage that could not run as a failure.
#   stages_end                   prints the table of stages, the ten slowest tests and a
#                                closing "N passed, N failed" line, then exits: non-zero when
#                                any stage failed.

stages_begin() {
  STAGE_LOG_DIR=$1
  rm -rf "$STAGE_LOG_DIR"
  mkdir -p "$STAGE_LOG_DIR"
  : >"$STAGE_LOG_DIR/stages.tsv"
  : >"$STAGE_LOG_DIR/tests.tsv"
  STAGE_FAILED=0
  STAGE_STARTED=$SECONDS
}

# stage_record NAME SECONDS STATUS COUNTS
stage_record() {
  local result=ok
  if (($3 != 0)); then
    result=FAILED
    STAGE_FAILED=1
  fi
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$result" "$4" >>"$STAGE_LOG_DIR/stages.tsv"
  echo "test: -- $1: $result in $2 s${4:+ ($4)}"
}

stage() {
  local name=$1 started=$SECONDS status=0
  shift
  echo "test: == $name"
  "$@" || status=$?
  stage_record "$name" $((SECONDS - started)) "$status" ""
  return "$status"
}

stage_failed() {
  echo "test: == $1"
  echo "test: $1 cannot run: $2" >&2
  stage_record "$1" 0 1 "not run: $2"
}

stage_ctest() {
  local name=$1 started=$SECONDS status=0 arg selects=0
  shift
  for arg in "$@"; do [[ "$arg" == -R || "$arg" == -E ]] && selects=1; done
  local extra=()
  ((selects)) || extra=(--no-tests=error)
  local log="$STAGE_LOG_DIR/${name// /-}.log"
  echo "test: == $name"
  ctest "$@" "${extra[@]}" 2>&1 | tee "$log" || status=$?
  local passed failed total counts
  total=$(sed -nE 's/.* tests? failed out of ([0-9]+).*/\1/p' "$log" | tail -n 1)
  failed=$(sed -nE 's/.* ([0-9]+) tests? failed out of .*/\1/p' "$log" | tail -n 1)
  if [[ -n "$total" ]]; then
    passed=$((total - failed))
    counts="$total tests, $passed passed, $failed failed"
  else
    counts="no tests run"
    passed=0
    failed=0
  fi
  printf '%s\t%s\t%s\n' "$name" "$passed" "$failed" >>"$STAGE_LOG_DIR/counts.tsv"
  # "  3/295 Test  #12: EngineTest.RejectsOverdraft ......   Passed    0.12 sec"
  sed -nE 's/.*Test +#[0-9]+: ([^ ]+) .* ([0-9]+\.[0-9]+) sec$/\2\t\1/p' "$log" |
    awk -v stage="$name" -F'\t' '{ printf "%s\t%s\t%s\n", $1, stage, $2 }' \
      >>"$STAGE_LOG_DIR/tests.tsv"
  stage_record "$name" $((SECONDS - started)) "$status" "$counts"
  return "$status"
}

stages_end() {
  local total=$((SECONDS - STAGE_STARTED))
  echo
  echo "test: where the time went (wall seconds; logs in $STAGE_LOG_DIR)"
  awk -F'\t' '{ printf "test:   %-18s %6d s  %-6s  %s\n", $1, $2, $3, $4 }' \
    "$STAGE_LOG_DIR/stages.tsv"
  printf 'test:   %-18s %6d s\n' total "$total"
  if [[ -s "$STAGE_LOG_DIR/tests.tsv" ]]; then
    echo "test: the ten slowest tests"
    sort -t$'\t' -k1,1 -g -r "$STAGE_LOG_DIR/tests.tsv" | head -n 10 |
      awk -F'\t' '{ printf "test:   %8.2f s  %-18s %s\n", $1, $2, $3 }'
  fi
  local passed=0 failed=0
  if [[ -s "$STAGE_LOG_DIR/counts.tsv" ]]; then
    passed=$(awk -F'\t' '{ s += $2 } END { print s + 0 }' "$STAGE_LOG_DIR/counts.tsv")
    failed=$(awk -F'\t' '{ s += $3 } END { print s + 0 }' "$STAGE_LOG_DIR/counts.tsv")
  fi
  if ((STAGE_FAILED)); then
    echo "test: FAILED: $(awk -F'\t' '$3 != "ok" { printf "%s%s", sep, $1; sep = ", " }' \
      "$STAGE_LOG_DIR/stages.tsv")" >&2
  fi
  echo "test: $passed passed, $failed failed"
  exit "$STAGE_FAILED"
}
