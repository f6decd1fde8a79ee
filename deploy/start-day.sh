#!/usr/bin/env bash
# Start this host's seqtrade processes for the day, in dependency order, waiting for each to be healthy.
#   deploy/start-day.sh [CLUSTER_TOML] [--host NAME]
# The reference data and risk limits are published once the apps are up. Pid files and process output: run_dir.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
config="${1:-$here/cluster.example.toml}"; shift || true
exec "${SEQTRADE:-seqtrade}" cluster start --config "$config" "$@"
