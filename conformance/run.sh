#!/bin/sh
# make conformance: runs the upstream conformance suite (build/conformance/e2e.test,
# built by `make conformance-build`) against vkube, then writes the report.
#
#   MODE=standalone     vkube alone with simulated nodes (the only mode today; a
#                       host mode is one more case in mode_start/mode_stop)
#   FOCUS=regex         specs to run (default '\[Conformance\]'); only specs with
#                       ginkgo's Conformance label ever run (label filters below)
#   SKIP=regex          specs not to run (default none)
#   CONTENT_TYPE=protobuf|json   what typed clients send (default protobuf, as sonobuoy)
#   PROCS=N             ginkgo processes for the parallel phase (default 2)
#   PHASES="serial parallel"     which phases run: [Serial] specs one at a time,
#                       the rest with `ginkgo -p`
#   TIMEOUT=24h         ginkgo --timeout of each phase
#   SIM_NODES=2         simulated nodes (standalone)
#   E2E_ARGS="..."      more e2e.test flags
#   VKUBE_ARGS="..."    more vkube server flags (e.g. "-v 4" logs every request)
#   RESULTS=dir         where results go (default build/conformance/results/<UTC stamp>)
#
# Results: $RESULTS/{catalog,serial,parallel}/junit_01.xml ({serial,parallel}/selected/
# from dry runs with each phase's filters), e2e-*.log, vkube.log,
# run.env (what ran, for the report). build/conformance/results/latest points to the
# last run that used the default RESULTS.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/build/conformance
MODE=${MODE:-standalone}
FOCUS=${FOCUS:-'\[Conformance\]'}
SKIP=${SKIP:-}
CONTENT_TYPE=${CONTENT_TYPE:-protobuf}
PROCS=${PROCS:-2}
PHASES=${PHASES:-serial parallel}
TIMEOUT=${TIMEOUT:-24h}
SIM_NODES=${SIM_NODES:-2}
E2E_ARGS=${E2E_ARGS:-}
VKUBE_ARGS=${VKUBE_ARGS:-}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
LATEST=""
[ -n "${RESULTS:-}" ] || LATEST=$BIN/results/latest
RESULTS=${RESULTS:-$BIN/results/$STAMP}

case $CONTENT_TYPE in
protobuf) ctype=application/vnd.kubernetes.protobuf ;;
json) ctype=application/json ;;
*) echo "run.sh: CONTENT_TYPE must be protobuf or json" >&2; exit 2 ;;
esac
for f in e2e.test ginkgo kubectl; do
	[ -x "$BIN/$f" ] || { echo "run.sh: $BIN/$f missing: run make conformance-build" >&2; exit 2; }
done
mkdir -p "$RESULTS"
RESULTS=$(cd "$RESULTS" && pwd)
[ -z "$LATEST" ] || ln -sfn "$RESULTS" "$LATEST"
# The same-version kubectl first on PATH: the kubectl tests shell out to it.
PATH=$BIN:$PATH
export PATH

VK_PID=""
DATA=""
KUBECONFIG=""
CHILD=""
# A phase runs in its own session (setsid), so its process group is every ginkgo and
# e2e.test process: all of them stop before the server does.
stop_child() {
	[ -n "$CHILD" ] || return 0
	kill -TERM "-$CHILD" 2>/dev/null || kill -TERM "$CHILD" 2>/dev/null || true
	for _ in $(seq 1 60); do # ginkgo writes its reports on the way out
		kill -0 "-$CHILD" 2>/dev/null || break
		sleep 0.5
	done
	kill -KILL "-$CHILD" 2>/dev/null || true
	CHILD=""
}
cleanup() {
	stop_child
	mode_stop || true
	[ -n "$DATA" ] && rm -rf "$DATA"
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- modes: each sets KUBECONFIG (and whatever it must stop) ----
mode_start() {
	case $MODE in
	standalone)
		[ -x "$ROOT/build/vkube" ] || { echo "run.sh: build/vkube missing: make build/vkube" >&2; exit 2; }
		DATA=$(mktemp -d /tmp/vkube-conformance.XXXXXX)
		# shellcheck disable=SC2086
		"$ROOT/build/vkube" server --data-dir "$DATA" --listen 127.0.0.1:0 \
			--sim-nodes "$SIM_NODES" $VKUBE_ARGS >"$RESULTS/vkube.out" 2>"$RESULTS/vkube.log" &
		VK_PID=$!
		url=""
		for _ in $(seq 1 400); do
			url=$(sed -n 's/^vkube .* is serving at \(https:[^ ]*\)$/\1/p' "$RESULTS/vkube.out")
			[ -n "$url" ] && break
			kill -0 "$VK_PID" 2>/dev/null || break
			sleep 0.05
		done
		[ -n "$url" ] || { echo "run.sh: vkube did not start; see $RESULTS/vkube.log" >&2; tail -20 "$RESULTS/vkube.log" >&2; exit 1; }
		KUBECONFIG=$DATA/kubeconfig
		echo "run.sh: vkube serving at $url (data $DATA, pid $VK_PID)"
		;;
	*)
		echo "run.sh: MODE=$MODE is not supported (only standalone today)" >&2
		exit 2
		;;
	esac
	export KUBECONFIG
}

