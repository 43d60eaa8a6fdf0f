#!/bin/sh
# Fails when any throwaway cgroup (a child of a `faultline` parent) is left in any hierarchy.
left=$(find /sys/fs/cgroup -mindepth 2 -maxdepth 4 -type d -path '*/faultline/*' 2>/dev/null)
if [ -n "$left" ]; then
  echo "throwaway cgroups left behind:"
  echo "$left"
  exit 1
fi
echo "no throwaway cgroups left"
