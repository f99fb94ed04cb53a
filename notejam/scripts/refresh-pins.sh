#!/usr/bin/env bash
# Resolve the image's external pins and write them into notejam/Dockerfile:
#   - the digest of python:3.11-slim's multi-platform index (both FROM lines);
#   - the sha256 of the RDS global CA bundle (the ADD --checksum line).
# Run it where Docker Hub and AWS can be reached, with docker (buildx), curl, openssl, sha256sum;
# review the diff (the bundle's certificates are listed) and commit it with a note of the date.
#
#   notejam/scripts/refresh-pins.sh                      resolve both, rewrite the Dockerfile
#   notejam/scripts/refresh-pins.sh --check              resolve both, exit 1 if the Dockerfile differs
#   notejam/scripts/refresh-pins.sh --digest sha256:… --checksum sha256:…   write given values
#
# Options: --dockerfile PATH (default: the Dockerfile beside this folder), --image REF
# (default python:3.11-slim), --bundle-url URL.
set -euo pipefail

dockerfile="$(cd "$(dirname "$0")/.." && pwd)/Dockerfile"
image=python:3.11-slim
bundle_url=https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem
digest="" checksum="" check=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dockerfile) dockerfile=$2; shift 2 ;;
    --image) image=$2; shift 2 ;;
    --bundle-url) bundle_url=$2; shift 2 ;;
    --digest) digest=$2; shift 2 ;;
    --checksum) checksum=$2; shift 2 ;;
    --check) check=1; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "refresh-pins: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
die() { echo "refresh-pins: $*" >&2; exit 1; }
[ -f "$dockerfile" ] || die "no Dockerfile at $dockerfile"

if [ -z "$digest" ]; then
  command -v docker >/dev/null || die "docker is needed to resolve $image (or pass --digest)"
  # The descriptor the tag points at: it must be an index (every platform), not one platform's image.
  descriptor=$(docker buildx imagetools inspect "$image" --format '{{json .Manifest}}') \
    || die "cannot inspect $image (network to the registry?)"
  digest=$(python3 - "$descriptor" "$image" <<'PY'
import json
import sys

descriptor, image = json.loads(sys.argv[1]), sys.argv[2]
index = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")
kind = descriptor.get("mediaType")
if kind not in index:
    sys.exit(f"refresh-pins: {image} is a {kind}, not a multi-platform index")
platforms = {
    "{os}/{architecture}".format(**m["platform"]) for m in descriptor.get("manifests", []) if "platform" in m
}
missing = sorted({"linux/amd64", "linux/arm64"} - platforms)
if missing:
    sys.exit(f"refresh-pins: {image} lacks {missing}")
print(descriptor["digest"])
PY
)
  echo "refresh-pins: $image -> $digest"
fi

if [ -z "$checksum" ]; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  curl --proto '=https' --tlsv1.2 -fsSL --max-time 60 -o "$tmp/bundle.pem" "$bundle_url" \
    || die "cannot download $bundle_url"
  certs=$(grep -c 'BEGIN CERTIFICATE' "$tmp/bundle.pem" || true)
  [ "$certs" -gt 0 ] || die "$bundle_url holds no certificate"
  ! grep -q 'PRIVATE KEY' "$tmp/bundle.pem" || die "$bundle_url holds a private key"
  # Every certificate must parse and name Amazon RDS; list them for the reviewer.
  awk -v dir="$tmp" '/BEGIN CERTIFICATE/ {n++} n {print > (dir "/cert-" n ".pem")}' "$tmp/bundle.pem"
  for cert in "$tmp"/cert-*.pem; do
    subject=$(openssl x509 -noout -subject -enddate -in "$cert" | tr '\n' ' ') || die "$cert does not parse"
    case "$subject" in *"Amazon RDS"*) ;; *) die "not an Amazon RDS certificate: $subject" ;; esac
    echo "  $subject"
  done
  checksum="sha256:$(sha256sum "$tmp/bundle.pem" | cut -d' ' -f1)"
  echo "refresh-pins: $bundle_url -> $checksum ($certs certificates, $(wc -c < "$tmp/bundle.pem") bytes)"
fi

[[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || die "not a sha256 digest: $digest"
[[ "$checksum" =~ ^sha256:[0-9a-f]{64}$ ]] || die "not a sha256 checksum: $checksum"
repo=${image%%[:@]*}
grep -Eq "^FROM ${repo}:[^@ ]+@sha256:[0-9a-f]{64}( |$)" "$dockerfile" || die "no FROM ${repo}:…@sha256:… line in $dockerfile"
grep -Eq -- "--checksum=sha256:[0-9a-f]{64}" "$dockerfile" || die "no ADD --checksum=sha256:… in $dockerfile"

new=$(mktemp); trap 'rm -f "$new"; rm -rf "${tmp:-}"' EXIT
sed -E -e "s#^(FROM ${repo}:[^@ ]+)@sha256:[0-9a-f]{64}#\\1@${digest}#" \
       -e "s#--checksum=sha256:[0-9a-f]{64}#--checksum=${checksum}#" "$dockerfile" > "$new"
if cmp -s "$dockerfile" "$new"; then
  echo "refresh-pins: $dockerfile already carries these pins"
  exit 0
fi
if [ "$check" = 1 ]; then
  diff -u "$dockerfile" "$new" || true
  die "$dockerfile is behind (run without --check to update it)"
fi
cat "$new" > "$dockerfile"
echo "refresh-pins: updated $dockerfile; review \`git diff\`, build, test, then commit"
