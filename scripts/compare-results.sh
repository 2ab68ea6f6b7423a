#!/usr/bin/env bash
# Shows that a change to edgesim leaves its results unchanged: runs the regression set
# (scripts/regression-runs.sh, at reduced scale) with the edgesim of two commits and compares
# /rounds, /tasks, /width_eval and every other table byte for byte, wall-clock columns aside
# (scripts/compare_results.py).
#
#   scripts/compare-results.sh BASE_COMMIT NEW_COMMIT [--out DIR] [--np N] [--base-results DIR_B]
#   scripts/compare-results.sh --compare-only DIR           compare DIR/base with DIR/new
#   scripts/compare-results.sh --compare-only DIR_A DIR_B   compare two result dirs
#
# Each commit is checked out with `git worktree add --detach` into a temp dir (removed on exit)
# and its edgesim target built there, unless EDGESIM_BIN_BASE / EDGESIM_BIN_NEW name a
# prebuilt binary. Both sides run the run list of THIS copy of regression-runs.sh, with the
# configs of their own checkout (a config that differs between the commits is reported).
# Results go to DIR/base and DIR/new (default DIR: results/regress). --base-results DIR_B:
# use existing base results (made at BASE_COMMIT, see DIR_B/SOURCE) instead of running them.
# Exit 0 only if every run succeeded and every file matches.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
compare() { /usr/bin/python3 "$here/compare_results.py" "$1" "$2"; }
usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

if [[ ${1:-} == --compare-only ]]; then
  case $# in
    2) compare "$2/base" "$2/new" ;;
    3) compare "$2" "$3" ;;
    *) usage ;;
  esac
  exit
fi
[[ $# -ge 2 ]] || usage
base_commit=$1 new_commit=$2 out=results/regress np=3 base_results=
shift 2
while [[ $# -gt 0 ]]; do
  case $1 in
    --out) out=$2; shift ;;
    --np) np=$2; shift ;;
    --base-results) base_results=$(realpath "$2"); shift ;;
    *) usage ;;
  esac
  shift
done
repo=$(git -C "$here" rev-parse --show-toplevel)
base_sha=$(git -C "$repo" rev-parse --verify "$base_commit^{commit}")
new_sha=$(git -C "$repo" rev-parse --verify "$new_commit^{commit}")
mkdir -p "$out"
out=$(realpath "$out")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/edgesim-compare.XXXXXX")
cleanup() {
  for wt in "$tmp"/base "$tmp"/new; do
    [[ -d $wt ]] && git -C "$repo" worktree remove --force "$wt"
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "base $base_sha, new $new_sha"
echo "regression set: $here/regression-runs.sh ($(git -C "$repo" rev-parse --short HEAD) working tree)"
changed=$(git -C "$repo" diff --stat "$base_sha" "$new_sha" -- experiments)
if [[ -n $changed ]]; then echo "NOTE: configs differ between the commits:"; echo "$changed"; fi

status=0
# side NAME SHA PREBUILT_BIN: check out, build unless prebuilt, run the set into $out/NAME.
side() {
  local name=$1 sha=$2 bin=$3 wt=$tmp/$1
  git -C "$repo" worktree add --quiet --detach "$wt" "$sha"
  if [[ -z $bin ]]; then
    echo "building $name ($sha) in $wt"
    (cd "$wt" && export CCACHE_BASEDIR=$tmp &&
      nice -n 5 cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >"$out/$name-build.log" &&
      nice -n 5 cmake --build build -j2 --target edgesim >>"$out/$name-build.log" 2>&1) ||
      { tail -20 "$out/$name-build.log" >&2; echo "build of $name failed" >&2; exit 1; }
    bin=$wt/build/edgesim
  fi
  echo "running the regression set with $name: $bin"
  REGRESS_NP=$np "$here/regression-runs.sh" "$bin" "$out/$name" "$wt" || { status=1; echo "some $name runs failed (see $out/$name/*.log)" >&2; }
}

if [[ -n $base_results ]]; then
  made_at=$(sed -n 's/^commit //p' "$base_results/SOURCE" 2>/dev/null || true)
  [[ $made_at == "$base_sha" ]] || { echo "$base_results was made at '${made_at:-unknown}', not $base_sha" >&2; exit 2; }
  base_dir=$base_results
  echo "base results: $base_dir (made at $made_at)"
else
  side base "$base_sha" "${EDGESIM_BIN_BASE:-}"
  base_dir=$out/base
fi
side new "$new_sha" "${EDGESIM_BIN_NEW:-}"

compare "$base_dir" "$out/new" || status=1
echo "wall time per run, base vs new:"
join -t $'\t' <(sort "$base_dir/times.tsv") <(sort "$out/new/times.tsv") | sort -k1,1 | column -t
exit $status
