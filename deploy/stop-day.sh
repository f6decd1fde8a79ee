#!/usr/bin/env bash
# Stop this host's seqtrade processes: clients and gateways first, the sequencer last (its log flushed and closed).
#   deploy/stop-day.sh [CLUSTER_TOML] [--host NAME]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
config="${1:-$here/cluster.example.toml}"; shift || true
exec "${SEQTRADE:-seqtrade}" cluster stop --config "$config" "$@"
