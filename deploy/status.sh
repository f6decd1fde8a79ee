#!/usr/bin/env bash
# One line per process: pid, up since, last seq the sequencer delivered to it, lag. Exit 1 if anything is down.
#   deploy/status.sh [CLUSTER_TOML]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
config="${1:-$here/cluster.example.toml}"; shift || true
exec "${SEQTRADE:-seqtrade}" cluster status --config "$config" "$@"
