#!/usr/bin/env bash
# Runs the README's recognition example ($1) on two sample photos and a
# file that is no image, and checks what it prints.
set -euo pipefail
output=$("$1" data/digits/0007_7.png data/digits/0022_2.png data/digits/labels.csv 2>&1)
echo "$output"
grep -q '^data/digits/0007_7.png is a 7 (' <<<"$output"
grep -q '^data/digits/0022_2.png is a 2 (' <<<"$output"
grep -q "'data/digits/labels.csv': not a PNG, JPEG or PGM/PPM image" <<<"$output"
echo PASS
