# Timed stages for scripts/test. Source this file; it defines:
#   stages_begin LOGDIR          starts the clock; ctest output of each stage goes to LOGDIR.
#   stage NAME CMD...            runs CMD, records its wall time and result; returns its status.
#   stage_ctest NAME ARGS...     runs `ctest ARGS` (tee'd to LOGDIR), records time, test counts
#                                and every test's time; returns ctest's status. A ctest that
#                                finds no test fails (--no-tests=error) unless ARGS select
#                                tests with -R/-E themselves.
#   stage_failed NAME WHY        records a stage that could not run as a failure.
#   stage_background NAME CMD... starts CMD in the background at the lowest CPU priority
#                                (nice 19), its output in LOGDIR: the stages that run meanwhile
#                                (test suites, which mostly wait on sockets and timers) keep the
#                                CPU they ask for, and it takes what they leave.
#   stage_wait NAME              waits for a background stage; records its wall time from its
#                                start, how long the run waited for it, its result and, when it
#                                ran a ctest, its test counts; prints its output's tail on
#                                failure; returns its status.
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

declare -A STAGE_BACKGROUND_PID STAGE_BACKGROUND_STARTED

stage_background() {
  local name=$1
  shift
  local log="$STAGE_LOG_DIR/${name// /-}.log"
  echo "test: == $name (background, nice 19; output in $log)"
  STAGE_BACKGROUND_STARTED[$name]=$(date +%s)
  set -m  # its own process group, so that an early end of the run can stop all of it
  (
    renice -n 19 -p "$BASHPID" >/dev/null
    status=0
    "$@" || status=$?
    date +%s >"$log.ended"  # its own end, not when the run came to wait for it
    exit "$status"
  ) >"$log" 2>&1 &
  STAGE_BACKGROUND_PID[$name]=$!
  set +m
}

stage_wait() {
  local name=$1 waited=$SECONDS status=0
  local log="$STAGE_LOG_DIR/${name// /-}.log"
  [[ -n "${STAGE_BACKGROUND_PID[$name]:-}" ]] || { stage_failed "$name" "never started"; return 1; }
  echo "test: == $name (waiting for the background stage)"
  wait "${STAGE_BACKGROUND_PID[$name]}" || status=$?
  unset "STAGE_BACKGROUND_PID[$name]"
  ((status == 0)) || tail -n 60 "$log" >&2
  local counts="background; the run waited $((SECONDS - waited)) s for it"
  if grep -qE 'tests? failed out of [0-9]+' "$log"; then  # it ran a ctest: count its tests
    stage_tests "$name" "$log"
    counts="$STAGE_COUNTS; $counts"
  fi
  local ended
  ended=$(cat "$log.ended" 2>/dev/null || date +%s)
  stage_record "$name" $((ended - STAGE_BACKGROUND_STARTED[$name])) "$status" "$counts"
  return "$status"
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
  stage_tests "$name" "$log"
  stage_record "$name" $((SECONDS - started)) "$status" "$STAGE_COUNTS"
  return "$status"
}

# stage_tests NAME LOG: the test counts and each test's time from ctest's output in LOG, into
# counts.tsv and tests.tsv; STAGE_COUNTS says them in words ("" when LOG has no ctest run).
stage_tests() {
  local name=$1 log=$2 passed failed total
  total=$(sed -nE 's/.* tests? failed out of ([0-9]+).*/\1/p' "$log" | tail -n 1)
  failed=$(sed -nE 's/.* ([0-9]+) tests? failed out of .*/\1/p' "$log" | tail -n 1)
  if [[ -n "$total" ]]; then
    passed=$((total - failed))
    STAGE_COUNTS="$total tests, $passed passed, $failed failed"
  else
    STAGE_COUNTS="no tests run"
    passed=0
    failed=0
  fi
  printf '%s\t%s\t%s\n' "$name" "$passed" "$failed" >>"$STAGE_LOG_DIR/counts.tsv"
  # "  3/295 Test  #12: EngineTest.RejectsOverdraft ......   Passed    0.12 sec"
  sed -nE 's/.*Test +#[0-9]+: ([^ ]+) .* ([0-9]+\.[0-9]+) sec$/\2\t\1/p' "$log" |
    awk -v stage="$name" -F'\t' '{ printf "%s\t%s\t%s\n", $1, stage, $2 }' \
      >>"$STAGE_LOG_DIR/tests.tsv"
}

stages_end() {
  local total=$((SECONDS - STAGE_STARTED)) name
  for name in "${!STAGE_BACKGROUND_PID[@]}"; do  # started, never waited for: the run ended early
    kill -- "-${STAGE_BACKGROUND_PID[$name]}" 2>/dev/null || true
    stage_failed "$name" "stopped unfinished: the run ended before it was needed"
  done
  echo
  echo "test: where the time went (wall seconds; logs in $STAGE_LOG_DIR)"
  awk -F'\t' '{ printf "test:   %-18s %6d s  %-6s  %s\n", $1, $2, $3, $4 }' \
    "$STAGE_LOG_DIR/stages.tsv"
  printf 'test:   %-18s %6d s\n' total "$total"
  if [[ -s "$STAGE_LOG_DIR/tests.tsv" ]]; then
    echo "test: the ten slowest tests"
    # awk, not head: head would leave sort writing into a closed pipe (SIGPIPE, which pipefail
    # turns into a failed run once the list outgrows the pipe's buffer).
    sort -t$'\t' -k1,1 -g -r "$STAGE_LOG_DIR/tests.tsv" |
      awk -F'\t' 'NR <= 10 { printf "test:   %8.2f s  %-18s %s\n", $1, $2, $3 }'
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