mode_stop() {
	case $MODE in
	standalone)
		[ -n "$VK_PID" ] || return 0
		kill -TERM "$VK_PID" 2>/dev/null || true
		rc=0
		wait "$VK_PID" || rc=$?
		VK_PID=""
		echo "run.sh: vkube stopped (exit $rc)"
		;;
	esac
}

# The e2e flags every phase shares (the ginkgo ones differ per phase).
e2e_flags() {
	printf '%s\n' --provider=skeleton "--kubeconfig=$KUBECONFIG" "--kubectl-path=$BIN/kubectl" \
		"--kube-api-content-type=$ctype" --report-complete-ginkgo "--report-dir=$1"
}

mode_start
kubectl version >"$RESULTS/version.txt" 2>&1 || true
if [ "$SIM_NODES" -gt 0 ]; then
	kubectl wait --for=condition=Ready nodes --all --timeout=120s >/dev/null 2>&1 ||
		echo "run.sh: warning: nodes not all Ready after 120s" >&2
fi
kubectl get nodes -o wide >"$RESULTS/nodes.txt" 2>&1 || true

# The catalog: every [Conformance] spec this e2e.test has (a dry run), so the report
# can list the ones this run did not run.
"$BIN/e2e.test" --ginkgo.dry-run '--ginkgo.focus=\[Conformance\]' --ginkgo.no-color \
	$(e2e_flags "$RESULTS/catalog") >"$RESULTS/e2e-catalog.log" 2>&1 || true

{
	echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "commit=$(cd "$ROOT" && git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(cd "$ROOT" && test -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" && echo ' (uncommitted changes)' || true)"
	echo "suite=$(cat "$BIN/VERSION" 2>/dev/null || echo unknown)"
	echo "mode=$MODE"
	echo "content_type=$ctype"
	echo "focus=$FOCUS"
	echo "skip=$SKIP"
	echo "procs=$PROCS"
	echo "timeout=$TIMEOUT"
	echo "phases=$PHASES"
	echo "command=make conformance MODE=$MODE FOCUS='$FOCUS' SKIP='$SKIP' CONTENT_TYPE=$CONTENT_TYPE PROCS=$PROCS TIMEOUT=$TIMEOUT PHASES='$PHASES'${E2E_ARGS:+ E2E_ARGS='$E2E_ARGS'}"
} >"$RESULTS/run.env"

status=0
for phase in $PHASES; do
	mkdir -p "$RESULTS/$phase"
	t0=$(date +%s)
	case $phase in
	serial) labels='Conformance && Serial' ;;
	parallel) labels='Conformance && !Serial' ;;
	*) echo "run.sh: unknown phase $phase" >&2; exit 2 ;;
	esac
	# The specs this phase's filters select (a dry run with the same filters), so that
	# the report can tell the ones a timeout left out from the ones not selected.
	set -- "$BIN/e2e.test" --ginkgo.dry-run --ginkgo.no-color "--ginkgo.focus=$FOCUS" "--ginkgo.label-filter=$labels"
	[ -n "$SKIP" ] && set -- "$@" "--ginkgo.skip=$SKIP"
	# shellcheck disable=SC2046
	"$@" $(e2e_flags "$RESULTS/$phase/selected") >"$RESULTS/$phase/selected.log" 2>&1 || true
	case $phase in
	serial)
		# [Serial] specs, one at a time, straight through e2e.test.
		set -- "$BIN/e2e.test" "--ginkgo.focus=$FOCUS" "--ginkgo.label-filter=$labels" \
			"--ginkgo.timeout=$TIMEOUT" --ginkgo.no-color --ginkgo.v
		[ -n "$SKIP" ] && set -- "$@" "--ginkgo.skip=$SKIP"
		# shellcheck disable=SC2046,SC2086
		set -- "$@" $(e2e_flags "$RESULTS/$phase") $E2E_ARGS
		;;
	parallel)
		# Everything else, in PROCS ginkgo processes.
		set -- "$BIN/ginkgo" run -p "--procs=$PROCS" "--focus=$FOCUS" "--label-filter=$labels" \
			"--timeout=$TIMEOUT" --no-color -v
		[ -n "$SKIP" ] && set -- "$@" "--skip=$SKIP"
		# shellcheck disable=SC2046,SC2086
		set -- "$@" "$BIN/e2e.test" -- $(e2e_flags "$RESULTS/$phase") $E2E_ARGS
		;;
	esac
	echo "run.sh: $phase phase: $*" | tee "$RESULTS/e2e-$phase.cmd"
	setsid "$@" >"$RESULTS/e2e-$phase.log" 2>&1 &
	CHILD=$!
	rc=0
	wait "$CHILD" || rc=$?
	CHILD=""
	echo "run.sh: $phase phase ended (exit $rc) after $(( $(date +%s) - t0 ))s; log $RESULTS/e2e-$phase.log"
	echo "${phase}_seconds=$(( $(date +%s) - t0 ))" >>"$RESULTS/run.env"
	echo "${phase}_exit=$rc" >>"$RESULTS/run.env"
	[ "$rc" -eq 0 ] || status=1
done

mode_stop
echo "run.sh: results in $RESULTS"
exit $status
