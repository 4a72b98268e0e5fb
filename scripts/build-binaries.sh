#!/usr/bin/env bash
# Builds the real Kubernetes control plane the test suite runs against, from Go modules only:
#   kube-apiserver, kube-scheduler, kube-controller-manager  (k8s.io/kubernetes, scripts/kube-build/kubernetes)
#   helm                                                     (helm.sh/helm/v3,   scripts/kube-build/helm)
#   etcd                                                     (go.etcd.io/etcd,   scripts/kube-build/etcd)
#
# The binaries go to a cache folder outside the checkout, keyed by the pinned versions and a hash of
# the three go.mod/go.sum pairs:  ${CLUSTERDOC_BIN_CACHE:-$HOME/.cache/clusterdoc/bin}/<key>/
# A folder is used only when its marker file (.complete, written after every build succeeded) is
# there; otherwise everything is built again into a temporary folder that is renamed at the end.
#
# Usage:  bash scripts/build-binaries.sh              build or reuse; prints the folder last
#         bash scripts/build-binaries.sh --print-dir  print the folder for the current pins, build nothing
#         bash scripts/build-binaries.sh --check      exit 0 when that folder is complete, 1 otherwise
#
# Needs: go (1.26 or newer; the modules say `go 1.26.0`), bash, coreutils, flock, sha256sum.
# Builds run one after the other with GOFLAGS=-p=2 (CI machines have 2 cores).
set -euo pipefail

# Bump when the way the binaries are built changes (flags, ldflags), so old caches are not reused.
RECIPE=1

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mods="$here/kube-build"
cache_root="${CLUSTERDOC_BIN_CACHE:-$HOME/.cache/clusterdoc/bin}"

# The version a go.mod requires of a module, read from the file itself (no go command needed).
required_version() {
    local gomod="$1" module="$2"
    awk -v m="$module" '$1 == m && $2 ~ /^v/ { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$gomod"
}

k8s_version="$(required_version "$mods/kubernetes/go.mod" k8s.io/kubernetes)"
helm_version="$(required_version "$mods/helm/go.mod" helm.sh/helm/v3)"
etcd_version="$(required_version "$mods/etcd/go.mod" go.etcd.io/etcd/server/v3)"
for v in k8s_version helm_version etcd_version; do
    if [[ -z "${!v}" ]]; then
        echo "build-binaries: could not read $v from $mods/*/go.mod" >&2
        exit 2
    fi
done
pins_hash="$(
    { echo "recipe $RECIPE"; cat "$mods"/kubernetes/go.{mod,sum} "$mods"/helm/go.{mod,sum} "$mods"/etcd/go.{mod,sum}; } \
        | sha256sum | cut -c1-12
)"
key="k8s-${k8s_version}_etcd-${etcd_version}_helm-${helm_version}_${pins_hash}"
out="$cache_root/$key"
marker="$out/.complete"
binaries=(etcd kube-apiserver kube-controller-manager kube-scheduler helm)

case "${1:-}" in
    --print-dir) echo "$out"; exit 0 ;;
    --check) [[ -f "$marker" ]] && exit 0 || exit 1 ;;
    "") ;;
    *) echo "usage: $0 [--print-dir|--check]" >&2; exit 2 ;;
esac

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

started="$(now)"
mkdir -p "$cache_root"
# One build at a time per cache (several checkouts on one machine share it).
exec 9>"$cache_root/.lock"
flock 9

if [[ -f "$marker" ]]; then
    for b in "${binaries[@]}"; do
        if [[ ! -x "$out/$b" ]]; then
            echo "build-binaries: $out/.complete exists but $b is missing; rebuilding" >&2
            rm -f "$marker"
            break
        fi
    done
fi
if [[ -f "$marker" ]]; then
    echo "build-binaries: cached: $key (checked in $(elapsed "$started") s)"
    echo "$out"
    exit 0
fi

if ! command -v go >/dev/null; then
    echo "build-binaries: the go command is needed (Go 1.26 or newer) to build $key" >&2
    exit 2
fi

export GOFLAGS="${GOFLAGS:+$GOFLAGS }-p=2"
export CGO_ENABLED=0
work="$(mktemp -d "$cache_root/.partial-$key.XXXXXX")"
trap 'rm -rf "$work"' EXIT
timings=()

echo "build-binaries: building $key with $(go env GOVERSION) (GOFLAGS=$GOFLAGS) into $out"

# go build one main package of one of our modules; $3 is extra -ldflags.
build() {
    local module_dir="$1" package="$2" name="$3" ldflags="$4"
    local t0
    t0="$(now)"
    echo "build-binaries: go build $package -> $name"
    (cd "$module_dir" && go build -trimpath -ldflags "-s -w $ldflags" -o "$work/$name" "$package")
    timings+=("$name $(elapsed "$t0") s")
    echo "build-binaries: $name built in $(elapsed "$t0") s"
}

# The version stamps k8s.io/kubernetes' own build (hack/lib/version.sh) sets, so `--version` and the
# API server's /version report the release (e.g. v1.37.2) instead of v0.0.0-master.
k8s_build_date="$(cd "$mods/kubernetes" && go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes)"
k8s_minor="${k8s_version#v1.}"
k8s_minor="${k8s_minor%%.*}"
k8s_ldflags=""
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    k8s_ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor"
    k8s_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$k8s_build_date"
done

build "$mods/etcd" go.etcd.io/etcd/server/v3 etcd ""
for cmd in kube-apiserver kube-controller-manager kube-scheduler; do
    build "$mods/kubernetes" "k8s.io/kubernetes/cmd/$cmd" "$cmd" "$k8s_ldflags"
done
build "$mods/helm" helm.sh/helm/v3/cmd/helm helm \
    "-X helm.sh/helm/v3/internal/version.version=$helm_version -X helm.sh/helm/v3/internal/version.gitTreeState=clean"

# Each binary must run and say the pinned version before the folder counts as complete.
"$work/kube-apiserver" --version | grep -qx "Kubernetes $k8s_version" \
    || { echo "build-binaries: kube-apiserver --version is not Kubernetes $k8s_version" >&2; exit 1; }
"$work/etcd" --version | grep -q "etcd Version: ${etcd_version#v}" \
    || { echo "build-binaries: etcd --version does not say ${etcd_version#v}" >&2; exit 1; }
"$work/helm" version --short | grep -q "^$helm_version" \
    || { echo "build-binaries: helm version does not say $helm_version" >&2; exit 1; }

{
    echo "key=$key"
    echo "kubernetes=$k8s_version"
    echo "etcd=$etcd_version"
    echo "helm=$helm_version"
    echo "go=$(go env GOVERSION)"
    echo "built_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "total_seconds=$(elapsed "$started")"
    for t in "${timings[@]}"; do echo "seconds $t"; done
} >"$work/.complete.tmp"
rm -rf "$out"
mv "$work" "$out"
trap - EXIT
mv "$out/.complete.tmp" "$marker"
chmod 755 "$out"

echo "build-binaries: first build of $key took $(elapsed "$started") s (${timings[*]})"
echo "$out"
