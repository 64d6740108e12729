#!/usr/bin/env bash
# Builds the same generated TechDocs site with Portal's builder and, when Debian's mkdocs is
# installed, with `mkdocs build` (techdocs-core-like theme and extensions), and prints wall and CPU
# time for both. Usage: bench/techdocs/run.sh [pages=1000] [runs=3]
set -euo pipefail
cd "$(dirname "$0")/../.."
pages=${1:-1000}
runs=${2:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go build -o "$work/techdocs-bench" ./bench/techdocs
"$work/techdocs-bench" gen -out "$work/site" -pages "$pages"

# bash's `time` reports the command's own wall, user and system time, children included, so both
# builders are measured the same way.
TIMEFORMAT='%R %U %S'
measure() { # name, command...
	local name=$1
	shift
	local best_wall="" best_cpu="" out
	for i in $(seq "$runs"); do
		out=$({ time "$@" >"$work/$name.log" 2>&1; } 2>&1)
		read -r wall user sys <<<"$out"
		cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.3f", u + s }')
		echo "  $name run $i: wall ${wall} s, CPU ${cpu} s (user ${user}, sys ${sys})"
		if [[ -z $best_wall ]] || awk -v a="$wall" -v b="$best_wall" 'BEGIN { exit !(a < b) }'; then
			best_wall=$wall best_cpu=$cpu
		fi
	done
	eval "${name}_wall=$best_wall ${name}_cpu=$best_cpu"
}

echo "Portal (best of $runs):"
measure portal "$work/techdocs-bench" build -src "$work/site" -out "$work/portal-out"
cat "$work/portal.log"

if command -v mkdocs >/dev/null 2>&1; then
	echo "mkdocs $(mkdocs --version | awk '{print $3}') (best of $runs):"
	measure mkdocs mkdocs build -q -f "$work/site/mkdocs.yml" -d "$work/mkdocs-out"
	echo
	awk -v pw="$portal_wall" -v pc="$portal_cpu" -v mw="$mkdocs_wall" -v mc="$mkdocs_cpu" 'BEGIN {
		printf "%-8s %10s %10s\n", "", "wall (s)", "CPU (s)"
		printf "%-8s %10.3f %10.3f\n", "portal", pw, pc
		printf "%-8s %10.3f %10.3f\n", "mkdocs", mw, mc
		printf "ratio    %9.1fx %9.1fx   (budget: wall at least 20x)\n", mw / pw, mc / pc
	}'
	printf 'output size: portal %s, mkdocs %s\n' "$(du -sh "$work/portal-out" | cut -f1)" "$(du -sh "$work/mkdocs-out" | cut -f1)"
else
	echo
	echo "mkdocs is not installed (apt-get install -y mkdocs mkdocs-material python3-pymdownx); skipping it."
	printf 'portal: wall %s s, CPU %s s\n' "$portal_wall" "$portal_cpu"
fi
