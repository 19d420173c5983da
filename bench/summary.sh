# Sourced by the bench scripts. summary FILE COLUMN LABEL prints the
# median [min-max] of a column of ratios, one round per line of FILE.
summary() {
  sort -g -k"$2" "$1" | awk -v c="$2" -v l="$3" '{ v[NR] = $c } END {
    printf "%s: %.2fx [%.2f-%.2f]\n", l, (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[1], v[NR] }'
}
